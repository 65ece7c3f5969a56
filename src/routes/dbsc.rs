//! Device-bound sessions (DBSC, issue 25): the registration and refresh endpoints a browser with
//! DBSC calls on its own, after a sign-in answered `Secure-Session-Registration` and whenever the
//! short cookie runs out. Neither ever answers credentials to another origin (no CORS headers) or
//! lets itself be framed (the security headers every answer carries).

use worker::{Request, Response};

use super::{cookie, json, Cx};
use crate::account::device_bound::{self as use_case, Refreshed, Registered};
use crate::auth::session::CurrentSession;
use crate::domain::dbsc;
use crate::http::body::refuse_oversized;
use crate::http::url::RequestUrl;
use crate::http::{cookies, ApiError};

/// `POST /api/auth/dbsc/register`: the session the cookie names, bound to the key that signed
/// the `Secure-Session-Response` proof; answers the session instructions and the short cookie.
pub async fn register(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let proof = proof_header(&req).ok_or_else(|| ApiError::invalid_input("Secure-Session-Response is missing."))?;
    let (origin, audience) = origin_and_audience(&req)?;
    let Registered { dbsc_id, cookie } = use_case::register(cx, current, &proof, &audience).await?;
    let body = dbsc::instructions(&dbsc_id, &origin);
    with_short_cookie(json(200, &body)?, &cookie, cx.config().bound_cookie_seconds)
}

/// `POST /api/auth/dbsc/refresh`: a new short cookie for a proof by the session's key; without
/// one (or for a challenge that is not open), 403 with a challenge to sign. A session that ended
/// answers `{"continue": false}`, and the browser stops refreshing it.
pub async fn refresh(req: Request, cx: &Cx) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let header = |name: &str| req.headers().get(name).ok().flatten();
    // Only a browser's own DBSC request names its session: a page cannot send this header to
    // another origin without a preflight, which this worker never allows.
    let dbsc_id = header("Sec-Secure-Session-Id")
        .and_then(|value| dbsc::sf_string(&value))
        .filter(|id| crate::domain::tokens::looks_like_token(id))
        .ok_or_else(|| ApiError::invalid_input("Sec-Secure-Session-Id is missing."))?;
    let token = cookie(&req, cookies::SESSION);
    let (origin, audience) = origin_and_audience(&req)?;
    let proof = proof_header(&req);
    match use_case::refresh(cx, token.as_deref(), &dbsc_id, proof.as_deref(), &audience).await? {
        Refreshed::Renewed { dbsc_id, cookie } => {
            let body = dbsc::instructions(&dbsc_id, &origin);
            with_short_cookie(json(200, &body)?, &cookie, cx.config().bound_cookie_seconds)
        }
        Refreshed::Challenge(challenge) => {
            let response = ApiError::DeviceProofRequired.into_response().with_status(403);
            response.headers().set("Secure-Session-Challenge", &dbsc::challenge_header(&challenge, &dbsc_id))?;
            Ok(response)
        }
        Refreshed::Ended => {
            let response = json(200, &dbsc::ended())?;
            response.headers().append("Set-Cookie", &cookies::clear(dbsc::BOUND_COOKIE))?;
            Ok(response)
        }
    }
}

/// The proof a DBSC request carries (`Secure-Session-Response`, an sf-string or a bare JWT).
fn proof_header(req: &Request) -> Option<String> {
    let value = req.headers().get("Secure-Session-Response").ok().flatten()?;
    dbsc::sf_string(&value)
}

/// This origin, and the URL a proof for this endpoint names as its audience (`aud`).
fn origin_and_audience(req: &Request) -> Result<(String, String), ApiError> {
    let url = RequestUrl::of(req)?;
    let origin = url.origin();
    Ok((origin.clone(), format!("{origin}{}", url.path())))
}

fn with_short_cookie(response: Response, value: &str, max_age: u64) -> Result<Response, ApiError> {
    response.headers().append("Set-Cookie", &cookies::set(dbsc::BOUND_COOKIE, value, max_age))?;
    Ok(response)
}
