//! Passkeys (SPEC §5.11): adding, naming and removing them, and the three ceremonies that use
//! one — a sign-in (both factors at once), the second step after a password, and "Confirm it's
//! you". Every ceremony answers a single-use challenge the worker issued for it (KV, 5 minutes,
//! bound to the session or pending sign-in) and spends it in D1 in its first transaction. Every
//! assertion is an [`Attempt`] of the authentication core: counted before it is checked, in the
//! same failure run as wrong passwords and codes.

use futures_util::future::join;
use serde::Serialize;
use serde_json::json;
use worker::Request;

use super::attempts::Attempt;
use super::devices;
use super::sign_in::{self, SignedIn};
use super::{credentials, keys};
use crate::app::App;
use crate::auth::session::{CurrentSession, IssuedSession};
use crate::domain::tokens;
use crate::domain::webauthn::{self, json::AuthenticationResponse, json::RegistrationResponse, Rejection};
use crate::http::ApiError;
use crate::storage::events::{self, EventType};
use crate::storage::passkeys::{self as store, Adding, IssuedChallenge, PasskeyRow, PasskeyUse, Purpose, Spend};
use crate::storage::sessions::{self, PendingSignIn};
use crate::storage::{ip_limits, Outcome};

/// How long the browser may take for a ceremony, and how long its challenge lives.
const CEREMONY_SECONDS: u64 = 300;

/// Who we are to the authenticator: the request's own origin and host.
pub struct RelyingParty {
    pub origin: String,
    pub rp_id: String,
}

