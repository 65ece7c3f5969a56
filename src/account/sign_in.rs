//! Signing up and signing in with a password and a second factor (SPEC §5.7, §5.8). Every step
//! goes through the one ceremony (`super::ceremony`): reserve, check, fail or complete. The
//! password step does the same awaited work for an unknown e-mail as for a known one with a
//! wrong password: one D1 batch, argon2id, the per-address count. A sign-in completes only
//! under the generations its first step verified.

use serde_json::json;

use super::attempts::{Attempt, Refused};
use super::ceremony::{self, Client, Pending, PendingToken};
use super::devices::{self, DeviceCookie};
use super::error::{unexpected_from_storage, Unexpected};
use super::factors::{self, Candidate, SecondFactor};
use super::keys::{self, Unavailable};
use super::sessions;
use crate::app::Cx;
use crate::domain::email::{self, Email};
use crate::domain::name::PersonName;
use crate::domain::password::{self, Verdict};
use crate::domain::password_rules::{PasswordContext, PasswordProblem};
use crate::domain::secrets::Keyring;
use crate::storage::attempts::Generations;
use crate::storage::events::EventType;
use crate::storage::sign_in::{Identifier, SecondStepRead};
use crate::storage::two_factor::{self, FactorsRow, Use};
use crate::storage::users::{Completion, NewUser, UserRow};
use crate::storage::{Outcome, Store};

/// What signing up or in may refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("wrong code")]
    InvalidCode,
    #[error("{0}")]
    InvalidInput(&'static str),
    #[error("the password breaks the rules")]
    WeakPassword(Vec<PasswordProblem>),
    #[error("the e-mail address has an account")]
    EmailTaken,
    /// The password reset a second step completed was used or expired meanwhile.
    #[error("the reset link was used or expired")]
    ResetLinkUsed,
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error(transparent)]
    Keys(#[from] keys::Error),
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}
unexpected_from_storage!(Error);

/// Who signed in (the new session's cookie is an effect of the answer) and, for a browser not yet
/// a trusted device of this user under the current key, its new device cookie.
pub struct SignedIn {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub device_cookie: Option<DeviceCookie>,
}

pub enum PasswordStep {
    SignedIn(Box<SignedIn>),
    /// The password was right; the second factor is to be sent with this pending sign-in.
    SecondFactorNeeded(PendingToken),
}

/// `POST /api/auth/login`.
pub async fn with_password<S: Store>(
    cx: &Cx<S>,
    device_cookie: Option<&str>,
    email: &str,
    password: &str,
) -> Result<PasswordStep, Error> {
    let keys = keys::load(cx).await?;
    let client = Client::new(cx, device_cookie, &keys);
    let email = email::Lookup::of(email);
    let reserved = ceremony::reserve_first::<S, Error>(cx, &client, Identifier::Email(&email), None).await?;
    let params = cx.config().hash_params;
    let verdict = match &reserved.user {
        Some(user) => password::verify(password, &user.password_hash, params),
        None => password::verify(password, &password::dummy_hash(params), params),
    };
    let user = match reserved.user {
        Some(user) if verdict.is_right() => user,
        _ => {
            let detail = json!({ "factor": "password" });
            return Err(ceremony::failed(cx, &client, reserved.attempt, None, detail, Error::InvalidCredentials).await?);
        }
    };
    let upgrade = match verdict {
        Verdict::RightButOutdated => Some(password::hash(password, params).map_err(Unexpected::from)?),
        _ => None,
    };
    let upgrade = upgrade.as_deref().map(|new| (user.password_hash.as_str(), new));
    super::breaches::check_after_sign_in(cx, &user.id, user.generations().password, password);
    if user.two_factor_enabled() {
        return second_factor_needed(cx, reserved.attempt, &user, upgrade).await;
    }
    complete_with_password(cx, &keys, &client, reserved.attempt, &user, upgrade).await
}

/// The password was right and a second factor is needed: the count goes back (the run does not
/// end), and a pending sign-in starts in the run the password was counted in.
async fn second_factor_needed<S: Store>(
    cx: &Cx<S>,
    attempt: Attempt,
    user: &UserRow,
    upgrade: Option<(&str, &str)>,
) -> Result<PasswordStep, Error> {
    let budget = attempt.budget().clone();
    attempt.refund(cx).await?;
    if let Some((old, new)) = upgrade {
        cx.store.upgrade_outdated_hash(&user.id, old, new).await?;
    }
    Ok(PasswordStep::SecondFactorNeeded(Pending::start(cx, user, budget).await?))
}

