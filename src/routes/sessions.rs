//! Active sessions (SPEC §4, §5.8): the list, ending one, ending all others.

use serde::Serialize;
use worker::{Request, Response};

use super::{device_cookie, json, no_content, Cx};
use crate::account::sessions::{self as use_case, live_others};
use crate::auth::session::CurrentSession;
use crate::http::body::refuse_oversized;
use crate::http::ApiError;
use crate::storage::sessions::SessionSummary;

#[derive(Serialize)]
struct SessionView<'a> {
    id: &'a str,
    current: bool,
    device: &'a str,
    browser: &'a str,
    os: &'a str,
    ip: Option<&'a str>,
    city: Option<&'a str>,
    country: Option<&'a str>,
    sign_in_method: &'a str,
    created_at: u64,
    last_active_at: u64,
    expires_at: u64,
}

impl<'a> SessionView<'a> {
    fn new(id: &'a str, s: &'a SessionSummary, current: bool, idle: u64) -> Self {
        Self {
            id,
            current,
            device: &s.device,
            browser: &s.browser,
            os: &s.os,
            ip: s.ip.as_deref(),
            city: s.city.as_deref(),
            country: s.country.as_deref(),
            sign_in_method: &s.sign_in_method,
            created_at: s.created_at,
            last_active_at: s.last_active_at,
            expires_at: s.ends_at(idle),
        }
    }
}

#[derive(Serialize)]
struct SessionList<'a> {
    sessions: Vec<SessionView<'a>>,
}

/// `GET /api/security/sessions`: the current session first, then the others, most recent first.
pub async fn list(_req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let others = live_others(cx, current).await?;
    let idle = cx.config().session_idle_seconds;
    let mut sessions = vec![SessionView::new(&current.id, &current.record.summary, true, idle)];
    sessions.extend(others.iter().map(|s| SessionView::new(&s.id, &s.summary, false, idle)));
    json(200, &SessionList { sessions })
}

/// `DELETE /api/security/sessions/{id}`.
pub async fn end(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let path = req.path();
    let id = path.rsplit('/').next().unwrap_or_default();
    match use_case::end_one(cx, current, id).await? {
        use_case::Ended::Own | use_case::Ended::Other => no_content(),
    }
}

#[derive(Serialize)]
struct Revoked {
    revoked: usize,
}

/// `POST /api/security/sessions/revoke-others` (sudo): the caller gets a fresh token.
pub async fn revoke_others(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let revoked = use_case::end_others(cx, device_cookie(&req).as_deref(), current).await?;
    json(200, &Revoked { revoked })
}
