//! Device-bound sessions (DBSC, issue 25): a browser that keeps a key on the device binds its
//! session to it after a sign-in, and from then on the session works only with a short-lived
//! cookie that a proof signed by that key renews. A session token copied off the device stops
//! working when its short cookie runs out. Browsers without DBSC never register, and nothing
//! changes for them.
//!
//! Challenges and short cookies are sealed (`domain::dbsc::seal`): checking one costs no read,
//! and a challenge's single use is D1's. Ending a session ends its binding with it: the refresh
//! of an ended session answers that the browser should stop (`{"continue": false}`).

use serde_json::json;

use super::error::{unexpected_from_storage, Unexpected};
use crate::app::Cx;
use crate::auth::session::{self, CurrentSession, DeviceProof, WithCheck};
use crate::domain::dbsc::{self, BoundKey, Refusal, Sealed};
use crate::domain::ids::SessionId;
use crate::domain::secrets::Keyring;
use crate::storage::device_bound::{Binding, NewBinding};
use crate::storage::events::EventType;
use crate::storage::passkeys::Spend;
use crate::storage::Store;

/// How long a challenge may be answered: shorter than D1 remembers a spent one.
pub const CHALLENGE_SECONDS: u64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The proof proves nothing: its shape, key, signature, audience or challenge.
    #[error("the device proof was refused ({})", .0.reason())]
    Refused(Refusal),
    /// A registration's challenge that is not this session's, has run out or was answered.
    #[error("the registration's challenge is not open")]
    ChallengeNotOpen,
    #[error("the session is bound already, or ended meanwhile")]
    BoundAlready,
    #[error(transparent)]
    Keys(#[from] super::keys::Error),
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}
unexpected_from_storage!(Error);

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

/// A session bound to a key: what the browser names it by, and its first short cookie.
pub struct Registered {
    pub dbsc_id: String,
    pub cookie: String,
}

/// What a refresh came to.
pub enum Refreshed {
    /// A new short cookie for the bound session `dbsc_id`.
    Renewed { dbsc_id: String, cookie: String },
    /// Sign this challenge (no proof was sent, or it answered a challenge that is not open).
    Challenge(String),
    /// The session ended, or is not the one the browser named: the browser should stop
    /// refreshing it.
    Ended,
}

/// The `Secure-Session-Registration` value offered with a session issued on `token`, if the
/// keys can seal its challenge.
pub fn registration_offer(secrets: &crate::app::Secrets, token: &str, now: u64) -> Option<String> {
    let keys = super::keys::root_keys(secrets).ok()?;
    let id = crate::domain::tokens::id_of(token);
    let challenge = dbsc::seal(&keys, Sealed::RegistrationChallenge, &id, now + CHALLENGE_SECONDS).ok()?;
    Some(dbsc::registration_header(&challenge))
}

/// `POST /api/auth/dbsc/register`: binds the caller's session to the key that signed `jwt`,
/// for the registration URL `audience`.
pub async fn register<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    jwt: &str,
    audience: &str,
) -> Result<Registered, Error> {
    if current.user.bound_at.is_some() {
        return Err(Error::BoundAlready);
    }
    let keys = super::keys::root_keys(&cx.facts.secrets)?;
    let proof = dbsc::parse(jwt)?;
    if !dbsc::is_open(&keys, Sealed::RegistrationChallenge, &current.id, proof.challenge(), cx.now()) {
        return Err(Error::ChallengeNotOpen);
    }
    let key = proof.verify_registration(audience, cx.now())?;
    let dbsc_id = super::error::new_token("a bound session id")?;
    let spent_by = super::error::new_token("a spend id")?;
    let new = new_binding(cx, current, &dbsc_id, &key);
    let detail = json!({ "key": key.thumbprint });
    let event = cx.event(&current.user.id, EventType::SessionBound, detail);
    let spend = Spend { challenge: proof.challenge(), by: &spent_by };
    match cx.store.bind_session(&new, &spend, &event).await? {
        Binding::Bound => Ok(Registered { cookie: short_cookie(cx, &keys, &current.id)?, dbsc_id }),
        Binding::ChallengeSpent => Err(Error::ChallengeNotOpen),
        Binding::Refused => Err(Error::BoundAlready),
    }
}

fn new_binding<'a, S>(cx: &Cx<S>, current: &'a CurrentSession, dbsc_id: &'a str, key: &'a BoundKey) -> NewBinding<'a> {
    NewBinding {
        session_id: &current.id,
        user_id: &current.user.id,
        session_generation: current.record.generations.session,
        issued_at: current.record.issued_at,
        dbsc_id,
        public_key: &key.jwk,
        thumbprint: &key.thumbprint,
        now: cx.now(),
        expires_at: current.record.summary.expires_at,
    }
}

/// `POST /api/auth/dbsc/refresh`: the session the `token` names, bound as `dbsc_id`, gets a new
/// short cookie for a proof by its key over an open challenge (`jwt`, the refresh URL
/// `audience`); without one, a challenge to sign.
pub async fn refresh<S: Store>(
    cx: &Cx<S>,
    token: Option<&str>,
    dbsc_id: &str,
    jwt: Option<&str>,
    audience: &str,
) -> Result<Refreshed, Error> {
    let current = match session::current(cx, token, DeviceProof::NotNeeded, WithCheck::default()).await {
        Ok(current) => current,
        Err(session::Error::SignedOut | session::Error::WithoutDeviceProof) => return Ok(Refreshed::Ended),
        Err(session::Error::Keys(error)) => return Err(error.into()),
        Err(session::Error::Storage(error)) => return Err(error.into()),
    };
    let binding = cx.store.session_binding(&current.id).await?;
    let Some(binding) = binding.filter(|b| b.dbsc_id == dbsc_id) else { return Ok(Refreshed::Ended) };
    let keys = super::keys::root_keys(&cx.facts.secrets)?;
    let challenge = || -> Result<Refreshed, Error> {
        let expires = cx.now() + CHALLENGE_SECONDS;
        let sealed = dbsc::seal(&keys, Sealed::RefreshChallenge, &current.id, expires)
            .map_err(|cause| Unexpected::Randomness("a challenge", cause))?;
        Ok(Refreshed::Challenge(sealed))
    };
    let Some(jwt) = jwt else { return challenge() };
    let proof = dbsc::parse(jwt)?;
    if !dbsc::is_open(&keys, Sealed::RefreshChallenge, &current.id, proof.challenge(), cx.now()) {
        return challenge();
    }
    let key = BoundKey::stored(&binding.public_key).ok().ok_or(Unexpected::Broken("a stored bound key"))?;
    proof.verify_refresh(&key, audience, cx.now())?;
    let spent_by = super::error::new_token("a spend id")?;
    let spend = Spend { challenge: proof.challenge(), by: &spent_by };
    if !cx.store.refresh_binding(&current.id, &spend, cx.now()).await? {
        return challenge();
    }
    Ok(Refreshed::Renewed { dbsc_id: binding.dbsc_id, cookie: short_cookie(cx, &keys, &current.id)? })
}

/// A new short cookie for the session `id`, good for `BOUND_COOKIE_SECONDS`.
fn short_cookie<S>(cx: &Cx<S>, keys: &Keyring, id: &SessionId) -> Result<String, Unexpected> {
    dbsc::seal(keys, Sealed::Cookie, id, cx.now() + cx.config().bound_cookie_seconds)
        .map_err(|cause| Unexpected::Randomness("a short cookie", cause))
}