/// Completes a sign-in whose password was all it needed, under the generations it verified.
async fn complete_with_password<S: Store>(
    cx: &Cx<S>,
    keys: &Keyring,
    client: &Client,
    attempt: Attempt,
    user: &UserRow,
    upgrade: Option<(&str, &str)>,
) -> Result<PasswordStep, Error> {
    let trust = devices::trusting(cx, keys, client.device(), &user.id)?;
    let detail = json!({ "method": "password", "new_device": trust.new_device, "sign_in": cx.facts.request_id });
    let event = cx.event(&user.id, EventType::SignIn, detail);
    let completion = Completion {
        user_id: &user.id,
        generations: user.generations(),
        budget: attempt.budget(),
        event: &event,
        upgrade,
        trust: &trust.row,
    };
    if cx.store.complete_sign_in(&completion).await? == Outcome::LostRace {
        // The password changed (or every session was ended) while this one was being checked:
        // no failure of the person's, and no session.
        attempt.refund(cx).await?;
        return Err(Error::InvalidCredentials);
    }
    let who = (&*user.id, user.email.as_str(), user.name.as_str());
    let signed_in = start(cx, trust.cookie, who, user.generations(), "password").await?;
    Ok(PasswordStep::SignedIn(Box::new(signed_in)))
}

/// Starts the session of a completed sign-in, whose batch trusted the browser (`device_cookie`:
/// the cookie [`devices::trusting`] decided it needs).
pub(super) async fn start<S: Store>(
    cx: &Cx<S>,
    device_cookie: Option<DeviceCookie>,
    (user_id, email, name): (&str, &str, &str),
    generations: Generations,
    method: &str,
) -> Result<SignedIn, Unexpected> {
    super::emails::normalise_later(cx, user_id, email);
    sessions::start(cx, user_id, method, generations).await?;
    Ok(SignedIn { user_id: user_id.into(), email: email.into(), name: name.into(), device_cookie })
}

/// `POST /api/auth/signup`: a new account (rules checked, e-mail unique) and its first session,
/// which is a completed sign-in too.
pub async fn sign_up<S: Store>(cx: &Cx<S>, email: &str, password: &str, name: &str) -> Result<SignedIn, Error> {
    let legacy_email = email::legacy_form(email);
    let email = Email::parse(email).map_err(Error::InvalidInput)?;
    let name = PersonName::parse(name).map_err(Error::InvalidInput)?;
    let context = PasswordContext { email_local_part: email.local_part(), name: name.as_str() };
    let problems = super::breaches::problems_of_new(cx, password, &context).await?;
    if !problems.is_empty() {
        return Err(Error::WeakPassword(problems));
    }
    // The keys before the account: a wrong SECRET_KEY answers 503 before anything is written.
    let keys = keys::load(cx).await?;
    let hash = password::hash(password, cx.config().hash_params).map_err(Unexpected::from)?;
    let id = crate::domain::tokens::new_id().map_err(|cause| Unexpected::Randomness("a user id", cause))?;
    let (email, name) = (email.as_str(), name.as_str());
    let new_user = NewUser { id: &id, email, legacy_email: &legacy_email, name, password_hash: &hash, now: cx.now() };
    // A new account: whatever device cookie the browser holds is another user's.
    let trust = devices::trusting(cx, &keys, None, &id)?;
    if cx.store.create_user(&new_user, &cx.facts.origin, &trust.row).await? == Outcome::LostRace {
        return Err(Error::EmailTaken);
    }
    Ok(start(cx, trust.cookie, (&id, email, name), Generations::default(), "password").await?)
}

