//! The HTTP API: which handler answers which method and path. Handlers parse, call and map
//! errors; they hold no SQL and no KV keys.

pub mod auth;
pub mod events;
pub mod me;
pub mod openapi;
pub mod password;
pub mod security;
pub mod sessions;
pub mod two_factor;

use worker::{Method, Request, Response};

use crate::app::App;
use crate::http::{csrf, ApiError};

pub async fn handle(req: Request, app: &App) -> Result<Response, ApiError> {
    let path = req.path();
    let method = req.method();
    if !path.starts_with("/api/") {
        return Err(ApiError::NotFound);
    }
    // workers-rs reads a method it does not know (PROPFIND, LOCK, ...) as GET: such a request
    // must not reach a GET handler, nor pass the CSRF check as a read.
    if !req.inner().method().eq_ignore_ascii_case(method.as_ref()) {
        return Err(ApiError::MethodNotAllowed);
    }
    if csrf::is_state_changing(&method) && !is_same_origin(&req)? {
        return Err(ApiError::CsrfRejected);
    }
    let segments: Vec<&str> = path.trim_start_matches("/api/").split('/').collect();
    match (method, segments.as_slice()) {
        (Method::Post, ["auth", "signup"]) => auth::signup(req, app).await,
        (Method::Post, ["auth", "login"]) => auth::login(req, app).await,
        (Method::Post, ["auth", "login", "two-factor"]) => auth::login_two_factor(req, app).await,
        (Method::Post, ["auth", "confirm"]) => auth::confirm(req, app).await,
        (Method::Post, ["auth", "logout"]) => auth::logout(req, app).await,
        (Method::Get, ["openapi.json"]) => openapi::document(),
        (Method::Get, ["me"]) => me::me(req, app).await,
        (Method::Get, ["security"]) => security::overview(req, app).await,
        (Method::Put, ["security", "password"]) => password::change(req, app).await,
        (Method::Post, ["security", "two-factor", "setup"]) => two_factor::setup(req, app).await,
        (Method::Post, ["security", "two-factor", "enable"]) => two_factor::enable(req, app).await,
        (Method::Post, ["security", "two-factor", "disable"]) => two_factor::disable(req, app).await,
        (Method::Post, ["security", "two-factor", "recovery-codes"]) => two_factor::regenerate(req, app).await,
        (Method::Get, ["security", "sessions"]) => sessions::list(req, app).await,
        (Method::Post, ["security", "sessions", "revoke-others"]) => sessions::revoke_others(req, app).await,
        (Method::Delete, ["security", "sessions", id]) if *id != "revoke-others" => sessions::end(req, app, id).await,
        (Method::Get, ["security", "events"]) => events::recent(req, app).await,
        (_, segments) if known_path(segments) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NotFound),
    }
}

fn known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["auth", "signup" | "login" | "logout"]
            | ["me"]
            | ["openapi.json"]
            | ["security"]
            | ["security", "password"]
            | ["security", "sessions"]
            | ["security", "sessions", _]
            | ["security", "events"]
            | ["auth", "login", "two-factor"]
            | ["auth", "confirm"]
            | ["security", "two-factor", "setup" | "enable" | "disable" | "recovery-codes"]
    )
}

fn is_same_origin(req: &Request) -> Result<bool, ApiError> {
    let own = req.url()?.origin().ascii_serialization();
    let header = |name: &str| req.headers().get(name).ok().flatten();
    Ok(csrf::is_same_origin(&own, header("Origin").as_deref(), header("Sec-Fetch-Site").as_deref()))
}

/// A JSON answer with the given status.
pub fn json(status: u16, body: &serde_json::Value) -> Result<Response, ApiError> {
    Ok(Response::from_json(body)?.with_status(status))
}

pub fn no_content() -> Result<Response, ApiError> {
    Ok(Response::empty()?.with_status(204))
}

pub fn with_cookie(response: Response, cookie: &str) -> Result<Response, ApiError> {
    response.headers().append("Set-Cookie", cookie)?;
    Ok(response)
}

/// The path as a route pattern for logs: ids are replaced, so no log line holds one.
pub fn route_name(path: &str) -> String {
    match path.strip_prefix("/api/security/sessions/") {
        Some(rest) if rest != "revoke-others" => "/api/security/sessions/{id}".into(),
        _ if path.len() > 100 => "(long path)".into(),
        _ => path.chars().filter(|c| !c.is_control()).collect(),
    }
}
