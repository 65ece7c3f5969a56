//! Passkeys (SPEC §5.11): adding, naming and removing them (here), and the three ceremonies that
//! use one (`ceremonies`) — a sign-in (both factors at once), the second step after a password,
//! and "Confirm it's you". Every ceremony answers a single-use challenge the worker issued for it
//! (KV, 5 minutes, bound to the session or pending sign-in) and spends it in D1 in its first
//! transaction. Every assertion is an attempt of the authentication core: counted before it is
//! checked.

mod assertion;
mod ceremonies;

pub use ceremonies::{confirm, confirm_options, second_step, second_step_options, sign_in, sign_in_options};

use futures_util::future::join;
use serde::Serialize;
use serde_json::json;

use super::attempts::Refused;
use super::error::{unexpected_from_storage, Unexpected};
use super::keys;
use crate::app::Cx;
use crate::auth::session::CurrentSession;
use crate::domain::webauthn::{self, json::RegistrationResponse, Gesture, Rejection};
use crate::storage::events::EventType;
use crate::storage::passkeys::{Adding, IssuedChallenge, NewPasskey, PasskeyRow, Purpose, Spend, MAX_PER_USER};
use crate::storage::{Outcome, Store};

/// How long the browser may take for a ceremony, and how long its challenge lives.
const CEREMONY_SECONDS: u64 = 300;

/// What passkey use cases may refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The response proves nothing (a wrong or spent challenge, another origin, a bad signature…):
    /// counted like a wrong code where it is an attempt.
    #[error("the passkey could not be verified")]
    Rejected,
    /// The response is not a WebAuthn response at all.
    #[error("the passkey response is not valid ({0})")]
    Malformed(&'static str),
    /// A sign-in with a credential no account has (removed, or never registered here): refused
    /// and counted as [`Error::Rejected`] is, and said, so the browser can stop offering it.
    #[error("no account has this passkey")]
    Unknown,
    #[error("{0}")]
    InvalidName(&'static str),
    #[error("the passkey is registered already")]
    Exists,
    #[error("the account has {MAX_PER_USER} passkeys")]
    TooMany,
    #[error("the account has no passkey")]
    NoPasskey,
    #[error("no such passkey")]
    NotFound,
    /// The password reset a second step completed was used or expired meanwhile.
    #[error("the reset link was used or expired")]
    ResetLinkUsed,
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Keys(#[from] keys::Error),
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}
unexpected_from_storage!(Error);

/// A malformed response is a broken request; any other rejection is a failed proof.
fn malformed(rejection: Rejection) -> Error {
    Error::Malformed(rejection.reason())
}

/// Who we are to the authenticator: the request's own origin and host.
pub struct RelyingParty {
    pub origin: String,
    pub rp_id: String,
}

/// `PublicKeyCredentialCreationOptionsJSON`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    challenge: String,
    rp: RpEntity,
    user: UserEntity,
    pub_key_cred_params: Vec<CredentialParameter>,
    timeout: u64,
    exclude_credentials: Vec<CredentialDescriptor>,
    authenticator_selection: AuthenticatorSelection,
    attestation: &'static str,
}

#[derive(Serialize)]
struct RpEntity {
    id: String,
    name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserEntity {
    id: String,
    name: String,
    display_name: String,
}

#[derive(Serialize)]
struct CredentialParameter {
    #[serde(rename = "type")]
    kind: &'static str,
    alg: i64,
}

#[derive(Serialize)]
struct CredentialDescriptor {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    transports: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticatorSelection {
    resident_key: &'static str,
    require_resident_key: bool,
    user_verification: &'static str,
}

/// `PublicKeyCredentialRequestOptionsJSON`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptions {
    challenge: String,
    rp_id: String,
    timeout: u64,
    user_verification: &'static str,
    allow_credentials: Vec<CredentialDescriptor>,
}

/// A passkey as the Security page lists it.
#[derive(Serialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
    /// Backup eligible and backed up: the passkey syncs between the user's devices.
    pub synced: bool,
    pub backup_eligible: bool,
    /// The authenticator's name, when its AAGUID is a known one.
    pub authenticator: Option<&'static str>,
}

impl From<&PasskeyRow> for PasskeyView {
    fn from(row: &PasskeyRow) -> Self {
        let aaguid: Option<[u8; 16]> = hex_bytes(&row.aaguid);
        Self {
            id: row.credential_id.clone(),
            name: row.name.clone(),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            synced: row.backup_eligible != 0 && row.backed_up != 0,
            backup_eligible: row.backup_eligible != 0,
            authenticator: aaguid.as_ref().and_then(webauthn::authenticator_name),
        }
    }
}

fn hex_bytes(hex: &str) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    if hex.len() != 32 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The WebAuthn user handle of an account: its id's bytes (random, no personal data).
fn user_handle(user_id: &str) -> Vec<u8> {
    user_id.as_bytes().to_vec()
}

fn descriptors(rows: &[PasskeyRow]) -> Vec<CredentialDescriptor> {
    rows.iter()
        .map(|row| CredentialDescriptor {
            kind: "public-key",
            id: row.credential_id.clone(),
            transports: serde_json::from_str(&row.transports).unwrap_or_default(),
        })
        .collect()
}

/// A new random challenge, kept in KV for `purpose`, bound to `bound_to` of `user_id`.
async fn issue_challenge<S: Store>(
    cx: &Cx<S>,
    purpose: Purpose,
    bound_to: &str,
    user_id: &str,
) -> Result<String, Unexpected> {
    let challenge = super::error::new_token("a challenge")?;
    let issued = IssuedChallenge { purpose, bound_to: bound_to.into(), user_id: user_id.into() };
    cx.store.put_challenge(&challenge, &issued, CEREMONY_SECONDS).await?;
    Ok(challenge)
}

fn request_options(challenge: String, rp: &RelyingParty, allowed: &[PasskeyRow]) -> RequestOptions {
    RequestOptions {
        challenge,
        rp_id: rp.rp_id.clone(),
        timeout: CEREMONY_SECONDS * 1000,
        user_verification: "required",
        allow_credentials: descriptors(allowed),
    }
}

fn forget_challenge_later<S: Store>(cx: &Cx<S>, challenge: &str) {
    let (store, challenge) = (cx.store.clone(), challenge.to_string());
    cx.effects.later("forgetting a spent challenge", async move { store.forget_challenge(&challenge).await });
}

/// `GET /api/security/passkeys`.
pub async fn list<S: Store>(cx: &Cx<S>, current: &CurrentSession) -> Result<Vec<PasskeyView>, Error> {
    let rows = cx.store.passkeys(&current.user.id, true).await?;
    Ok(rows.iter().map(PasskeyView::from).collect())
}

/// `POST /api/security/passkeys/options` (sudo): what the browser needs to create a passkey.
/// `automatic`: for a conditional create, which the password manager makes without asking
/// (user verification preferred, not required).
pub async fn registration_options<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    rp: &RelyingParty,
    automatic: bool,
) -> Result<CreationOptions, Error> {
    let user = &current.user;
    let purpose = if automatic { Purpose::AutoRegister } else { Purpose::Register };
    let issue = issue_challenge(cx, purpose, &current.id, &user.id);
    let (existing, challenge) = join(cx.store.passkeys(&user.id, false), issue).await;
    let existing = existing?;
    if existing.len() as u64 >= MAX_PER_USER {
        return Err(Error::TooMany);
    }
    Ok(CreationOptions {
        challenge: challenge?,
        rp: RpEntity { id: rp.rp_id.clone(), name: "WEMASY" },
        user: UserEntity {
            id: webauthn::encode(&user_handle(&user.id)),
            name: user.email.clone(),
            display_name: user.name.clone(),
        },
        pub_key_cred_params: webauthn::ALGORITHMS
            .iter()
            .map(|&alg| CredentialParameter { kind: "public-key", alg })
            .collect(),
        timeout: CEREMONY_SECONDS * 1000,
        exclude_credentials: descriptors(&existing),
        authenticator_selection: AuthenticatorSelection {
            resident_key: "required",
            require_resident_key: true,
            user_verification: if automatic { "preferred" } else { "required" },
        },
        attestation: "none",
    })
}

