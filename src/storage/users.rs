//! Accounts (`users`), the failed-attempt counter and the D1 side of session revocation.

use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

use super::{int, text};
use crate::http::ApiError;

#[derive(Debug, Clone, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub totp_enabled_at: Option<u64>,
    pub locked_until: u64,
}

impl UserRow {
    pub fn two_factor_enabled(&self) -> bool {
        self.totp_enabled_at.is_some()
    }
}

const USER_COLUMNS: &str = "id, email, name, password_hash, totp_enabled_at, locked_until";

pub async fn find_by_email(db: &D1Database, email: &str) -> Result<Option<UserRow>, ApiError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1");
    super::first(db.prepare(sql).bind(&[text(email)])?).await
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub now: u64,
}

/// Inserts the account unless the e-mail is taken; `false` when it was. The unique index
/// settles races between two sign-ups with the same address.
pub fn insert(db: &D1Database, user: &NewUser<'_>) -> Result<D1PreparedStatement, ApiError> {
    Ok(db
        .prepare("INSERT INTO users (id, email, name, password_hash, password_changed_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (email) DO NOTHING")
        .bind(&[text(user.id), text(user.email), text(user.name), text(user.password_hash), int(user.now)])?)
}

/// The view of the signed-in user that every authenticated request needs, and whether the
/// session is revoked in D1: one query for both (SPEC §5.8).
#[derive(Debug, Clone, Deserialize)]
pub struct AuthRow {
    pub id: String,
    pub email: String,
    pub name: String,
    /// Read with the session so a password check needs no second query; never answered.
    pub password_hash: String,
    pub password_changed_at: u64,
    pub locked_until: u64,
    pub totp_enabled_at: Option<u64>,
    pub sessions_valid_after: u64,
    pub session_revoked: u32,
    pub recovery_codes_remaining: u32,
    /// The second factor's state (secrets encrypted), so checking a code needs no second read.
    pub totp_secret: Option<String>,
    pub totp_pending_secret: Option<String>,
    pub totp_last_step: u64,
}

pub async fn auth_view(db: &D1Database, user_id: &str, session_id: &str) -> Result<Option<AuthRow>, ApiError> {
    super::first(
        db.prepare(
            "SELECT id, email, name, password_hash, password_changed_at, totp_enabled_at, locked_until, \
             sessions_valid_after, totp_secret, totp_pending_secret, totp_last_step, \
             EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = ?2) AS session_revoked, \
             (SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL) AS recovery_codes_remaining \
             FROM users WHERE id = ?1",
        )
        .bind(&[text(user_id), text(session_id)])?,
    )
    .await
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct FailureCount {
    pub locked_until: u64,
}

/// Counts one more failure in a row and, from the `threshold`-th on, locks the account for
/// `schedule[failures - threshold]` seconds (the last entry for anything beyond): one atomic
/// statement, so a burst of parallel guesses cannot slip past the lock. `RETURNING` answers the
/// lock (read it with [`failure_count`]).
pub fn count_failure(
    db: &D1Database,
    user_id: &str,
    now: u64,
    threshold: u32,
    schedule: &[u64],
) -> Result<D1PreparedStatement, ApiError> {
    let last = schedule.len().saturating_sub(1);
    Ok(db
        .prepare(
            "UPDATE users SET failed_attempts = failed_attempts + 1, locked_until = CASE \
               WHEN failed_attempts + 1 >= ?3 THEN MAX(locked_until, ?2 + \
                 json_extract(?4, '$[' || CAST(MIN(failed_attempts + 1 - ?3, ?5) AS INTEGER) || ']')) \
               ELSE locked_until END \
             WHERE id = ?1 RETURNING locked_until",
        )
        .bind(&[
            text(user_id),
            int(now),
            int(threshold.into()),
            text(&serde_json::json!(schedule).to_string()),
            int(last as u64),
        ])?)
}

pub fn failure_count(result: &worker::D1Result) -> Result<Option<FailureCount>, ApiError> {
    Ok(result.results::<FailureCount>()?.into_iter().next())
}

pub fn reset_failures(db: &D1Database, user_id: &str) -> Result<D1PreparedStatement, ApiError> {
    Ok(db
        .prepare("UPDATE users SET failed_attempts = 0, locked_until = 0 WHERE id = ?1 AND (failed_attempts != 0 OR locked_until != 0)")
        .bind(&[text(user_id)])?)
}

/// Replaces the hash only if it is still the one that was verified, so an upgrade can never
/// overwrite a password changed in the meantime.
pub fn upgrade_hash(
    db: &D1Database,
    user_id: &str,
    old_hash: &str,
    new_hash: &str,
) -> Result<D1PreparedStatement, ApiError> {
    Ok(db.prepare("UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2").bind(&[
        text(user_id),
        text(old_hash),
        text(new_hash),
    ])?)
}

pub async fn run_batch(
    db: &D1Database,
    statements: Vec<D1PreparedStatement>,
) -> Result<Vec<worker::D1Result>, ApiError> {
    super::batch(db, statements).await
}

/// Number of rows the statement at `index` of a batch changed.
pub fn changes(results: &[worker::D1Result], index: usize) -> usize {
    results.get(index).and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0)
}

