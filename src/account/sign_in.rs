//! Signing in (SPEC §5.7, §5.8): the password step, the second step, and what completes a
//! sign-in. The password step does the same awaited work for an unknown e-mail as for a known
//! one with a wrong password: one D1 batch, argon2id, the failure's D1 batch and the per-address
//! count. A sign-in completes only under the generations its password was verified under.

use futures_util::future::join;
use serde_json::json;
use worker::Request;

use super::attempts::Attempt;
use super::devices::{self, KnownDevice};
use super::factors::{self, SecondFactor};
use super::keys;
use crate::app::App;
use crate::auth::session::{self, IssuedSession};
use crate::domain::email::Email;
use crate::domain::name::PersonName;
use crate::domain::password::{self, Verdict};
use crate::domain::password_rules::{self, PasswordContext};
use crate::domain::{secrets::Keyring, tokens};
use crate::http::{cookies, ApiError};
use crate::storage::attempts::{self as attempt_store, Generations};
use crate::storage::events::EventType;
use crate::storage::sessions::{self, PendingSignIn};
use crate::storage::two_factor::{self, FactorsRow, Use};
use crate::storage::users::{self, NewUser};
use crate::storage::{ip_limits, Outcome};

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

pub(super) fn client_address(app: &App) -> String {
    app.origin.ip.clone().unwrap_or_else(|| "unknown".into())
}

/// `POST /api/auth/login`.
pub async fn with_password(app: &App, req: &Request, email: &str, password: &str) -> Result<PasswordStep, ApiError> {
    let keys = keys::load(app).await?;
    let device = devices::known_device(req, &keys);
    let email = Email::parse(email).map(|e| e.as_str().to_string()).unwrap_or_else(|_| email.trim().to_lowercase());
    let db = app.db()?;
    let kv = app.kv()?;
    let address = client_address(app);
    let device_ids = device.as_ref().map(|d| (d.user_id.as_str(), d.device_id.as_str()));
    let email_hash = tokens::id_of(&email);
    let reserve = attempt_store::reserve_sign_in(&db, &email, &email_hash, device_ids, app.config.throttle, app.now);
    // A known device of the owner is not held back by what its network address did.
    let throttled = async {
        match device {
            Some(_) => Ok(false),
            None => ip_limits::is_throttled(&kv, &address).await,
        }
    };
    let (found, throttled) = join(reserve, throttled).await;
    let (found, throttled) = (found?, throttled?);
    let user_id = found.user.as_ref().map_or("", |u| &*u.id).to_string();
    let attempt = Attempt::from_reservation(app, &user_id, found.budget, found.reservation)?;
    let user = found.user;
    if throttled {
        attempt.refund(app).await?;
        return Err(ApiError::RateLimited { retry_after: ip_limits::PERIOD_SECONDS });
    }
    let params = app.config.hash_params;
    let verdict = match &user {
        Some(user) => password::verify(password, &user.password_hash, params),
        None => password::verify(password, &password::dummy_hash(params), params),
    };
    let user = match user {
        Some(user) if verdict.is_right() => user,
        _ => {
            let over_limit = device.is_none() && ip_limits::count_failure(&app.env, &kv, &address).await?;
            let answer =
                attempt.failed_after_response(app, json!({ "factor": "password" }), ApiError::InvalidCredentials);
            return Err(if over_limit {
                ApiError::RateLimited { retry_after: ip_limits::PERIOD_SECONDS }
            } else {
                answer
            });
        }
    };
    let upgrade = match verdict {
        Verdict::RightButOutdated => Some(hash_password(password, app)?),
        _ => None,
    };
    let upgrade = upgrade.as_deref().map(|new| (user.password_hash.as_str(), new));
    if user.two_factor_enabled() {
        let budget = attempt.budget().clone();
        attempt.refund(app).await?;
        if let Some((old, new)) = upgrade {
            users::upgrade_outdated_hash(&db, &user.id, old, new).await?;
        }
        let token = tokens::new_token().map_err(|_| ApiError::Internal)?;
        let pending = PendingSignIn {
            user_id: user.id.clone(),
            created_at: app.now,
            failures: 0,
            budget,
            generations: user.generations(),
        };
        let ttl = app.config.pending_sign_in_seconds;
        sessions::put_pending(&kv, &tokens::id_of(&token), &pending, ttl).await?;
        let pending_cookie = cookies::set(cookies::PENDING, &token, ttl);
        return Ok(PasswordStep::SecondFactorNeeded { pending_cookie });
    }
    let event = super::event(app, &user.id, EventType::SignIn, json!({ "method": "password" }));
    let outcome = users::complete_sign_in(&db, &user.id, user.generations(), attempt.budget(), &event, upgrade).await?;
    if outcome == Outcome::LostRace {
        // The password changed (or every session was ended) while this one was being checked.
        return Err(ApiError::InvalidCredentials);
    }
    let signed_in =
        start(app, &keys, device.as_ref(), (&user.id, &user.email, &user.name), user.generations(), "password");
    Ok(PasswordStep::SignedIn(Box::new(signed_in.await?)))
}