/// A registration response's parts, decoded (no check made yet).
struct DecodedRegistration {
    id: String,
    client_data: webauthn::ClientData,
    attestation: Vec<u8>,
    /// The challenge the client says it answered, normalised (the KV key).
    challenge: String,
}

impl DecodedRegistration {
    fn decode(response: &RegistrationResponse) -> Result<Self, Error> {
        let id =
            webauthn::credential_id(&response.kind, &response.id, response.raw_id.as_deref()).map_err(malformed)?;
        let r = &response.response;
        let client_data_json = webauthn::decode("client_data", &r.client_data_json).map_err(malformed)?;
        let attestation = webauthn::decode("attestation_object", &r.attestation_object).map_err(malformed)?;
        let client_data = webauthn::ClientData::parse(&client_data_json).map_err(malformed)?;
        let challenge = webauthn::encode(&webauthn::decode("challenge", &client_data.challenge).map_err(malformed)?);
        Ok(Self { id, client_data, attestation, challenge })
    }

    /// WebAuthn §7.1's checks of the new credential against the challenge this session was given.
    fn verify(
        &self,
        rp: &RelyingParty,
        issued: Option<&IssuedChallenge>,
        current: &CurrentSession,
    ) -> Result<(webauthn::Registered, Gesture), Error> {
        let gesture = match issued {
            Some(i) if i.bound_to != *current.id || i.user_id != *current.user.id => return Err(Error::Rejected),
            Some(IssuedChallenge { purpose: Purpose::Register, .. }) => Gesture::Verified,
            Some(IssuedChallenge { purpose: Purpose::AutoRegister, .. }) => Gesture::None,
            _ => return Err(Error::Rejected),
        };
        let expected = webauthn::Expected { challenge: &self.challenge, origin: &rp.origin, rp_id: &rp.rp_id };
        let verified = webauthn::verify_registration(&self.client_data, &self.attestation, &expected, gesture);
        let registered = match verified {
            Ok(registered) => registered,
            Err(rejection @ Rejection::Malformed(_)) => return Err(malformed(rejection)),
            Err(rejection) => {
                crate::log::info(&format!("passkey registration refused: {}", rejection.reason()));
                return Err(Error::Rejected);
            }
        };
        if webauthn::encode(&registered.credential_id) != self.id {
            return Err(malformed(Rejection::Malformed("id")));
        }
        Ok((registered, gesture))
    }
}