/// Ends one session in D1; the row is kept until the session would have expired anyway.
pub fn revoke_session(
    db: &D1Database,
    session_id: &str,
    user_id: &str,
    expires_at: u64,
) -> Result<D1PreparedStatement, ApiError> {
    Ok(db
        .prepare("INSERT INTO revoked_sessions (session_id, user_id, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (session_id) DO NOTHING")
        .bind(&[text(session_id), text(user_id), int(expires_at)])?)
}

/// A condition that later statements of a batch check, so they take effect only together with
/// the write they belong to.
pub enum Guard<'a> {
    /// The user row exists (it was just inserted).
    UserExists,
    /// The user's password hash is this one (it was just written).
    PasswordHashIs(&'a str),
    /// The account is locked past this time (a failure just locked it).
    LockedSince(u64),
}

impl Guard<'_> {
    /// SQL for the condition, with `user` and `value` as the placeholders to use.
    pub fn condition(&self, user: &str, value: &str) -> String {
        match self {
            Self::UserExists => format!("EXISTS (SELECT 1 FROM users WHERE id = {user} AND {value} IS NOT NULL)"),
            Self::PasswordHashIs(_) => {
                format!("EXISTS (SELECT 1 FROM users WHERE id = {user} AND password_hash = {value})")
            }
            Self::LockedSince(_) => {
                format!("EXISTS (SELECT 1 FROM users WHERE id = {user} AND locked_until > CAST({value} AS INTEGER))")
            }
        }
    }

    pub fn value(&self) -> String {
        match self {
            Self::UserExists => String::new(),
            Self::PasswordHashIs(hash) => hash.to_string(),
            Self::LockedSince(time) => time.to_string(),
        }
    }
}

/// Sets a new password hash if the stored one is still `old_hash` (so of two concurrent changes
/// exactly one wins), clears the failure count and, when asked, ends every session issued before now.
pub fn change_password(
    db: &D1Database,
    user_id: &str,
    old_hash: &str,
    new_hash: &str,
    now: u64,
    end_sessions: bool,
) -> Result<D1PreparedStatement, ApiError> {
    Ok(db
        .prepare(
            "UPDATE users SET password_hash = ?3, password_changed_at = ?4, failed_attempts = 0, locked_until = 0, \
             sessions_valid_after = CASE WHEN ?5 = 1 THEN ?4 ELSE sessions_valid_after END \
             WHERE id = ?1 AND password_hash = ?2",
        )
        .bind(&[text(user_id), text(old_hash), text(new_hash), int(now), int(u64::from(end_sessions))])?)
}

/// Ends every session issued before `now` in one write; the caller's own is re-issued after.
pub fn end_sessions_issued_before(db: &D1Database, user_id: &str, now: u64) -> Result<D1PreparedStatement, ApiError> {
    Ok(db
        .prepare("UPDATE users SET sessions_valid_after = MAX(sessions_valid_after, ?2) WHERE id = ?1")
        .bind(&[text(user_id), int(now)])?)
}

/// Revocation rows for many sessions in one statement (ids as a JSON array), optionally only
/// if `guard` holds. Rows cover sessions issued in the same second as the stamp.
pub fn revoke_sessions(
    db: &D1Database,
    user_id: &str,
    sessions: &[(String, u64)],
    guard: Option<&Guard<'_>>,
) -> Result<D1PreparedStatement, ApiError> {
    let rows: Vec<serde_json::Value> =
        sessions.iter().map(|(id, expires_at)| serde_json::json!([id, expires_at])).collect();
    let condition = guard.map_or_else(|| "1".to_string(), |g| g.condition("?1", "?3"));
    let sql = format!(
        "INSERT INTO revoked_sessions (session_id, user_id, expires_at) \
         SELECT json_extract(value, '$[0]'), ?1, json_extract(value, '$[1]') FROM json_each(?2) WHERE {condition} \
         ON CONFLICT (session_id) DO NOTHING"
    );
    let mut binds = vec![text(user_id), text(&serde_json::Value::from(rows).to_string())];
    if let Some(g) = guard {
        binds.push(text(&g.value()));
    }
    Ok(db.prepare(sql).bind(&binds)?)
}

#[derive(Deserialize)]
struct RevokedId {
    session_id: String,
}

/// Ids of the user's sessions that D1 has ended (kept until they would have expired).
pub async fn revoked_session_ids(db: &D1Database, user_id: &str) -> Result<Vec<String>, ApiError> {
    let rows: Vec<RevokedId> =
        super::all(db.prepare("SELECT session_id FROM revoked_sessions WHERE user_id = ?1").bind(&[text(user_id)])?)
            .await?;
    Ok(rows.into_iter().map(|r| r.session_id).collect())
}
