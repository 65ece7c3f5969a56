//! Signing up, in and out, and confirming it's you.

use serde::{Deserialize, Serialize};
use worker::{Request, Response};

use super::{
    cookie, device_cookie, json, no_content, pending_token, second_step_response, signed_in_response, with_cookie, Cx,
};
use crate::account::factors::SecondFactor;
use crate::account::sign_in::{self, PasswordStep};
use crate::account::{credentials, sessions};
use crate::app::SessionCookie;
use crate::auth::session::{self, CurrentSession, DeviceProof, WithCheck};
use crate::http::body::{read_json, refuse_oversized};
use crate::http::{cookies, ApiError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUp {
    email: String,
    password: String,
    name: String,
}

pub async fn signup(mut req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let body: SignUp = read_json(&mut req).await?;
    let signed_in = sign_in::sign_up(cx, &body.email, &body.password, &body.name).await?;
    signed_in_response(201, signed_in)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct SecondFactorRequired {
    two_factor_required: bool,
}

pub async fn login(mut req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let body: Login = read_json(&mut req).await?;
    match sign_in::with_password(cx, device_cookie(&req).as_deref(), &body.email, &body.password).await? {
        PasswordStep::SignedIn(signed_in) => signed_in_response(200, *signed_in),
        PasswordStep::SecondFactorNeeded(pending) => {
            let body = SecondFactorRequired { two_factor_required: true };
            with_cookie(json(200, &body)?, &cookies::set(cookies::PENDING, &pending.token, pending.ttl))
        }
    }
}

/// Ends this session everywhere. Signing out without a live session still clears the cookie.
pub async fn logout(req: Request, cx: &Cx) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let token = cookie(&req, cookies::SESSION);
    match session::current(cx, token.as_deref(), DeviceProof::NotNeeded, WithCheck::default()).await {
        Ok(current) => sessions::sign_out(cx, &current).await?,
        Err(session::Error::SignedOut) => cx.effects.set_session_cookie(SessionCookie::Clear),
        Err(other) => return Err(other.into()),
    }
    no_content()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecondFactorBody {
    code: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /api/auth/login/two-factor`: the second step of a sign-in with 2FA on.
pub async fn login_two_factor(mut req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let token = pending_token(&req)?;
    let body: SecondFactorBody = read_json(&mut req).await?;
    let factor = SecondFactor::from_fields(body.code, body.recovery_code)
        .map_err(ApiError::invalid_input)?
        .ok_or_else(|| ApiError::invalid_input("Enter the code from your authenticator app or a recovery code."))?;
    second_step_response(sign_in::with_second_factor(cx, device_cookie(&req).as_deref(), &token, factor).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    password: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /api/auth/confirm`: opens the sudo window on a new session token.
pub async fn confirm(mut req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let body: Confirm = read_json(&mut req).await?;
    let factor = SecondFactor::from_fields(body.code, body.recovery_code).map_err(ApiError::invalid_input)?;
    credentials::confirm(cx, current, &body.password, factor).await?;
    no_content()
}