impl RelyingParty {
    pub fn of(req: &Request) -> Result<Self, ApiError> {
        let url = req.url()?;
        let rp_id = url.host_str().ok_or(ApiError::Internal)?.to_string();
        Ok(Self { origin: url.origin().ascii_serialization(), rp_id })
    }
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
async fn issue_challenge(app: &App, purpose: Purpose, bound_to: &str, user_id: &str) -> Result<String, ApiError> {
    let challenge = tokens::new_token().map_err(|_| ApiError::Internal)?;
    let issued = IssuedChallenge { purpose, bound_to: bound_to.into(), user_id: user_id.into() };
    store::put_challenge(&app.kv()?, &challenge, &issued, CEREMONY_SECONDS).await?;
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

/// A malformed response is a broken request (400 `invalid_input`); any other rejection is a
/// failed proof.
fn malformed(rejection: Rejection) -> ApiError {
    ApiError::invalid_input(format!("The passkey response is not valid ({}).", rejection.reason()))
}

/// An assertion's parts, decoded (no check made yet).
struct DecodedAssertion {
    credential_id: String,
    client_data: webauthn::ClientData,
    client_data_json: Vec<u8>,
    authenticator_data: Vec<u8>,
    signature: Vec<u8>,
    user_handle: Option<Vec<u8>>,
    /// The challenge the client says it answered, normalised (the KV key).
    challenge: String,
}

impl DecodedAssertion {
    fn decode(response: &AuthenticationResponse) -> Result<Self, ApiError> {
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
    fn verify(
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
        let cose = webauthn::decode("public_key", &passkey.public_key).map_err(|_| Rejection::UnsupportedKey)?;
        let key = webauthn::PublicKey { algorithm: passkey.algorithm, cose };
        let assertion = webauthn::Assertion {
            client_data: &self.client_data,
            client_data_json: &self.client_data_json,
            authenticator_data: &self.authenticator_data,
            signature: &self.signature,
            user_handle: self.user_handle.as_deref(),
        };
        let expected = webauthn::Expected { challenge: &self.challenge, origin: &rp.origin, rp_id: &rp.rp_id };
        webauthn::verify_assertion(&assertion, &expected, &key, passkey.sign_count, &user_handle(&passkey.user_id))
    }

    fn spend<'a>(&'a self, by: &'a str) -> Spend<'a> {
        Spend { challenge: &self.challenge, by }
    }
}

fn forget_challenge_later(app: &App, challenge: &str) {
    let (kv, challenge) = (app.kv(), challenge.to_string());
    app.in_background(async move { store::forget_challenge(&kv?, &challenge).await.map_err(ApiError::from) });
}

/// Records a refused assertion as a failure of `attempt` (and a clone warning when the counter
/// went back) and answers the error to send.
async fn refused(
    app: &App,
    attempt: Attempt,
    user_id: &str,
    action: &str,
    rejection: Rejection,
) -> Result<ApiError, ApiError> {
    if rejection == Rejection::CounterWentBack {
        let warning = super::event(app, user_id, EventType::PasskeyCloneWarning, json!({ "action": action }));
        events::record(&app.db()?, &warning).await?;
    }
    let detail = json!({ "factor": "passkey", "action": action, "reason": rejection.reason() });
    attempt.failed(app, detail, ApiError::PasskeyRejected).await
}

/// `GET /api/security/passkeys`.
pub async fn list(app: &App, current: &CurrentSession) -> Result<Vec<PasskeyView>, ApiError> {
    let user_id = &current.user.id;
    let rows = app.read_near(|db| async move { store::list(&db, user_id).await }).await?;
    Ok(rows.iter().map(PasskeyView::from).collect())
}

/// `POST /api/security/passkeys/options` (sudo): what the browser needs to create a passkey.
pub async fn registration_options(
    app: &App,
    current: &CurrentSession,
    rp: &RelyingParty,
) -> Result<CreationOptions, ApiError> {
    let user = &current.user;
    let (existing, challenge) =
        join(store::list(&app.db()?, &user.id), issue_challenge(app, Purpose::Register, &current.id, &user.id)).await;
    let existing = existing?;
    if existing.len() as u64 >= store::MAX_PER_USER {
        return Err(too_many());
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
            user_verification: "required",
        },
        attestation: "none",
    })
}

fn too_many() -> ApiError {
    ApiError::invalid_input(format!("You can keep at most {} passkeys. Remove one first.", store::MAX_PER_USER))
}

/// `POST /api/security/passkeys` (sudo): checks the browser's new credential against the
/// challenge this session was given and stores it.
pub async fn register(
    app: &App,
    current: &CurrentSession,
    rp: &RelyingParty,
    response: &RegistrationResponse,
    name: Option<&str>,
) -> Result<PasskeyView, ApiError> {
    let name = name.map(webauthn::passkey_name).transpose().map_err(ApiError::invalid_input)?;
    let id = webauthn::credential_id(&response.kind, &response.id, response.raw_id.as_deref()).map_err(malformed)?;
    let client_data_json = webauthn::decode("client_data", &response.response.client_data_json).map_err(malformed)?;
    let attestation =
        webauthn::decode("attestation_object", &response.response.attestation_object).map_err(malformed)?;
    let client_data = webauthn::ClientData::parse(&client_data_json).map_err(malformed)?;
    let challenge = webauthn::encode(&webauthn::decode("challenge", &client_data.challenge).map_err(malformed)?);
    let issued = store::get_challenge(&app.kv()?, &challenge).await?;
    let bound = issued
        .is_some_and(|i| i.purpose == Purpose::Register && i.bound_to == *current.id && i.user_id == *current.user.id);
    if !bound {
        return Err(ApiError::PasskeyRejected);
    }
    let expected = webauthn::Expected { challenge: &challenge, origin: &rp.origin, rp_id: &rp.rp_id };
    let registered = match webauthn::verify_registration(&client_data, &attestation, &expected) {
        Ok(registered) => registered,
        Err(rejection @ Rejection::Malformed(_)) => return Err(malformed(rejection)),
        Err(rejection) => {
            worker::console_log!("passkey registration refused: {}", rejection.reason());
            return Err(ApiError::PasskeyRejected);
        }
    };
    if webauthn::encode(&registered.credential_id) != id {
        return Err(malformed(Rejection::Malformed("id")));
    }
    let name = name.unwrap_or_else(|| webauthn::authenticator_name(&registered.aaguid).unwrap_or("Passkey").into());
    let (public_key, aaguid) = (webauthn::encode(&registered.public_key.cose), hex(&registered.aaguid));
    let transports = serde_json::to_string(&webauthn::known_transports(&response.response.transports))?;
    let new = store::NewPasskey {
        user_id: &current.user.id,
        credential_id: &id,
        public_key: &public_key,
        algorithm: registered.public_key.algorithm,
        sign_count: registered.sign_count,
        backup_eligible: registered.backup_eligible,
        backed_up: registered.backed_up,
        aaguid: &aaguid,
        transports: &transports,
        name: &name,
        now: app.now,
    };
    let spent_by = tokens::new_token().map_err(|_| ApiError::Internal)?;
    let event = super::event(app, &current.user.id, EventType::PasskeyAdded, json!({ "name": name }));
    let added = store::add(&app.db()?, &new, &Spend { challenge: &challenge, by: &spent_by }, &event).await?;
    forget_challenge_later(app, &challenge);
    match added {
        Adding::Done => {}
        Adding::ChallengeSpent => return Err(ApiError::PasskeyRejected),
        Adding::AlreadyRegistered => return Err(ApiError::PasskeyExists),
        Adding::TooMany => return Err(too_many()),
    }
    let row = store::find(&app.db()?, &current.user.id, &id).await?.ok_or(ApiError::Internal)?;
    Ok(PasskeyView::from(&row))
}

/// `PATCH /api/security/passkeys/{id}`.
pub async fn rename(app: &App, current: &CurrentSession, id: &str, name: &str) -> Result<PasskeyView, ApiError> {
    let name = webauthn::passkey_name(name).map_err(ApiError::invalid_input)?;
    let row = store::rename(&app.db()?, &current.user.id, id, &name).await?.ok_or(ApiError::NotFound)?;
    Ok(PasskeyView::from(&row))
}

/// `DELETE /api/security/passkeys/{id}` (sudo). The password stays, so removing the last
/// passkey locks nobody out.
pub async fn remove(app: &App, current: &CurrentSession, id: &str) -> Result<(), ApiError> {
    let db = app.db()?;
    let row = store::find(&db, &current.user.id, id).await?.ok_or(ApiError::NotFound)?;
    let event = super::event(app, &current.user.id, EventType::PasskeyRemoved, json!({ "name": row.name }));
    match store::remove(&db, &current.user.id, id, &event).await? {
        Outcome::Applied => Ok(()),
        Outcome::LostRace => Err(ApiError::NotFound),
    }
}

/// `POST /api/auth/passkey/options`: a challenge for signing in with any passkey of this site
/// (the browser offers them; autofill included).
pub async fn sign_in_options(app: &App, rp: &RelyingParty) -> Result<RequestOptions, ApiError> {
    let challenge = issue_challenge(app, Purpose::SignIn, "", "").await?;
    Ok(request_options(challenge, rp, &[]))
}

/// `POST /api/auth/passkey/login`: a passkey with user verification is both factors at once.
pub async fn sign_in(
    app: &App,
    req: &Request,
    rp: &RelyingParty,
    response: &AuthenticationResponse,
) -> Result<SignedIn, ApiError> {
    let assertion = DecodedAssertion::decode(response)?;
    let keys = keys::load(app).await?;
    let device = devices::known_device(req, &keys);
    let (db, kv) = (app.db()?, app.kv()?);
    let spent_by = tokens::new_token().map_err(|_| ApiError::Internal)?;
    let device_ids = device.as_ref().map(|d| (d.user_id.as_str(), d.device_id.as_str()));
    let spend = assertion.spend(&spent_by);
    let address = sign_in::client_address(app);
    let reserve =
        store::reserve_sign_in(&db, &assertion.credential_id, device_ids, &spend, app.config.throttle, app.now);
    let issued = store::get_challenge(&kv, &assertion.challenge);
    let (reserved, issued) = join(reserve, issued).await;
    let (reserved, issued) = (reserved?, issued?);
    forget_challenge_later(app, &assertion.challenge);
    let throttled = device.is_none() && ip_limits::is_throttled(&kv, &address).await?;
    let Some((user, passkey)) = reserved.found else {
        // No account has this credential: nothing to count but the address's failures.
        if throttled || (device.is_none() && ip_limits::count_failure(&app.env, &kv, &address).await?) {
            return Err(ApiError::RateLimited { retry_after: ip_limits::PERIOD_SECONDS });
        }
        return Err(ApiError::PasskeyRejected);
    };
    let attempt = Attempt::from_reservation(app, &user.id, reserved.budget, reserved.reservation)?;
    if throttled {
        attempt.refund(app).await?;
        return Err(ApiError::RateLimited { retry_after: ip_limits::PERIOD_SECONDS });
    }
    let verified = match reserved.spent {
        true => assertion.verify(rp, issued.as_ref(), (Purpose::SignIn, ""), &passkey),
        false => Err(Rejection::WrongChallenge),
    };
    // A discoverable sign-in names its user; a response without the handle proves nothing of it.
    let verified =
        verified.and_then(|v| if assertion.user_handle.is_some() { Ok(v) } else { Err(Rejection::WrongUser) });
    let asserted = match verified {
        Ok(asserted) => asserted,
        Err(rejection) => {
            if device.is_none() {
                ip_limits::count_failure(&app.env, &kv, &address).await?;
            }
            return Err(refused(app, attempt, &user.id, "sign_in", rejection).await?);
        }
    };
    let used = passkey_use(app, &passkey, &asserted);
    let event = super::event(app, &user.id, EventType::SignIn, json!({ "method": "passkey" }));
    let generations = Some(user.generations());
    let outcome = store::record_use(&db, &used, &spend, attempt.budget(), generations, &[event]).await?;
    if outcome == Outcome::LostRace {
        return Err(refused(app, attempt, &user.id, "sign_in", Rejection::CounterWentBack).await?);
    }
    let who = (&*user.id, user.email.as_str(), user.name.as_str());
    sign_in::start(app, &keys, device.as_ref(), who, user.generations(), "passkey").await
}

fn passkey_use<'a>(app: &App, passkey: &'a PasskeyRow, asserted: &webauthn::Asserted) -> PasskeyUse<'a> {
    PasskeyUse {
        user_id: &passkey.user_id,
        credential_id: &passkey.credential_id,
        stored_count: passkey.sign_count,
        sign_count: asserted.sign_count,
        backed_up: asserted.backed_up,
        now: app.now,
    }
}

