//! Active sessions (SPEC §4, §5.8): the list comes from one KV `list` (summaries in key
//! metadata) filtered by D1's revocations; ending a session writes D1 first, so it is refused
//! everywhere at once, then removes the KV records.

use serde_json::{json, Value};
use worker::{Request, Response};

use super::{json, no_content, with_cookie};
use crate::app::App;
use crate::auth::session::{self, current_session, require_sudo};
use crate::domain::tokens;
use crate::http::body::refuse_oversized;
use crate::http::{cookies, ApiError};
use crate::storage::events::{self, EventType};
use crate::storage::sessions::{self, SessionSummary};
use crate::storage::users;

pub async fn list(req: Request, app: &App) -> Result<Response, ApiError> {
    let current = current_session(&req, app).await?;
    let others = session::live_others(app, &current).await?;
    let idle = app.config.session_idle_seconds;
    let mut out = vec![session_json(&current.id, &current.record.summary, true, idle)];
    out.extend(others.iter().map(|s| session_json(&s.id, &s.summary, false, idle)));
    json(200, &json!({ "sessions": out }))
}

fn session_json(id: &str, s: &SessionSummary, current: bool, idle: u64) -> Value {
    json!({
        "id": id,
        "current": current,
        "device": s.device,
        "browser": s.browser,
        "os": s.os,
        "ip": s.ip,
        "city": s.city,
        "country": s.country,
        "sign_in_method": s.sign_in_method,
        "created_at": s.created_at,
        "last_active_at": s.last_active_at,
        "expires_at": s.ends_at(idle),
    })
}

/// `DELETE /api/security/sessions/{id}`: the caller's own session needs no sudo (it is a sign
/// out); another one does. Unknown ids and other users' ids get the same 404.
pub async fn end(req: Request, app: &App, id: &str) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let current = current_session(&req, app).await?;
    if !tokens::looks_like_id(id) {
        return Err(ApiError::NotFound);
    }
    let is_current = id == current.id;
    if !is_current {
        require_sudo(&current, app.now)?;
    }
    let kv = app.kv()?;
    let summary = if is_current {
        current.record.summary.clone()
    } else {
        match sessions::get(&kv, id).await? {
            Some(record) if record.user_id == current.user.id => record.summary,
            _ => return Err(ApiError::NotFound),
        }
    };
    let db = app.db()?;
    let detail =
        json!({ "device": summary.device, "browser": summary.browser, "os": summary.os, "current": is_current });
    users::run_batch(
        &db,
        vec![
            users::revoke_session(&db, id, &current.user.id, summary.expires_at)?,
            events::insert(&db, &current.user.id, EventType::SessionRevoked, app.now, &app.origin, detail)?,
        ],
    )
    .await?;
    sessions::delete(&kv, &current.user.id, id).await?;
    let response = no_content()?;
    if is_current {
        with_cookie(response, &cookies::clear(cookies::SESSION))
    } else {
        Ok(response)
    }
}

/// `POST /api/security/sessions/revoke-others`: one D1 write (the user's `session_generation`)
/// ends them all, racing sign-ins included; the caller gets a fresh token of the new generation.
pub async fn revoke_others(req: Request, app: &App) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let current = current_session(&req, app).await?;
    require_sudo(&current, app.now)?;
    let others = session::live_others(app, &current).await?;
    let db = app.db()?;
    let user_id = &current.user.id;
    let detail = json!({ "revoked": others.len() });
    let event = events::insert(&db, user_id, EventType::OtherSessionsRevoked, app.now, &app.origin, detail)?;
    let generations = users::end_all_sessions(&db, user_id, vec![event]).await?.ok_or(ApiError::Unauthenticated)?;
    session::forget_in_background(app, user_id, others.iter().map(|s| s.id.clone()).collect());
    let issued = session::reissue(app, &current, generations, current.record.sudo_until).await?;
    with_cookie(json(200, &json!({ "revoked": others.len() }))?, &issued.cookie(app))
}
