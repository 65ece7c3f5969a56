//! Signing up, in and out, and confirming it's you: parse, call the use case, answer.

use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::me::user_json;
use super::{json, no_content, with_cookie};
use crate::account::credentials;
use crate::account::factors::SecondFactor;
use crate::account::sign_in::{self, PasswordStep, SignedIn};
use crate::app::App;
use crate::auth::session::{self, session_token};
use crate::domain::email::Email;
use crate::domain::name::PersonName;
use crate::domain::password_rules::{self, PasswordContext};
use crate::domain::tokens;
use crate::http::body::{read_json, refuse_oversized};
use crate::http::{cookies, ApiError};
use crate::storage::events::{self, EventType};
use crate::storage::sessions;
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
    let hash = sign_in::hash_password(&body.password, app)?;
    let id = tokens::new_id().map_err(|_| ApiError::Internal)?;
    let db = app.db()?;
    let new_user = NewUser { id: &id, email: email.as_str(), name: name.as_str(), password_hash: &hash, now: app.now };
    let created =
        events::insert_when(&db, &Guard::UserExists, &id, EventType::AccountCreated, app.now, &app.origin, json!({}))?;
    let results = users::run_batch(&db, vec![users::insert(&db, &new_user)?, created]).await?;
    if users::changes(&results, 0) == 0 {
        return Err(ApiError::EmailTaken);
    }
    let signed_in = sign_in::after_sign_up(app, &req, (&id, email.as_str(), name.as_str())).await?;
    signed_in_response(app, 201, signed_in)
}

fn signed_in_response(app: &App, status: u16, signed_in: SignedIn) -> Result<Response, ApiError> {
    let body = json!({ "user": user_json(&signed_in.user_id, &signed_in.email, &signed_in.name) });
    let mut response = with_cookie(json(status, &body)?, &signed_in.session.cookie(app))?;
    if let Some(device) = &signed_in.device_cookie {
        response = with_cookie(response, device)?;
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

pub async fn login(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let body: Login = read_json(&mut req).await?;
    match sign_in::with_password(app, &req, &body.email, &body.password).await? {
        PasswordStep::SignedIn(signed_in) => signed_in_response(app, 200, *signed_in),
        PasswordStep::SecondFactorNeeded { pending_cookie } => {
            with_cookie(json(200, &json!({ "two_factor_required": true }))?, &pending_cookie)
        }
    }
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

/// `POST /api/auth/login/two-factor`: the second step of a sign-in with 2FA on.
pub async fn login_two_factor(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let token = pending_token(&req).ok_or(ApiError::Unauthenticated)?;
    let body: SecondFactorBody = read_json(&mut req).await?;
    let factor = SecondFactor::from_fields(body.code, body.recovery_code)?
        .ok_or_else(|| ApiError::invalid_input("Enter the code from your authenticator app or a recovery code."))?;
    let signed_in = sign_in::with_second_factor(app, &req, &token, factor).await?;
    with_cookie(signed_in_response(app, 200, signed_in)?, &cookies::clear(cookies::PENDING))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    password: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /api/auth/confirm`: opens the sudo window on a new session token.
pub async fn confirm(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let current = session::current_session(&req, app).await?;
    let body: Confirm = read_json(&mut req).await?;
    let factor = SecondFactor::from_fields(body.code, body.recovery_code)?;
    let issued = credentials::confirm(app, &current, &body.password, factor).await?;
    with_cookie(no_content()?, &issued.cookie(app))
}