/// The pending sign-in a `__Host-pending` token names, while it lasts.
async fn live_pending(
    app: &App,
    pending_token: &str,
) -> Result<(crate::domain::ids::SessionId, PendingSignIn), ApiError> {
    let pending_id = tokens::id_of(pending_token);
    let pending = sessions::get_pending(&app.kv()?, &pending_id).await?.ok_or(ApiError::Unauthenticated)?;
    if app.now >= pending.created_at + app.config.pending_sign_in_seconds {
        sessions::delete_pending(&app.kv()?, &pending_id).await?;
        return Err(ApiError::Unauthenticated);
    }
    Ok((pending_id, pending))
}

/// The passkeys a challenge may be answered with; 400 when the account has none.
async fn own_passkeys(app: &App, user_id: &str) -> Result<Vec<PasskeyRow>, ApiError> {
    let rows = store::list(&app.db()?, user_id).await?;
    if rows.is_empty() {
        return Err(ApiError::invalid_input("Your account has no passkey yet."));
    }
    Ok(rows)
}

/// `POST /api/auth/passkey/two-factor/options`: a challenge for the second step of this
/// pending sign-in, answerable with one of its user's passkeys.
pub async fn second_step_options(
    app: &App,
    rp: &RelyingParty,
    pending_token: &str,
) -> Result<RequestOptions, ApiError> {
    let (pending_id, pending) = live_pending(app, pending_token).await?;
    let rows = own_passkeys(app, &pending.user_id).await?;
    let challenge = issue_challenge(app, Purpose::SecondStep, &pending_id, &pending.user_id).await?;
    Ok(request_options(challenge, rp, &rows))
}

