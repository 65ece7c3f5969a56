//! Active sessions (SPEC §4, §5.8): the list, ending one, ending all others.

use futures_util::future::join;
use serde::Serialize;
use worker::{Request, Response};

use super::{device_cookie, json, no_content, Cx};
use crate::account::sessions::{self as use_case, live_others};
use crate::account::unfamiliar;
use crate::auth::session::CurrentSession;
use crate::domain::unfamiliar::Flags;
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
    /// The browser bound the session to a key it keeps on the device (DBSC): its cookie alone,
    /// copied elsewhere, stops working within minutes.
    bound_to_device: bool,
    /// The sign-in that started the session was unfamiliar and the owner has not said "This was
    /// me" yet (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    unfamiliar: Option<Unfamiliar>,
}

#[derive(Serialize)]
struct Unfamiliar {
    /// `new_country`, `new_network`, `new_device`, `impossible_travel`.
    reasons: Vec<&'static str>,
    /// The speed from the account's previous sign-in, when both places are known.
    travel_kmh: Option<u64>,
}

impl Unfamiliar {
    fn of(flags: Option<&Flags>) -> Option<Self> {
        let flags = flags.filter(|f| f.to_review())?;
        Some(Self { reasons: flags.reasons(), travel_kmh: flags.travel_kmh })
    }
}

impl<'a> SessionView<'a> {
    fn new(id: &'a str, s: &'a SessionSummary, current: bool, idle: u64, flags: Option<&Flags>, bound: bool) -> Self {
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
            bound_to_device: bound,
            unfamiliar: Unfamiliar::of(flags),
        }
    }
}

#[derive(Serialize)]
struct SessionList<'a> {
    sessions: Vec<SessionView<'a>>,
}

/// `GET /api/security/sessions`: the current session first, then the others, most recent first.
pub async fn list(_req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let (others, flags) = join(live_others(cx, current), unfamiliar::sign_in_flags(cx, current)).await;
    let (others, flags) = (others?, flags?);
    let idle = cx.config().session_idle_seconds;
    let own = &current.record.summary;
    let flags_of = |s: &SessionSummary| s.sign_in.as_ref().and_then(|id| flags.get(id));
    let bound = |id| use_case::is_bound_to_device(current, id);
    let mut sessions = vec![SessionView::new(&current.id, own, true, idle, flags_of(own), bound(&current.id))];
    sessions.extend(
        others.iter().map(|s| SessionView::new(&s.id, &s.summary, false, idle, flags_of(&s.summary), bound(&s.id))),
    );
    json(200, &SessionList { sessions })
}

/// `POST /api/security/sessions/{id}/familiar`: "This was me".
pub async fn familiar(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let id = req.path().rsplit('/').nth(1).unwrap_or_default().to_string();
    unfamiliar::confirm_familiar(cx, current, &id).await?;
    no_content()
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
