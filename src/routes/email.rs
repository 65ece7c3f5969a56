//! E-mail (docs/email.md): the address and its verification, new-sign-in alerts, a forgotten
//! password's reset, and "This wasn't me". Links in mails carry a token in the page's fragment;
//! the page posts it here, so no token is ever in a URL the server sees.

use serde::{Deserialize, Serialize};
use worker::{Request, Response};

use super::{json, no_content, with_cookie, Cx};
use crate::account::{address, reset};
use crate::auth::session::CurrentSession;
use crate::http::body::{read_json, refuse_oversized};
use crate::http::{cookies, ApiError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: String,
}

#[derive(Serialize)]
struct Accepted {}

#[derive(Serialize)]
struct Verified {
    email: String,
}

/// `POST /api/auth/verify-email`: a verification or address-change link.
pub async fn verify(mut req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let body: TokenBody = read_json(&mut req).await?;
    json(200, &Verified { email: address::verify(cx, &body.token).await? })
}

/// `POST /api/security/email/verification`: the verification mail again.
pub async fn resend(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    address::resend(cx, &current.user.id, current.user.email_verified == 1).await?;
    json(202, &Accepted {})
}

/// `PUT /api/security/email` (sudo): confirms the new address by mail before it changes.
pub async fn change(mut req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let body: EmailBody = read_json(&mut req).await?;
    address::change(cx, &current.user.id, &current.user.email, &body.email).await?;
    json(202, &Accepted {})
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Alerts {
    new_sign_in: bool,
}

/// `PUT /api/security/alerts` (sudo): whether new sign-ins are mailed.
pub async fn set_alerts(mut req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let body: Alerts = read_json(&mut req).await?;
    json(200, &Alerts { new_sign_in: address::set_alerts(cx, &current.user.id, body.new_sign_in).await? })
}

/// `POST /api/auth/password-reset`: 202 for every address, known or not.
pub async fn request_reset(mut req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let body: EmailBody = read_json(&mut req).await?;
    reset::request(cx, &body.email).await?;
    json(202, &Accepted {})
}

/// `POST /api/auth/password-reset/check`: whether the link still works, without using it.
pub async fn check_reset(mut req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let body: TokenBody = read_json(&mut req).await?;
    json(200, &reset::check(cx, &body.token).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteReset {
    token: String,
    new_password: String,
}

#[derive(Serialize)]
struct SecondFactorRequired {
    two_factor_required: bool,
}

/// `POST /api/auth/password-reset/complete`: 204, or the second factor first (`__Host-pending`).
pub async fn complete_reset(mut req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let body: CompleteReset = read_json(&mut req).await?;
    match reset::complete(cx, &body.token, &body.new_password).await? {
        reset::Completed::Done => no_content(),
        reset::Completed::SecondFactorNeeded(pending) => {
            let body = SecondFactorRequired { two_factor_required: true };
            with_cookie(json(200, &body)?, &cookies::set(cookies::PENDING, &pending.token, pending.ttl))
        }
    }
}

#[derive(Serialize)]
struct NotMe {
    reset_token: String,
}

/// `POST /api/auth/not-me`: the one click of "This wasn't me".
pub async fn not_me(mut req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let body: TokenBody = read_json(&mut req).await?;
    json(200, &NotMe { reset_token: reset::not_me(cx, &body.token).await? })
}