/// Wrong second factors after which a pending sign-in ends (as for codes).
const MAX_PENDING_FAILURES: u32 = 5;

/// `POST /api/auth/passkey/two-factor`: completes a pending sign-in with a passkey of its user.
pub async fn second_step(
    app: &App,
    req: &Request,
    rp: &RelyingParty,
    pending_token: &str,
    response: &AuthenticationResponse,
) -> Result<SignedIn, ApiError> {
    let assertion = DecodedAssertion::decode(response)?;
    let (pending_id, mut pending) = live_pending(app, pending_token).await?;
    // The keys before anything is spent or counted: a wrong SECRET_KEY answers 503 first.
    let keys = keys::load(app).await?;
    let (db, kv) = (app.db()?, app.kv()?);
    let spent_by = tokens::new_token().map_err(|_| ApiError::Internal)?;
    let spend = assertion.spend(&spent_by);
    let also = store::spend_and_read(&db, &pending.user_id, &assertion.credential_id, &spend, app.now)?;
    let reserve =
        Attempt::for_second_step_with(app, &pending.user_id, pending.budget.clone(), pending.generations, also);
    let (reserved, issued) = join(reserve, store::get_challenge(&kv, &assertion.challenge)).await;
    forget_challenge_later(app, &assertion.challenge);
    let (attempt, results) = match reserved {
        Err(ApiError::Unauthenticated) => {
            sessions::delete_pending(&kv, &pending_id).await?;
            return Err(ApiError::Unauthenticated);
        }
        other => other?,
    };
    let read = store::ReadWithSpend::of(&results)?;
    let (spent, passkey) = (read.spent, read.passkey);
    let verified = match (spent, &passkey) {
        (true, Some(passkey)) => {
            assertion.verify(rp, issued?.as_ref(), (Purpose::SecondStep, &pending_id), passkey).map(|a| (a, passkey))
        }
        (false, _) => Err(Rejection::WrongChallenge),
        // Not a passkey of this account.
        (true, None) => Err(Rejection::WrongUser),
    };
    let method = "password+passkey";
    let outcome = match &verified {
        Ok((asserted, passkey)) => {
            let event = super::event(app, &pending.user_id, EventType::SignIn, json!({ "method": method }));
            let used = passkey_use(app, passkey, asserted);
            store::record_use(&db, &used, &spend, attempt.budget(), Some(pending.generations), &[event]).await?
        }
        Err(_) => Outcome::LostRace,
    };
    if outcome == Outcome::LostRace {
        pending.failures += 1;
        if pending.failures >= MAX_PENDING_FAILURES {
            sessions::delete_pending(&kv, &pending_id).await?;
        } else {
            let ends_at = pending.created_at + app.config.pending_sign_in_seconds;
            sessions::put_pending(&kv, &pending_id, &pending, ends_at - app.now).await?;
        }
        let rejection = verified.err().unwrap_or(Rejection::CounterWentBack);
        return Err(refused(app, attempt, &pending.user_id, "sign_in", rejection).await?);
    }
    sessions::delete_pending(&kv, &pending_id).await?;
    let device = devices::known_device(req, &keys);
    let (email, name) = read.names.ok_or(ApiError::Unauthenticated)?;
    sign_in::start(app, &keys, device.as_ref(), (&pending.user_id, &email, &name), pending.generations, method).await
}

