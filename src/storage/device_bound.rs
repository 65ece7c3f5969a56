//! Device-bound sessions in D1 (`session_bindings`, issue 25): binding a session to a key, in
//! one batch that spends the registration's challenge and is guarded by the session being live,
//! and renewing it, in one that spends the refresh's challenge. Challenges themselves are KV's
//! (`passkeys::put_challenge`, purposes `BindSession` and `RefreshSession`).

use serde::Deserialize;
use worker::D1PreparedStatement;

use super::events::{self, NewEvent};
use super::passkeys::Spend;
use super::precondition::Precondition;
use super::users;
use super::{int, text, Db, Error};

/// A session's binding, as stored.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct BindingRow {
    pub session_id: String,
    pub user_id: String,
    pub dbsc_id: String,
    pub public_key: String,
    pub thumbprint: String,
    pub bound_at: u64,
    pub refreshed_at: Option<u64>,
}

/// A binding to store, for a session that must still be live (its generation and issue time).
pub struct NewBinding<'a> {
    pub session_id: &'a str,
    pub user_id: &'a str,
    pub session_generation: u64,
    pub issued_at: u64,
    pub dbsc_id: &'a str,
    pub public_key: &'a str,
    pub thumbprint: &'a str,
    pub now: u64,
    pub expires_at: u64,
}

/// What binding a session came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Bound,
    /// The registration's challenge was answered already.
    ChallengeSpent,
    /// The session is bound already, or ended meanwhile.
    Refused,
}

fn session_live(new: &NewBinding<'_>) -> Precondition {
    Precondition::new(
        "EXISTS (SELECT 1 FROM users WHERE id = ? AND session_generation = ? AND sessions_valid_after <= ? \
         AND NOT EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = ?))",
        vec![text(new.user_id), int(new.session_generation), int(new.issued_at), text(new.session_id)],
    )
}

pub async fn bind(db: &Db, new: &NewBinding<'_>, spend: &Spend<'_>, event: &NewEvent<'_>) -> Result<Binding, Error> {
    let pre = spend.precondition().and(session_live(new));
    let insert = pre.statement(
        db,
        "INSERT INTO session_bindings (session_id, user_id, dbsc_id, public_key, thumbprint, bound_at, expires_at) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE {pre} ON CONFLICT (session_id) DO NOTHING",
        vec![
            text(new.session_id),
            text(new.user_id),
            text(new.dbsc_id),
            text(new.public_key),
            text(new.thumbprint),
            int(new.now),
            int(new.expires_at),
        ],
    )?;
    let stored = Precondition::new(
        "EXISTS (SELECT 1 FROM session_bindings WHERE session_id = ? AND dbsc_id = ?)",
        vec![text(new.session_id), text(new.dbsc_id)],
    );
    let statements = vec![spend.statement(db, new.now)?, insert, events::insert(db, event, &stored)?];
    let results = users::run_batch(db, statements).await?;
    Ok(match (users::changes(&results, 0), users::changes(&results, 1)) {
        (0, _) => Binding::ChallengeSpent,
        (_, 0) => Binding::Refused,
        _ => Binding::Bound,
    })
}

pub async fn find(db: &Db, session_id: &str) -> Result<Option<BindingRow>, Error> {
    super::first(by_session(db, session_id)?).await
}

fn by_session(db: &Db, session_id: &str) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare(
            "SELECT session_id, user_id, dbsc_id, public_key, thumbprint, bound_at, refreshed_at \
             FROM session_bindings WHERE session_id = ?1",
        )
        .bind(&[text(session_id)])?)
}

/// Spends a refresh's challenge and notes the refresh; false: the challenge was answered already.
pub async fn refresh(db: &Db, session_id: &str, spend: &Spend<'_>, now: u64) -> Result<bool, Error> {
    let note = spend.precondition().statement(
        db,
        "UPDATE session_bindings SET refreshed_at = ?2 WHERE session_id = ?1 AND {pre}",
        vec![text(session_id), int(now)],
    )?;
    let results = users::run_batch(db, vec![spend.statement(db, now)?, note]).await?;
    Ok(users::changes(&results, 0) > 0)
}

/// The ids of the user's bound sessions (the session list marks them).
pub fn bound_ids_statement(db: &Db, user_id: &str) -> Result<D1PreparedStatement, Error> {
    Ok(db.prepare("SELECT session_id FROM session_bindings WHERE user_id = ?1").bind(&[text(user_id)])?)
}

/// Drops bindings of sessions past their absolute end.
pub fn prune(db: &Db, now: u64) -> Result<D1PreparedStatement, Error> {
    Ok(db.prepare("DELETE FROM session_bindings WHERE expires_at < ?1").bind(&[int(now)])?)
}
