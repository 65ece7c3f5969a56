//! Signing up and signing in with a password and a second factor (SPEC §5.7, §5.8). Every step
//! goes through the one ceremony (`super::ceremony`): reserve, check, fail or complete. The
//! password step does the same awaited work for an unknown e-mail as for a known one with a
//! wrong password: one D1 batch, argon2id, the per-address count. A sign-in completes only
//! under the generations its first step verified.

use serde_json::json;

use super::ceremony::{self, Client, Pending};
use super::devices;
use super::factors::{self, Candidate, SecondFactor};
use super::keys;
use crate::app::App;
use crate::auth::session::{self, IssuedSession};
use crate::domain::email::{self, Email};
use crate::domain::name::PersonName;
use crate::domain::password::{self, Verdict};
use crate::domain::password_rules::{self, PasswordContext};
use crate::domain::tokens;
use crate::http::ApiError;
use crate::storage::attempts::Generations;
use crate::storage::events::EventType;
use crate::storage::sign_in::{Identifier, SecondStepRead};
use crate::storage::two_factor::{self, FactorsRow, Use};
use crate::storage::users::{self, NewUser};
use crate::storage::Outcome;

/// Who signed in, and the cookies that say so.
pub struct SignedIn {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub session: IssuedSession,
    /// A new `__Host-device` cookie, unless the browser already holds one of this user.
    pub device_cookie: Option<String>,
}

pub enum PasswordStep {
    SignedIn(Box<SignedIn>),
    /// The password was right; the `__Host-pending` cookie to send with the second factor.
    SecondFactorNeeded {
        pending_cookie: String,
    },
}

/// `POST /api/auth/login`.
pub async fn with_password(
    app: &App,
    device_cookie: Option<&str>,
    email: &str,
    password: &str,
) -> Result<PasswordStep, ApiError> {
    let keys = keys::load(app).await?;
    let client = Client::new(app, device_cookie, &keys);
    let email = email::Lookup::of(email);
    let reserved = ceremony::reserve_first(app, &client, Identifier::Email(&email), None).await?;
    let params = app.config.hash_params;
    let verdict = match &reserved.user {
        Some(user) => password::verify(password, &user.password_hash, params),
        None => password::verify(password, &password::dummy_hash(params), params),
    };
    let user = match reserved.user {
        Some(user) if verdict.is_right() => user,
        _ => {
            let detail = json!({ "factor": "password" });
            let wrong = ApiError::InvalidCredentials;
            return Err(ceremony::failed(app, &client, reserved.attempt, None, detail, wrong).await?);
        }
    };
    let upgrade = match verdict {
        Verdict::RightButOutdated => Some(hash_password(password, app)?),
        _ => None,
    };
    let upgrade = upgrade.as_deref().map(|new| (user.password_hash.as_str(), new));
    if user.two_factor_enabled() {
        let budget = reserved.attempt.budget().clone();
        reserved.attempt.refund(app).await?;
        if let Some((old, new)) = upgrade {
            users::upgrade_outdated_hash(&app.db()?, &user.id, old, new).await?;
        }
        let pending_cookie = Pending::start(app, &user, budget).await?;
        return Ok(PasswordStep::SecondFactorNeeded { pending_cookie });
    }
    let event = super::event(app, &user.id, EventType::SignIn, json!({ "method": "password" }));
    let budget = reserved.attempt.budget();
    let trust = devices::trusting(app, &keys, client.device(), &user.id)?;
    let outcome =
        users::complete_sign_in(&app.db()?, &user.id, user.generations(), budget, &event, upgrade, &trust.row).await?;
    if outcome == Outcome::LostRace {
        // The password changed (or every session was ended) while this one was being checked:
        // no failure of the person's, and no session.
        reserved.attempt.refund(app).await?;
        return Err(ApiError::InvalidCredentials);
    }
    let who = (&*user.id, user.email.as_str(), user.name.as_str());
    let signed_in = start(app, trust.cookie, who, user.generations(), "password");
    Ok(PasswordStep::SignedIn(Box::new(signed_in.await?)))
}

/// Starts the session of a completed sign-in, whose batch trusted the browser (`device_cookie`:
/// the cookie [`devices::trusting`] decided it needs).
pub(super) async fn start(
    app: &App,
    device_cookie: Option<String>,
    (user_id, email, name): (&str, &str, &str),
    generations: Generations,
    method: &str,
) -> Result<SignedIn, ApiError> {
    super::emails::normalise_later(app, user_id, email);
    let session = session::start(app, user_id, method, generations).await?;
    Ok(SignedIn { user_id: user_id.into(), email: email.into(), name: name.into(), session, device_cookie })
}

