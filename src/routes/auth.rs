//! Signing up, in and out.

use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::me::user_json;
use super::two_factor::{self as two_factor_routes, SecondFactor};
use super::{json, no_content, with_cookie};
use crate::app::App;
use crate::auth::session::{self, session_token};
use crate::auth::throttle;
use crate::domain::email::Email;
use crate::domain::name::PersonName;
use crate::domain::password::{self, Verdict};
use crate::domain::password_rules::{self, PasswordContext};
use crate::domain::tokens;
use crate::http::body::{read_json, refuse_oversized};
use crate::http::{cookies, ApiError};
use crate::storage::events::{self, EventType};
use crate::storage::sessions::{self, PendingSignIn};
use crate::storage::two_factor::{self, FactorsRow};
use crate::storage::users::{self, Guard, NewUser};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUp {
    email: String,
    password: String,
    name: String,
}

pub async fn signup(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let body: SignUp = read_json(&mut req).await?;
    let email = Email::parse(&body.email).map_err(ApiError::invalid_input)?;
    let name = PersonName::parse(&body.name).map_err(ApiError::invalid_input)?;
    let problems = password_rules::check(
        &body.password,
        &PasswordContext { email_local_part: email.local_part(), name: name.as_str() },
    );
    if !problems.is_empty() {
        return Err(ApiError::WeakPassword(problems));
    }
    let hash = hash_password(&body.password, app)?;
    let id = tokens::new_id().map_err(|_| ApiError::Internal)?;
    let db = app.db()?;
    let new_user = NewUser { id: &id, email: email.as_str(), name: name.as_str(), password_hash: &hash, now: app.now };
    let results = users::run_batch(
        &db,
        vec![
            users::insert(&db, &new_user)?,
            events::insert_when(
                &db,
                &Guard::UserExists,
                &id,
                EventType::AccountCreated,
                app.now,
                &app.origin,
                json!({}),
            )?,
        ],
    )
    .await?;
    if users::changes(&results, 0) == 0 {
        return Err(ApiError::EmailTaken);
    }
    let issued = session::start(app, &id, "password").await?;
    let response = json(201, &json!({ "user": user_json(&id, email.as_str(), name.as_str()) }))?;
    with_cookie(response, &issued.cookie(app))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

pub async fn login(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let body: Login = read_json(&mut req).await?;
    let db = app.db()?;
    let user = match Email::parse(&body.email) {
        Ok(email) => users::find_by_email(&db, email.as_str()).await?,
        Err(_) => None,
    };
    let Some(user) = user else {
        // Same argon2 work and the same answer as a wrong password for a real account.
        let _ = password::verify(&body.password, &password::dummy_hash(app.config.hash_params), app.config.hash_params);
        return Err(ApiError::InvalidCredentials);
    };
    throttle::ensure_not_locked(user.locked_until, app.now)?;
    let verdict = password::verify(&body.password, &user.password_hash, app.config.hash_params);
    if !verdict.is_right() {
        let detail = json!({ "factor": "password" });
        return Err(throttle::record_failure(
            app,
            &user.id,
            EventType::SignInFailed,
            detail,
            ApiError::InvalidCredentials,
        )
        .await?);
    }
    let mut statements = vec![users::reset_failures(&db, &user.id)?];
    if verdict == Verdict::RightButOutdated {
        statements.push(users::upgrade_hash(&db, &user.id, &user.password_hash, &hash_password(&body.password, app)?)?);
    }
    if user.two_factor_enabled() {
        users::run_batch(&db, statements).await?;
        let token = tokens::new_token().map_err(|_| ApiError::Internal)?;
        let pending = PendingSignIn { user_id: user.id.clone(), created_at: app.now, failures: 0 };
        sessions::put_pending(&app.kv()?, &tokens::id_of(&token), &pending, app.config.pending_sign_in_seconds).await?;
        let response = json(200, &json!({ "two_factor_required": true }))?;
        return with_cookie(response, &cookies::set(cookies::PENDING, &token, app.config.pending_sign_in_seconds));
    }
    statements.push(events::insert(
        &db,
        &user.id,
        EventType::SignIn,
        app.now,
        &app.origin,
        json!({ "method": "password" }),
    )?);
    users::run_batch(&db, statements).await?;
    let issued = session::start(app, &user.id, "password").await?;
    let response = json(200, &json!({ "user": user_json(&user.id, &user.email, &user.name) }))?;
    with_cookie(response, &issued.cookie(app))
}

/// Ends this session everywhere: D1 first (so no edge honours it again), then KV. Signing out
/// without a live session still clears the cookie.
pub async fn logout(req: Request, app: &App) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    if session_token(&req).is_some() {
        match session::current_session(&req, app).await {
            Ok(current) => {
                let db = app.db()?;
                users::run_batch(
                    &db,
                    vec![
                        users::revoke_session(&db, &current.id, &current.user.id, current.record.summary.expires_at)?,
                        events::insert(&db, &current.user.id, EventType::SignOut, app.now, &app.origin, json!({}))?,
                    ],
                )
                .await?;
                sessions::delete(&app.kv()?, &current.user.id, &current.id).await?;
            }
            Err(ApiError::Unauthenticated) => {}
            Err(other) => return Err(other),
        }
    }
    with_cookie(no_content()?, &cookies::clear(cookies::SESSION))
}

