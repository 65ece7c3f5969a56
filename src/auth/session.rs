//! Sessions from the request's point of view. A session is live only if KV has it, it is within
//! its idle and absolute lifetime, D1 has not revoked its id, and the user's `session_generation`
//! is still the one it was authenticated under (SPEC §5.8): a stale KV copy at some edge is
//! therefore never enough, and a sign-in that raced "sign out other sessions" or a password
//! change holds a session of a past generation.

use futures_util::future::{join, join3};
use worker::Request;

use crate::app::{App, ReservedAttempt};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::{tokens, user_agent};
use crate::http::{cookies, ApiError};
use crate::storage::attempts::{Budget, Generations};
use crate::storage::sessions::{self, SessionRecord, SessionSummary};
use crate::storage::users::{self, AuthRow, CheckAlso, Checked, SessionAttempt};

pub struct CurrentSession {
    pub id: SessionId,
    pub record: SessionRecord,
    pub user: AuthRow,
    /// The user's sessions as KV listed them and the ids D1 has revoked, read at the same time as
    /// the session check, for routes that list sessions ([`live_others`]).
    pub others_read: Option<OthersRead>,
}

pub struct OthersRead {
    listed: Vec<sessions::ListedSession>,
    revoked: Vec<SessionId>,
}

pub fn session_token(req: &Request) -> Option<String> {
    let header = req.headers().get("Cookie").ok().flatten()?;
    cookies::find(&header, cookies::SESSION).filter(|t| tokens::looks_like_session_cookie(t)).map(str::to_string)
}

pub async fn current_session(req: &Request, app: &App) -> Result<CurrentSession, ApiError> {
    current_session_with(req, app, WithCheck::default()).await
}

/// What a route reads or reserves in the same round trips as its session check.
#[derive(Debug, Clone, Copy, Default)]
pub struct WithCheck {
    /// The user's sessions (KV list) and the ids D1 has revoked, for [`live_others`].
    pub list_others: bool,
    /// An attempt of this session at a secret (password, code), for
    /// [`crate::account::attempts::Attempt::by_session`]: the KV record is read first, then one D1
    /// batch checks the session and reserves the attempt, only while the session is live.
    pub reserve_attempt: bool,
}

/// [`current_session`], with what `with` asks for. When the cookie names the user, the KV
/// record and D1's verdict are read at the same time; what was read for a session that turns
/// out not to be live is dropped unanswered.
pub async fn current_session_with(req: &Request, app: &App, with: WithCheck) -> Result<CurrentSession, ApiError> {
    let token = session_token(req).ok_or(ApiError::Unauthenticated)?;
    let id = tokens::id_of(&token);
    let (kv, db) = (app.kv()?, app.db()?);
    let named = tokens::user_named_by(&token);
    let also = |attempt| CheckAlso { revocations: with.list_others, attempt };
    let list = |user_id: &str| list_if(with.list_others, &kv, UserId::new(user_id));
    let (record, checked, listed) = match named {
        Some(user_id) if !with.reserve_attempt => {
            let (record, checked, listed) =
                join3(sessions::get(&kv, &id), users::check_session(&db, user_id, &id, also(None)), list(user_id))
                    .await;
            (record?.filter(|r| *r.user_id == *user_id), Some(checked?), listed?)
        }
        _ => match sessions::get(&kv, &id).await?.filter(|r| named.is_none_or(|user_id| *r.user_id == *user_id)) {
            Some(record) => {
                // An expired record is refused below: nothing to count for it.
                let live = app.now < record.ends_at(app.config.session_idle_seconds);
                let attempt = (with.reserve_attempt && live).then_some(SessionAttempt {
                    session_generation: record.generations.session,
                    issued_at: record.issued_at,
                    policy: app.config.throttle,
                    now: app.now,
                });
                let user_id = record.user_id.clone();
                let (checked, listed) =
                    join(users::check_session(&db, &user_id, &id, also(attempt)), list(&user_id)).await;
                (Some(record), Some(checked?), listed?)
            }
            None => (None, None, None),
        },
    };
    let (user, revoked, reservation) = match checked {
        Some(Checked { user, revoked, reservation }) => (user, revoked, reservation),
        None => (None, Vec::new(), None),
    };
    if let (Some(reservation), Some(record)) = (reservation, &record) {
        let budget = Budget::Session(id.to_string());
        app.hold_reserved_attempt(ReservedAttempt { user_id: record.user_id.to_string(), budget, reservation });
    }
    let mut record = record.ok_or(ApiError::Unauthenticated)?;
    if app.now >= record.ends_at(app.config.session_idle_seconds) {
        let user_id = record.user_id.clone();
        app.in_background(async move { sessions::delete(&kv, &user_id, &id).await });
        return Err(ApiError::Unauthenticated);
    }
    let user = user.ok_or(ApiError::Unauthenticated)?;
    let ended = user.session_revoked != 0
        || record.issued_at < user.sessions_valid_after
        || record.generations.session != user.session_generation;
    if ended {
        let user_id = record.user_id.clone();
        app.in_background(async move { sessions::delete(&kv, &user_id, &id).await });
        return Err(ApiError::Unauthenticated);
    }
    if app.now.saturating_sub(record.summary.last_active_at) >= app.config.last_active_write_seconds {
        // Awaited, not in the background: a handler that writes the record next (confirm's sudo
        // window) must not be overwritten by this older copy. At most once per 5 minutes.
        record.summary.last_active_at = app.now;
        sessions::put(&kv, &id, &record, app.config.session_idle_seconds, app.now).await?;
        // The cookie's Max-Age slides with the record's idle expiry (SPEC §3).
        let max_age = record.ends_at(app.config.session_idle_seconds).saturating_sub(app.now);
        app.refresh_cookie(cookies::set(cookies::SESSION, &token, max_age));
    }
    let others_read = listed.map(|listed| OthersRead { listed, revoked });
    Ok(CurrentSession { id, record, user, others_read })
}