/// Starts the session of a completed sign-in and, for a browser that is not yet a known device
/// of this user, a device cookie.
pub(super) async fn start(
    app: &App,
    keys: &Keyring,
    device: Option<&KnownDevice>,
    (user_id, email, name): (&str, &str, &str),
    generations: Generations,
    method: &str,
) -> Result<SignedIn, ApiError> {
    let session = session::start(app, user_id, method, generations).await?;
    let device_cookie = match device {
        Some(d) if d.user_id == user_id && !d.outdated => None,
        // Signed under an older key: the same device, signed again under the current key.
        Some(d) if d.user_id == user_id => Some(devices::cookie_for(keys, user_id, &d.device_id)),
        _ => Some(devices::new_cookie(keys, user_id)?),
    };
    Ok(SignedIn { user_id: user_id.into(), email: email.into(), name: name.into(), session, device_cookie })
}

pub fn hash_password(password: &str, app: &App) -> Result<String, ApiError> {
    password::hash(password, app.config.hash_params).map_err(|error| {
        worker::console_error!("password hashing failed: {error}");
        ApiError::Internal
    })
}

/// `POST /api/auth/signup`: a new account (rules checked, e-mail unique) and its first session,
/// which is a completed sign-in too.
pub async fn sign_up(app: &App, req: &Request, email: &str, password: &str, name: &str) -> Result<SignedIn, ApiError> {
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
    let id = tokens::new_id().map_err(|_| ApiError::Internal)?;
    let new_user = NewUser { id: &id, email: email.as_str(), name: name.as_str(), password_hash: &hash, now: app.now };
    if users::create(&app.db()?, &new_user, &app.origin).await? == Outcome::LostRace {
        return Err(ApiError::EmailTaken);
    }
    let device = devices::known_device(req, &keys);
    let user = (id.as_str(), email.as_str(), name.as_str());
    start(app, &keys, device.as_ref(), user, Generations::default(), "password").await
}

/// Wrong second factors after which a pending sign-in ends and the password is asked again.
const MAX_PENDING_FAILURES: u32 = 5;

/// `POST /api/auth/login/two-factor`: completes a pending sign-in once, if its generations are
/// still current; it ends after its time or five wrong tries.
pub async fn with_second_factor(
    app: &App,
    req: &Request,
    pending_token: &str,
    factor: SecondFactor,
) -> Result<SignedIn, ApiError> {
    let kv = app.kv()?;
    let pending_id = tokens::id_of(pending_token);
    let mut pending = sessions::get_pending(&kv, &pending_id).await?.ok_or(ApiError::Unauthenticated)?;
    let ends_at = pending.created_at + app.config.pending_sign_in_seconds;
    let end_pending = || sessions::delete_pending(&kv, &pending_id);
    if app.now >= ends_at {
        end_pending().await?;
        return Err(ApiError::Unauthenticated);
    }
    let db = app.db()?;
    let select = two_factor::factors_statement(&db, &pending.user_id)?;
    let reserve = Attempt::for_second_step::<FactorsRow>(
        app,
        &pending.user_id,
        pending.budget.clone(),
        pending.generations,
        select,
    );
    // The data keys (a D1 read only when this isolate has none) are read while the attempt is counted.
    let (reserved, loaded) = join(reserve, keys::load(app)).await;
    let (attempt, row) = match reserved {
        Err(ApiError::Unauthenticated) => {
            end_pending().await?;
            return Err(ApiError::Unauthenticated);
        }
        other => other?,
    };
    let row = match row {
        Some(row) if row.enabled() => row,
        _ => {
            attempt.refund(app).await?;
            end_pending().await?;
            return Err(ApiError::Unauthenticated);
        }
    };
    let keys = match loaded {
        Ok(keys) if row.totp_secret.as_deref().is_none_or(|s| keys.knows_key_of(s)) => Ok(keys),
        Ok(_) => keys::load_for(app, row.totp_secret.as_deref()).await,
        Err(error) => Err(error),
    };
    // Keys that cannot be had (a wrong SECRET_KEY) are no failure of the person: the count goes back.
    let keys = match keys {
        Ok(keys) => keys,
        Err(error) => {
            attempt.refund(app).await?;
            return Err(error);
        }
    };
    let method = format!("password+{}", factor.name());
    // A lost key: the pending sign-in stays for a recovery code.
    let (attempt, candidate) = factors::candidate_or_hand_back(app, &keys, &row, &factor, attempt).await?;
    let outcome = match &candidate {
        Some(candidate) => {
            let events = [two_factor::Event { kind: EventType::SignIn, detail: json!({ "method": method }) }];
            let using = Use { budget: attempt.budget(), generations: Some(pending.generations), events: &events };
            two_factor::use_proof(&db, &row.id, &candidate.proof(), &using, app.now, &app.origin).await?
        }
        None => Outcome::LostRace,
    };
    if outcome == Outcome::LostRace {
        pending.failures += 1;
        if pending.failures >= MAX_PENDING_FAILURES {
            end_pending().await?;
        } else {
            sessions::put_pending(&kv, &pending_id, &pending, ends_at - app.now).await?;
        }
        let detail = json!({ "factor": factor.name(), "action": "sign_in" });
        return Err(attempt.failed(app, detail, ApiError::InvalidCode).await?);
    }
    end_pending().await?;
    if let Some(factors::Candidate::Totp { secret, .. }) = &candidate {
        keys::reencrypt_later(app, &keys, &row.id, secret);
    }
    let device = devices::known_device(req, &keys);
    start(app, &keys, device.as_ref(), (&row.id, &row.email, &row.name), pending.generations, &method).await
}
