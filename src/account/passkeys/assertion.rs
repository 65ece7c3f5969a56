//! A passkey assertion, decoded and checked against the stored passkey and the challenge as
//! issued, and what a ceremony writes when one is refused or loses its race.

use serde_json::{json, Value};

use super::{malformed, user_handle, Error, RelyingParty};
use crate::account::attempts::Attempt;
use crate::app::Cx;
use crate::domain::webauthn::{self, json::AuthenticationResponse, Rejection};
use crate::storage::events::EventType;
use crate::storage::passkeys::{IssuedChallenge, PasskeyRow, PasskeyUse, Purpose, Recorded, Spend};
use crate::storage::Store;

/// An assertion's parts, decoded (no check made yet).
pub(super) struct DecodedAssertion {
    pub credential_id: String,
    client_data: webauthn::ClientData,
    client_data_json: Vec<u8>,
    authenticator_data: Vec<u8>,
    signature: Vec<u8>,
    pub user_handle: Option<Vec<u8>>,
    /// The challenge the client says it answered, normalised (the KV key).
    pub challenge: String,
}

impl DecodedAssertion {
    pub fn decode(response: &AuthenticationResponse) -> Result<Self, Error> {
        let credential_id =
            webauthn::credential_id(&response.kind, &response.id, response.raw_id.as_deref()).map_err(malformed)?;
        let r = &response.response;
        let client_data_json = webauthn::decode("client_data", &r.client_data_json).map_err(malformed)?;
        let client_data = webauthn::ClientData::parse(&client_data_json).map_err(malformed)?;
        let challenge = webauthn::encode(&webauthn::decode("challenge", &client_data.challenge).map_err(malformed)?);
        let user_handle = match r.user_handle.as_deref() {
            None | Some("") => None,
            Some(handle) => Some(webauthn::decode("user_handle", handle).map_err(malformed)?),
        };
        Ok(Self {
            credential_id,
            client_data,
            client_data_json,
            authenticator_data: webauthn::decode("authenticator_data", &r.authenticator_data).map_err(malformed)?,
            signature: webauthn::decode("signature", &r.signature).map_err(malformed)?,
            user_handle,
            challenge,
        })
    }

    /// Every check of WebAuthn §7.2 against the stored passkey and the challenge as issued.
    pub fn verify(
        &self,
        rp: &RelyingParty,
        issued: Option<&IssuedChallenge>,
        ceremony: (Purpose, &str),
        passkey: &PasskeyRow,
    ) -> Result<webauthn::Asserted, Rejection> {
        let (purpose, bound_to) = ceremony;
        match issued {
            Some(i) if i.purpose == purpose && i.bound_to == bound_to => {}
            _ => return Err(Rejection::WrongChallenge),
        }
        if issued.is_some_and(|i| !i.user_id.is_empty() && i.user_id != passkey.user_id) {
            return Err(Rejection::WrongUser);
        }
        let cose = webauthn::decode("public_key", &passkey.public_key).ok().ok_or(Rejection::UnsupportedKey)?;
        let key = webauthn::PublicKey { algorithm: passkey.algorithm, cose };
        let assertion = webauthn::Assertion {
            client_data: &self.client_data,
            client_data_json: &self.client_data_json,
            authenticator_data: &self.authenticator_data,
            signature: &self.signature,
            user_handle: self.user_handle.as_deref(),
        };
        let expected = webauthn::Expected { challenge: &self.challenge, origin: &rp.origin, rp_id: &rp.rp_id };
        let (handle, backup_eligible) = (user_handle(&passkey.user_id), passkey.backup_eligible != 0);
        webauthn::verify_assertion(&assertion, &expected, &key, passkey.sign_count, &handle, backup_eligible)
    }

    pub fn spend<'a>(&'a self, by: &'a str) -> Spend<'a> {
        Spend { challenge: &self.challenge, by }
    }
}

/// What a verified assertion changes on its passkey.
pub(super) fn passkey_use<'a, S>(cx: &Cx<S>, passkey: &'a PasskeyRow, asserted: &webauthn::Asserted) -> PasskeyUse<'a> {
    PasskeyUse {
        user_id: &passkey.user_id,
        credential_id: &passkey.credential_id,
        stored_count: passkey.sign_count,
        sign_count: asserted.sign_count,
        backed_up: asserted.backed_up,
        now: cx.now(),
    }
}

/// A clone warning, when the refusal was a sign counter that went back.
pub(super) async fn warn_of_clone<S: Store>(
    cx: &Cx<S>,
    user_id: &str,
    action: &str,
    rejection: Rejection,
) -> Result<(), Error> {
    if rejection != Rejection::CounterWentBack || user_id.is_empty() {
        return Ok(());
    }
    let warning = cx.event(user_id, EventType::PasskeyCloneWarning, json!({ "action": action }));
    Ok(cx.store.record_event(&warning).await?)
}

pub(super) fn refusal_detail(action: &str, rejection: Rejection) -> Value {
    json!({ "factor": "passkey", "action": action, "reason": rejection.reason() })
}

/// A verified assertion that lost its race at the write (another use of the passkey, or a
/// password change, came first): not the person's failure. The attempt goes back, the event says
/// what happened, and the person is asked to try again.
pub(super) async fn lost_race<S: Store>(
    cx: &Cx<S>,
    attempt: Attempt,
    user_id: &str,
    action: &str,
    recorded: Recorded,
) -> Error {
    let reason = match recorded {
        Recorded::Stale => "signed_out_meanwhile",
        _ => "passkey_used_meanwhile",
    };
    let detail = json!({ "factor": "passkey", "action": action, "reason": reason });
    if let Err(error) = cx.store.record_event(&cx.event(user_id, EventType::SignInFailed, detail)).await {
        return error.into();
    }
    if let Err(error) = attempt.refund(cx).await {
        return error.into();
    }
    match recorded {
        Recorded::Stale => crate::account::attempts::Refused::SignedOut.into(),
        _ => Error::Rejected,
    }
}