/// The user's sessions as KV lists them, when `wanted`.
async fn list_if(
    wanted: bool,
    kv: &worker::KvStore,
    user_id: UserId,
) -> Result<Option<Vec<sessions::ListedSession>>, crate::storage::Error> {
    match wanted {
        true => sessions::list(kv, &user_id).await.map(Some),
        false => Ok(None),
    }
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
pub async fn start(
    app: &App,
    user_id: &str,
    sign_in_method: &str,
    generations: Generations,
) -> Result<IssuedSession, ApiError> {
    let device = user_agent::parse_with_hints(&app.origin.user_agent, &app.client_hints);
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
        session_generation: generations.session,
    };
    let record = SessionRecord {
        user_id: UserId::new(user_id),
        issued_at: app.now,
        generations,
        sudo_until: app.now + app.config.sudo_seconds,
        summary,
    };
    store(app, record).await
}

/// The token a session will be re-issued on, made before the D1 write that hands the old id
/// over to it (`storage::revocations::Handover`), so the write can name its successor.
pub struct NextToken {
    token: String,
    pub id: SessionId,
}

pub fn next_token(user_id: &UserId) -> Result<NextToken, ApiError> {
    let random = tokens::new_token().map_err(|error| ApiError::internal("a session token", error))?;
    let token = tokens::session_cookie_value(user_id, &random);
    Ok(NextToken { id: tokens::id_of(&token), token })
}

/// Replaces the caller's session with `next`, carrying the same summary, under `generations`,
/// with the sudo window until `sudo_until`. The old token must already be dead in D1 (handed
/// over, or of a past generation); its KV records go in the background.
pub async fn reissue(
    app: &App,
    current: &CurrentSession,
    next: NextToken,
    generations: Generations,
    sudo_until: u64,
) -> Result<IssuedSession, ApiError> {
    let mut record = current.record.clone();
    record.issued_at = app.now;
    record.generations = generations;
    record.sudo_until = sudo_until;
    record.summary.issued_at = app.now;
    record.summary.last_active_at = app.now;
    record.summary.session_generation = generations.session;
    sessions::put(&app.kv()?, &next.id, &record, app.config.session_idle_seconds, app.now).await?;
    forget_in_background(app, &current.user.id, vec![current.id.clone()]);
    Ok(IssuedSession { token: next.token, record })
}

/// Removes ended sessions' KV records after the response: D1 already refuses them everywhere.
pub fn forget_in_background(app: &App, user_id: &UserId, ids: Vec<SessionId>) {
    if ids.is_empty() {
        return;
    }
    let (kv, user_id) = (app.kv(), user_id.clone());
    app.in_background(async move {
        let kv = kv?;
        for id in ids {
            sessions::delete(&kv, &user_id, &id).await?;
        }
        Ok::<(), ApiError>(())
    });
}

async fn store(app: &App, record: SessionRecord) -> Result<IssuedSession, ApiError> {
    let next = next_token(&record.user_id)?;
    sessions::put(&app.kv()?, &next.id, &record, app.config.session_idle_seconds, app.now).await?;
    Ok(IssuedSession { token: next.token, record })
}

/// The user's other sessions that still work, most recently active first: what KV lists, less
/// what D1 has ended (KV may still list those) and what has run out of time (KV drops those
/// late). One KV list and one D1 query.
pub async fn live_others(app: &App, current: &CurrentSession) -> Result<Vec<sessions::ListedSession>, ApiError> {
    let read;
    let (listed, revoked) = match &current.others_read {
        Some(others) => (&others.listed, &others.revoked),
        None => {
            let (kv, db) = (app.kv()?, app.db()?);
            let (listed, revoked) =
                join(sessions::list(&kv, &current.user.id), users::revoked_session_ids(&db, &current.user.id)).await;
            read = (listed?, revoked?);
            (&read.0, &read.1)
        }
    };
    let idle = app.config.session_idle_seconds;
    let user = &current.user;
    let mut live: Vec<sessions::ListedSession> = listed
        .iter()
        .filter(|s| s.id != current.id && !revoked.contains(&s.id))
        .filter(|s| s.summary.session_generation == user.session_generation)
        .filter(|s| s.summary.issued_at >= user.sessions_valid_after && s.summary.ends_at(idle) > app.now)
        .cloned()
        .collect();
    live.sort_by_key(|s| std::cmp::Reverse(s.summary.last_active_at));
    Ok(live)
}