/// `POST /api/auth/passkey/confirm/options`: a challenge for "Confirm it's you" with a passkey.
pub async fn confirm_options(
    app: &App,
    current: &CurrentSession,
    rp: &RelyingParty,
) -> Result<RequestOptions, ApiError> {
    let rows = own_passkeys(app, &current.user.id).await?;
    let challenge = issue_challenge(app, Purpose::Confirm, &current.id, &current.user.id).await?;
    Ok(request_options(challenge, rp, &rows))
}

/// `POST /api/auth/passkey/confirm`: a passkey of this account opens the sudo window on a new
/// token, as the password (and code) would; failures count against this session.
pub async fn confirm(
    app: &App,
    current: &CurrentSession,
    rp: &RelyingParty,
    response: &AuthenticationResponse,
) -> Result<IssuedSession, ApiError> {
    let assertion = DecodedAssertion::decode(response)?;
    let (db, kv) = (app.db()?, app.kv()?);
    let spent_by = tokens::new_token().map_err(|_| ApiError::Internal)?;
    let spend = assertion.spend(&spent_by);
    let also = store::spend_and_read(&db, &current.user.id, &assertion.credential_id, &spend, app.now)?;
    let (reserved, issued) =
        join(Attempt::by_session_with(app, current, also), store::get_challenge(&kv, &assertion.challenge)).await;
    forget_challenge_later(app, &assertion.challenge);
    let (attempt, results) = reserved?;
    let store::ReadWithSpend { spent, passkey, .. } = store::ReadWithSpend::of(&results)?;
    let verified = match (spent, &passkey) {
        (true, Some(passkey)) => {
            assertion.verify(rp, issued?.as_ref(), (Purpose::Confirm, &current.id), passkey).map(|a| (a, passkey))
        }
        (false, _) => Err(Rejection::WrongChallenge),
        (true, None) => Err(Rejection::WrongUser),
    };
    let outcome = match &verified {
        Ok((asserted, passkey)) => {
            let used = passkey_use(app, passkey, asserted);
            store::record_use(&db, &used, &spend, attempt.budget(), None, &[]).await?
        }
        Err(_) => Outcome::LostRace,
    };
    if outcome == Outcome::LostRace {
        let rejection = verified.err().unwrap_or(Rejection::CounterWentBack);
        return Err(refused(app, attempt, &current.user.id, "confirm", rejection).await?);
    }
    credentials::open_sudo(app, current, None).await
}
