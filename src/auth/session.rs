//! Sessions from the request's point of view. A session is live only if KV has it, it is within
//! its idle and absolute lifetime, and D1 has neither revoked its id nor stamped the user's
//! `sessions_valid_after` past its issue time (SPEC §5.8): a stale KV copy at some edge is
//! therefore never enough.

use worker::Request;

use crate::app::App;
use crate::domain::{tokens, user_agent};
use crate::http::{cookies, ApiError};
use crate::storage::sessions::{self, SessionRecord, SessionSummary};
use crate::storage::users::{self, AuthRow};

pub struct CurrentSession {
    pub id: String,
    pub record: SessionRecord,
    pub user: AuthRow,
}

pub fn session_token(req: &Request) -> Option<String> {
    let header = req.headers().get("Cookie").ok().flatten()?;
    cookies::find(&header, cookies::SESSION).filter(|t| tokens::looks_like_token(t)).map(str::to_string)
}

pub async fn current_session(req: &Request, app: &App) -> Result<CurrentSession, ApiError> {
    let token = session_token(req).ok_or(ApiError::Unauthenticated)?;
    let id = tokens::id_of(&token);
    let kv = app.kv()?;
    let mut record = sessions::get(&kv, &id).await?.ok_or(ApiError::Unauthenticated)?;
    if app.now >= record.ends_at(app.config.session_idle_seconds) {
        let user_id = record.user_id.clone();
        app.in_background(async move { sessions::delete(&kv, &user_id, &id).await });
        return Err(ApiError::Unauthenticated);
    }
    let user = users::auth_view(&app.db()?, &record.user_id, &id).await?.ok_or(ApiError::Unauthenticated)?;
    if user.session_revoked != 0 || record.issued_at < user.sessions_valid_after {
        let user_id = record.user_id.clone();
        app.in_background(async move { sessions::delete(&kv, &user_id, &id).await });
        return Err(ApiError::Unauthenticated);
    }
    if app.now.saturating_sub(record.summary.last_active_at) >= app.config.last_active_write_seconds {
        // Awaited, not in the background: a handler that writes the record next (confirm's sudo
        // window) must not be overwritten by this older copy. At most once per 5 minutes.
        record.summary.last_active_at = app.now;
        sessions::put(&kv, &id, &record, app.config.session_idle_seconds, app.now).await?;
    }
    Ok(CurrentSession { id, record, user })
}

/// Sensitive changes need a sign-in or password confirmation within the sudo window.
pub fn require_sudo(session: &CurrentSession, now: u64) -> Result<(), ApiError> {
    if session.record.sudo_until > now {
        Ok(())
    } else {
        Err(ApiError::ReauthRequired)
    }
}

/// A freshly issued session: the token goes to the cookie only; storage knows the id.
pub struct IssuedSession {
    pub token: String,
    pub record: SessionRecord,
}

impl IssuedSession {
    pub fn cookie(&self, app: &App) -> String {
        let max_age = self.record.ends_at(app.config.session_idle_seconds).saturating_sub(app.now);
        cookies::set(cookies::SESSION, &self.token, max_age)
    }
}

/// Starts a new session after a sign-in: a new token every time, sudo open.
pub async fn start(app: &App, user_id: &str, sign_in_method: &str) -> Result<IssuedSession, ApiError> {
    let device = user_agent::parse(&app.origin.user_agent);
    let summary = SessionSummary {
        device: serde_json::to_value(device.kind)?.as_str().unwrap_or("unknown").to_string(),
        browser: device.browser,
        os: device.os,
        ip: app.origin.ip.clone(),
        city: app.origin.city.clone(),
        country: app.origin.country.clone(),
        sign_in_method: sign_in_method.to_string(),
        issued_at: app.now,
        created_at: app.now,
        last_active_at: app.now,
        expires_at: app.now + app.config.session_absolute_seconds,
    };
    let record = SessionRecord {
        user_id: user_id.to_string(),
        issued_at: app.now,
        sudo_until: app.now + app.config.sudo_seconds,
        summary,
    };
    store(app, record).await
}

/// Replaces the caller's session with a new token carrying the same summary, after a change
/// that stamped `sessions_valid_after`: the device stays signed in, every older token is dead.
pub async fn reissue(app: &App, current: &CurrentSession) -> Result<IssuedSession, ApiError> {
    let mut record = current.record.clone();
    record.issued_at = app.now;
    record.summary.issued_at = app.now;
    record.summary.last_active_at = app.now;
    let issued = store(app, record).await?;
    sessions::delete(&app.kv()?, &current.record.user_id, &current.id).await?;
    Ok(issued)
}

async fn store(app: &App, record: SessionRecord) -> Result<IssuedSession, ApiError> {
    let token = tokens::new_token().map_err(|_| ApiError::Internal)?;
    let id = tokens::id_of(&token);
    sessions::put(&app.kv()?, &id, &record, app.config.session_idle_seconds, app.now).await?;
    Ok(IssuedSession { token, record })
}

/// Every session of the user except the caller's, as KV lists them, with their expiries: the
/// ids to write into `revoked_sessions` beside the `sessions_valid_after` stamp.
pub async fn other_sessions(app: &App, current: &CurrentSession) -> Result<Vec<(String, u64)>, ApiError> {
    Ok(sessions::list(&app.kv()?, &current.user.id)
        .await?
        .into_iter()
        .filter(|s| s.id != current.id)
        .map(|s| (s.id, s.summary.expires_at))
        .collect())
}

/// The rows for `revoked_sessions` when ending the others: theirs and the caller's old id, which
/// [`finish_ending_others`] replaces (a stamp in the same second would not end it).
pub fn revocation_rows(current: &CurrentSession, others: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut rows = others.to_vec();
    rows.push((current.id.clone(), current.record.summary.expires_at));
    rows
}

/// After D1 has ended the other sessions: removes their KV records and gives the caller a new
/// token, since the stamp ended the caller's old one too.
pub async fn finish_ending_others(
    app: &App,
    current: &CurrentSession,
    others: &[(String, u64)],
) -> Result<IssuedSession, ApiError> {
    let kv = app.kv()?;
    for (id, _) in others {
        sessions::delete(&kv, &current.user.id, id).await?;
    }
    reissue(app, current).await
}