pub fn hash_password(password: &str, app: &App) -> Result<String, ApiError> {
    password::hash(password, app.config.hash_params).map_err(|error| {
        worker::console_error!("password hashing failed: {error}");
        ApiError::Internal
    })
}

/// Wrong second factors after which a pending sign-in ends and the password is asked again.
const MAX_PENDING_FAILURES: u32 = 5;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecondFactorBody {
    code: Option<String>,
    recovery_code: Option<String>,
}

fn pending_token(req: &Request) -> Option<String> {
    let header = req.headers().get("Cookie").ok().flatten()?;
    cookies::find(&header, cookies::PENDING).filter(|t| tokens::looks_like_token(t)).map(str::to_string)
}

/// `POST /api/auth/login/two-factor`: the second step of a sign-in with 2FA on. A code or a
/// recovery code completes the pending sign-in once; it ends after its time or five wrong tries.
pub async fn login_two_factor(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let token = pending_token(&req).ok_or(ApiError::Unauthenticated)?;
    let body: SecondFactorBody = read_json(&mut req).await?;
    let factor = SecondFactor::from_fields(body.code, body.recovery_code)?
        .ok_or_else(|| ApiError::invalid_input("Enter the code from your authenticator app or a recovery code."))?;
    let kv = app.kv()?;
    let pending_id = tokens::id_of(&token);
    let mut pending = sessions::get_pending(&kv, &pending_id).await?.ok_or(ApiError::Unauthenticated)?;
    let ends_at = pending.created_at + app.config.pending_sign_in_seconds;
    if app.now >= ends_at {
        sessions::delete_pending(&kv, &pending_id).await?;
        return Err(ApiError::Unauthenticated);
    }
    let db = app.db()?;
    let row = match two_factor::factors(&db, &pending.user_id).await? {
        Some(row) if row.enabled() => row,
        _ => {
            sessions::delete_pending(&kv, &pending_id).await?;
            return Err(ApiError::Unauthenticated);
        }
    };
    throttle::ensure_not_locked(row.locked_until, app.now)?;
    let keyring = two_factor_routes::keyring(app)?;
    let method = format!("password+{}", factor.name());
    let accepted = match two_factor_routes::candidate(app, &keyring, &row, &factor)? {
        Some(candidate) => {
            let events = [two_factor::Event { kind: EventType::SignIn, detail: json!({ "method": method }) }];
            let statements = two_factor::use_proof(&db, &row.id, &candidate.proof(), app.now, &app.origin, &events)?;
            two_factor::decided(&users::run_batch(&db, statements).await?)
        }
        None => false,
    };
    if !accepted {
        pending.failures += 1;
        if pending.failures >= MAX_PENDING_FAILURES {
            sessions::delete_pending(&kv, &pending_id).await?;
        } else {
            sessions::put_pending(&kv, &pending_id, &pending, ends_at - app.now).await?;
        }
        return Err(two_factor_routes::wrong_factor(app, &row.id, factor.name(), "sign_in").await?);
    }
    sessions::delete_pending(&kv, &pending_id).await?;
    let issued = session::start(app, &row.id, &method).await?;
    let response = json(200, &json!({ "user": user_json(&row.id, &row.email, &row.name) }))?;
    let response = with_cookie(response, &issued.cookie(app))?;
    with_cookie(response, &cookies::clear(cookies::PENDING))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    password: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /api/auth/confirm`: the password (and, with 2FA on, a code or recovery code) opens the
/// sudo window on this session again.
pub async fn confirm(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let current = session::current_session(&req, app).await?;
    let body: Confirm = read_json(&mut req).await?;
    let factor = SecondFactor::from_fields(body.code, body.recovery_code)?;
    let db = app.db()?;
    let row = FactorsRow::from(&current.user);
    if row.enabled() && factor.is_none() {
        return Err(ApiError::invalid_input(
            "Enter your password and a code from your authenticator app (or a recovery code).",
        ));
    }
    throttle::ensure_not_locked(row.locked_until, app.now)?;
    if !password::verify(&body.password, &row.password_hash, app.config.hash_params).is_right() {
        return Err(two_factor_routes::wrong_password(app, &row.id, "confirm").await?);
    }
    match factor.filter(|_| row.enabled()) {
        Some(factor) => {
            let keyring = two_factor_routes::keyring(app)?;
            let accepted = match two_factor_routes::candidate(app, &keyring, &row, &factor)? {
                Some(candidate) => {
                    let statements =
                        two_factor::use_proof(&db, &row.id, &candidate.proof(), app.now, &app.origin, &[])?;
                    two_factor::decided(&users::run_batch(&db, statements).await?)
                }
                None => false,
            };
            if !accepted {
                return Err(two_factor_routes::wrong_factor(app, &row.id, factor.name(), "confirm").await?);
            }
        }
        None => {
            users::run_batch(&db, vec![users::reset_failures(&db, &row.id)?]).await?;
        }
    }
    let mut record = current.record.clone();
    record.sudo_until = app.now + app.config.sudo_seconds;
    sessions::put(&app.kv()?, &current.id, &record, app.config.session_idle_seconds, app.now).await?;
    no_content()
}
