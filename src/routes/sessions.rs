//! Active sessions (SPEC §4, §5.8): the list comes from one KV `list` (summaries in key
//! metadata) filtered by D1's revocations; ending a session writes D1 first, so it is refused
//! everywhere at once, then removes the KV records.

use serde_json::{json, Value};
use worker::{Request, Response};

use super::{json, no_content, with_cookie};
use crate::app::App;
use crate::auth::session::{self, current_session, require_sudo, CurrentSession};
use crate::domain::tokens;
use crate::http::body::refuse_oversized;
use crate::http::{cookies, ApiError};
use crate::storage::events::{self, EventType};
use crate::storage::sessions::{self, ListedSession, SessionSummary};
use crate::storage::users;

pub async fn list(req: Request, app: &App) -> Result<Response, ApiError> {
    let current = current_session(&req, app).await?;
    let others = live_others(app, &current).await?;
    let idle = app.config.session_idle_seconds;
    let mut out = vec![session_json(&current.id, &current.record.summary, true, idle)];
    out.extend(others.iter().map(|s| session_json(&s.id, &s.summary, false, idle)));
    json(200, &json!({ "sessions": out }))
}

/// The user's other sessions that still work, most recently active first: what KV lists, less
/// what D1 has ended (KV may still list those) and what has run out of time (KV drops those
/// late). One KV list and one D1 query.
pub async fn live_others(app: &App, current: &CurrentSession) -> Result<Vec<ListedSession>, ApiError> {
    let listed = sessions::list(&app.kv()?, &current.user.id).await?;
    let revoked = users::revoked_session_ids(&app.db()?, &current.user.id).await?;
    let idle = app.config.session_idle_seconds;
    let mut live: Vec<ListedSession> = listed
        .into_iter()
        .filter(|s| s.id != current.id)
        .filter(|s| !revoked.contains(&s.id) && s.summary.issued_at >= current.user.sessions_valid_after)
        .filter(|s| s.summary.ends_at(idle) > app.now)
        .collect();
    live.sort_by_key(|s| std::cmp::Reverse(s.summary.last_active_at));
    Ok(live)
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

/// `POST /api/security/sessions/revoke-others`: one D1 batch ends them all (the
/// `sessions_valid_after` stamp plus a row per listed id); the caller gets a fresh token.
pub async fn revoke_others(req: Request, app: &App) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let current = current_session(&req, app).await?;
    require_sudo(&current, app.now)?;
    let issued = end_others(app, &current).await?;
    with_cookie(json(200, &json!({ "revoked": issued.1 }))?, &issued.0.cookie(app))
}

async fn end_others(app: &App, current: &CurrentSession) -> Result<(session::IssuedSession, usize), ApiError> {
    let others = session::other_sessions(app, current).await?;
    let db = app.db()?;
    let user_id = &current.user.id;
    users::run_batch(
        &db,
        vec![
            users::end_sessions_issued_before(&db, user_id, app.now)?,
            users::revoke_sessions(&db, user_id, &session::revocation_rows(current, &others), None)?,
            events::insert(
                &db,
                user_id,
                EventType::OtherSessionsRevoked,
                app.now,
                &app.origin,
                json!({ "revoked": others.len() }),
            )?,
        ],
    )
    .await?;
    let issued = session::finish_ending_others(app, current, &others).await?;
    Ok((issued, others.len()))
}