/// `POST /api/auth/login/two-factor`: completes a pending sign-in once, with a code or a
/// recovery code, if its generations are still current.
pub async fn with_second_factor<S: Store>(
    cx: &Cx<S>,
    device_cookie: Option<&str>,
    pending_token: &str,
    factor: SecondFactor,
) -> Result<SecondStepDone, Error> {
    let keys = keys::load(cx).await?;
    let client = Client::new(cx, device_cookie, &keys);
    let mut pending = Pending::open::<S, Error>(cx, pending_token).await?;
    let (attempt, reserved) =
        ceremony::reserve_second::<S, Error>(cx, &client, &pending, SecondStepRead::Factors).await?;
    let Some(row) = reserved.factors.filter(FactorsRow::enabled) else {
        // Two-factor authentication was turned off meanwhile: the sign-in starts over.
        attempt.refund(cx).await?;
        pending.end(cx).await?;
        return Err(Refused::SignedOut.into());
    };
    let (attempt, keys) = keys_for(cx, attempt, &row).await?;
    // A lost key: the pending sign-in stays for a recovery code.
    let (attempt, candidate) = factors::candidate_or_hand_back::<S, Error>(cx, &keys, &row, &factor, attempt).await?;
    let method = format!("password+{}", factor.name());
    // A reset's second step trusts no device: every device's trust ends with the reset.
    let trust = match pending.reset() {
        None => Some(devices::trusting(cx, &keys, client.device(), &row.id)?),
        Some(_) => None,
    };
    let outcome = match &candidate {
        Some(candidate) => use_factor(cx, &attempt, &pending, candidate, trust.as_ref(), &method).await?,
        None => Outcome::LostRace,
    };
    if outcome == Outcome::LostRace {
        let detail = json!({ "factor": factor.name(), "action": "sign_in" });
        return Err(ceremony::failed(cx, &client, attempt, Some(&mut pending), detail, Error::InvalidCode).await?);
    }
    if let Some(Candidate::Totp { secret, .. }) = &candidate {
        keys::reencrypt_later(cx, &keys, &row.id, secret);
    }
    let who = (&*row.id, row.email.as_str(), row.name.as_str());
    finish_second_step(cx, &pending, trust.and_then(|t| t.cookie), who, &method).await
}

/// What a completed second step did: a sign-in, or the password reset it was holding.
pub enum SecondStepDone {
    SignedIn(SignedIn),
    PasswordReset,
}

/// Ends the pending sign-in and starts its session, or completes the reset it held.
pub(super) async fn finish_second_step<S: Store>(
    cx: &Cx<S>,
    pending: &Pending,
    device_cookie: Option<DeviceCookie>,
    who: (&str, &str, &str),
    method: &str,
) -> Result<SecondStepDone, Error> {
    pending.end(cx).await?;
    if pending.reset().is_some() {
        return match super::reset::complete_after_second_factor(cx, pending).await {
            Ok(()) => Ok(SecondStepDone::PasswordReset),
            Err(super::reset::Error::Unexpected(error)) => Err(error.into()),
            Err(_) => Err(Error::ResetLinkUsed),
        };
    }
    Ok(SecondStepDone::SignedIn(start(cx, device_cookie, who, pending.generations(), method).await?))
}

/// Uses up the second factor and completes the sign-in in one write, under the pending sign-in's
/// generations (ending the run of `attempt`, trusting the browser).
async fn use_factor<S: Store>(
    cx: &Cx<S>,
    attempt: &Attempt,
    pending: &Pending,
    candidate: &Candidate,
    trust: Option<&devices::Trusting>,
    method: &str,
) -> Result<Outcome, Error> {
    let events: Vec<_> = trust
        .map(|trust| json!({ "method": method, "new_device": trust.new_device, "sign_in": cx.facts.request_id }))
        .map(|detail| two_factor::Event { kind: EventType::SignIn, detail })
        .into_iter()
        .collect();
    let generations = Some(pending.generations());
    let using = Use { budget: attempt.budget(), generations, events: &events, trust: trust.map(|t| &t.row) };
    Ok(cx.store.use_proof(pending.user_id(), &candidate.proof(), &using, &cx.facts.origin, cx.now()).await?)
}

/// The keys that open the account's TOTP secret; keys that cannot be had (a wrong SECRET_KEY)
/// are no failure of the person's: the count goes back.
async fn keys_for<S: Store>(cx: &Cx<S>, attempt: Attempt, row: &FactorsRow) -> Result<(Attempt, Keyring), Error> {
    match keys::load_for(cx, row.totp_secret.as_deref()).await {
        Ok(keys) => Ok((attempt, keys)),
        Err(error) => {
            attempt.refund(cx).await?;
            Err(error.into())
        }
    }
}