/// `POST /api/security/passkeys` (sudo): checks the browser's new credential against the
/// challenge this session was given and stores it.
pub async fn register<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    rp: &RelyingParty,
    response: &RegistrationResponse,
    name: Option<&str>,
) -> Result<PasskeyView, Error> {
    let name = name.map(webauthn::passkey_name).transpose().map_err(Error::InvalidName)?;
    let decoded = DecodedRegistration::decode(response)?;
    let issued = cx.store.challenge(&decoded.challenge).await?;
    let (registered, gesture) = decoded.verify(rp, issued.as_ref(), current)?;
    let name = name.unwrap_or_else(|| webauthn::authenticator_name(&registered.aaguid).unwrap_or("Passkey").into());
    let (public_key, aaguid) = (webauthn::encode(&registered.public_key.cose), hex(&registered.aaguid));
    let transports = webauthn::known_transports(&response.response.transports);
    let transports = serde_json::to_string(&transports).map_err(Unexpected::from)?;
    let stored = Stored { public_key: &public_key, aaguid: &aaguid, transports: &transports, name: &name };
    let new = new_passkey(cx, current, &decoded.id, &registered, stored);
    let spent_by = super::error::new_token("a spend id")?;
    let detail = match gesture {
        Gesture::Verified => json!({ "name": name }),
        Gesture::None => json!({ "name": name, "automatic": true }),
    };
    let event = cx.event(&current.user.id, EventType::PasskeyAdded, detail);
    let added = cx.store.add_passkey(&new, &Spend { challenge: &decoded.challenge, by: &spent_by }, &event).await?;
    forget_challenge_later(cx, &decoded.challenge);
    match added {
        Adding::Done => {}
        Adding::ChallengeSpent => return Err(Error::Rejected),
        Adding::AlreadyRegistered => return Err(Error::Exists),
        Adding::TooMany => return Err(Error::TooMany),
    }
    let row = cx.store.passkey(&current.user.id, &decoded.id).await?;
    Ok(PasskeyView::from(&row.ok_or(Unexpected::Broken("a passkey just added is not there"))?))
}

/// The stored forms of a registered credential's parts.
struct Stored<'a> {
    public_key: &'a str,
    aaguid: &'a str,
    transports: &'a str,
    name: &'a str,
}

fn new_passkey<'a, S>(
    cx: &Cx<S>,
    current: &'a CurrentSession,
    credential_id: &'a str,
    registered: &webauthn::Registered,
    stored: Stored<'a>,
) -> NewPasskey<'a> {
    NewPasskey {
        user_id: &current.user.id,
        credential_id,
        public_key: stored.public_key,
        algorithm: registered.public_key.algorithm,
        sign_count: registered.sign_count,
        backup_eligible: registered.backup_eligible,
        backed_up: registered.backed_up,
        aaguid: stored.aaguid,
        transports: stored.transports,
        name: stored.name,
        now: cx.now(),
    }
}

/// `PATCH /api/security/passkeys/{id}`.
pub async fn rename<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    id: &str,
    name: &str,
) -> Result<PasskeyView, Error> {
    let name = webauthn::passkey_name(name).map_err(Error::InvalidName)?;
    let row = cx.store.rename_passkey(&current.user.id, id, &name).await?.ok_or(Error::NotFound)?;
    Ok(PasskeyView::from(&row))
}

/// `DELETE /api/security/passkeys/{id}` (sudo). The password stays, so removing the last
/// passkey locks nobody out.
pub async fn remove<S: Store>(cx: &Cx<S>, current: &CurrentSession, id: &str) -> Result<(), Error> {
    let row = cx.store.passkey(&current.user.id, id).await?.ok_or(Error::NotFound)?;
    let event = cx.event(&current.user.id, EventType::PasskeyRemoved, json!({ "name": row.name }));
    match cx.store.remove_passkey(&current.user.id, id, &event).await? {
        Outcome::Applied => Ok(()),
        Outcome::LostRace => Err(Error::NotFound),
    }
}

/// The passkeys a challenge may be answered with; [`Error::NoPasskey`] when the account has none.
async fn own_passkeys<S: Store>(cx: &Cx<S>, user_id: &crate::domain::ids::UserId) -> Result<Vec<PasskeyRow>, Error> {
    let rows = cx.store.passkeys(user_id, false).await?;
    if rows.is_empty() {
        return Err(Error::NoPasskey);
    }
    Ok(rows)
}
