//! Signing up, in and out.

use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::me::user_json;
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