pub fn hash_password(password: &str, app: &App) -> Result<String, ApiError> {
    password::hash(password, app.config.hash_params).map_err(|error| ApiError::internal("password hashing", error))
}

/// `POST /api/auth/signup`: a new account (rules checked, e-mail unique) and its first session,
/// which is a completed sign-in too.
pub async fn sign_up(app: &App, email: &str, password: &str, name: &str) -> Result<SignedIn, ApiError> {
    let legacy_email = email::legacy_form(email);
    let email = Email::parse(email).map_err(ApiError::invalid_input)?;
    let name = PersonName::parse(name).map_err(ApiError::invalid_input)?;
    let context = PasswordContext { email_local_part: email.local_part(), name: name.as_str() };
    let problems = password_rules::check(password, &context);
    if !problems.is_empty() {
        return Err(ApiError::WeakPassword(problems));
    }
    // The keys before the account: a wrong SECRET_KEY answers 503 before anything is written.
    let keys = keys::load(app).await?;
    let hash = hash_password(password, app)?;
    let id = tokens::new_id().map_err(|error| ApiError::internal("a user id", error))?;
    let new_user = NewUser {
        id: &id,
        email: email.as_str(),
        legacy_email: &legacy_email,
        name: name.as_str(),
        password_hash: &hash,
        now: app.now,
    };
    // A new account: whatever device cookie the browser holds is another user's.
    let trust = devices::trusting(app, &keys, None, &id)?;
    if users::create(&app.db()?, &new_user, &app.origin, &trust.row).await? == Outcome::LostRace {
        return Err(ApiError::EmailTaken);
    }
    let user = (id.as_str(), email.as_str(), name.as_str());
    start(app, trust.cookie, user, Generations::default(), "password").await
}

/// `POST /api/auth/login/two-factor`: completes a pending sign-in once, with a code or a
/// recovery code, if its generations are still current.
pub async fn with_second_factor(
    app: &App,
    device_cookie: Option<&str>,
    pending_token: &str,
    factor: SecondFactor,
) -> Result<SignedIn, ApiError> {
    let keys = keys::load(app).await?;
    let client = Client::new(app, device_cookie, &keys);
    let mut pending = Pending::open(app, pending_token).await?;
    let (attempt, reserved) = ceremony::reserve_second(app, &client, &pending, SecondStepRead::Factors).await?;
    let Some(row) = reserved.factors.filter(FactorsRow::enabled) else {
        // Two-factor authentication was turned off meanwhile: the sign-in starts over.
        attempt.refund(app).await?;
        pending.end(app).await?;
        return Err(ApiError::Unauthenticated);
    };
    // Keys that cannot be had (a wrong SECRET_KEY) are no failure of the person: the count goes back.
    let keys = match keys::load_for(app, row.totp_secret.as_deref()).await {
        Ok(keys) => keys,
        Err(error) => {
            attempt.refund(app).await?;
            return Err(error);
        }
    };
    let method = format!("password+{}", factor.name());
    // A lost key: the pending sign-in stays for a recovery code.
    let (attempt, candidate) = factors::candidate_or_hand_back(app, &keys, &row, &factor, attempt).await?;
    let trust = devices::trusting(app, &keys, client.device(), &row.id)?;
    let outcome = match &candidate {
        Some(candidate) => {
            let events = [two_factor::Event { kind: EventType::SignIn, detail: json!({ "method": method }) }];
            let generations = Some(pending.generations());
            let using = Use { budget: attempt.budget(), generations, events: &events, trust: Some(&trust.row) };
            two_factor::use_proof(&app.db()?, &row.id, &candidate.proof(), &using, app.now, &app.origin).await?
        }
        None => Outcome::LostRace,
    };
    if outcome == Outcome::LostRace {
        let detail = json!({ "factor": factor.name(), "action": "sign_in" });
        let wrong = ApiError::InvalidCode;
        return Err(ceremony::failed(app, &client, attempt, Some(&mut pending), detail, wrong).await?);
    }
    pending.end(app).await?;
    if let Some(Candidate::Totp { secret, .. }) = &candidate {
        keys::reencrypt_later(app, &keys, &row.id, secret);
    }
    let who = (&*row.id, row.email.as_str(), row.name.as_str());
    start(app, trust.cookie, who, pending.generations(), &method).await
}
