//! Accounts (`users`), the failed-attempt counter and the D1 side of session revocation.

use super::Db;
use serde::Deserialize;
use serde_json::json;
use worker::D1PreparedStatement;

use super::attempts::{self, Budget, Generations, Reservation};
use super::devices::{self, Trust};
use super::events::{self, EventType, NewEvent, Origin};
use super::precondition::Precondition;
use super::Error;
use super::Outcome;
use super::{int, text};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::throttle::ThrottlePolicy;

#[derive(Debug, Clone, Deserialize)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub totp_enabled_at: Option<u64>,
    pub password_generation: u64,
    pub session_generation: u64,
}

impl UserRow {
    pub fn two_factor_enabled(&self) -> bool {
        self.totp_enabled_at.is_some()
    }

    pub fn generations(&self) -> Generations {
        Generations { password: self.password_generation, session: self.session_generation }
    }
}

pub fn find_by_email_statement(db: &Db, email: &str) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare(
            "SELECT id, email, name, password_hash, totp_enabled_at, password_generation, session_generation \
             FROM users WHERE email = ?1",
        )
        .bind(&[text(email)])?)
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub now: u64,
}

/// Creates the account, records `account_created` and trusts the browser that signed up
/// (`trust`), unless the e-mail is taken (`LostRace`): the unique index settles races between two
/// sign-ups with the same address.
pub async fn create(db: &Db, user: &NewUser<'_>, origin: &Origin, trust: &Trust) -> Result<Outcome, Error> {
    let insert = db
        .prepare("INSERT INTO users (id, email, name, password_hash, password_changed_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (email) DO NOTHING")
        .bind(&[text(user.id), text(user.email), text(user.name), text(user.password_hash), int(user.now)])?;
    let created =
        NewEvent { user_id: user.id, kind: EventType::AccountCreated, at: user.now, origin, detail: json!({}) };
    let event = events::insert(db, &created, &Precondition::user_exists(user.id))?;
    let trusted = devices::trust(db, trust, &Precondition::user_exists(user.id))?;
    let results = run_batch(db, vec![insert, event, trusted]).await?;
    Ok(if changes(&results, 0) > 0 { Outcome::Applied } else { Outcome::LostRace })
}

/// The view of the signed-in user that every authenticated request needs, and whether the
/// session is revoked in D1: one query for both (SPEC §5.8).
#[derive(Debug, Clone, Deserialize)]
pub struct AuthRow {
    pub id: UserId,
    pub email: String,
    pub name: String,
    /// Read with the session so a password check needs no second query; never answered.
    pub password_hash: String,
    pub password_changed_at: u64,
    pub totp_enabled_at: Option<u64>,
    pub sessions_valid_after: u64,
    pub session_revoked: u32,
    pub recovery_codes_remaining: u32,
    pub passkeys: u32,
    /// The second factor's state (secrets encrypted), so checking a code needs no second read.
    pub totp_secret: Option<String>,
    pub totp_pending_secret: Option<String>,
    pub totp_last_step: u64,
    pub session_generation: u64,
    pub password_generation: u64,
}

impl AuthRow {
    pub fn generations(&self) -> Generations {
        Generations { password: self.password_generation, session: self.session_generation }
    }
}

/// What the session check reads in its one D1 round trip, besides the auth view.
#[derive(Default)]
pub struct CheckAlso {
    /// The ids D1 has revoked, for routes that list the user's sessions.
    pub revocations: bool,
    /// An attempt of the session at a secret, reserved in the same transaction while the session
    /// is live in D1, for routes that check one.
    pub attempt: Option<SessionAttempt>,
}

/// The session whose attempt [`CheckAlso::attempt`] reserves, as its KV record describes it.
pub struct SessionAttempt {
    pub session_generation: u64,
    pub issued_at: u64,
    pub policy: ThrottlePolicy,
    pub now: u64,
}

/// What the session check read.
pub struct Checked {
    pub user: Option<AuthRow>,
    pub revoked: Vec<SessionId>,
    /// `Some` when an attempt was asked for; `Stale` when the session is not live in D1.
    pub reservation: Option<Reservation>,
}

/// The session check (SPEC §5.8): the user's auth view and whether the session is revoked, with
/// what `also` asks for, in one round trip.
pub async fn check_session(db: &Db, user_id: &str, session_id: &str, also: CheckAlso) -> Result<Checked, Error> {
    let mut statements = vec![auth_view_statement(db, user_id, session_id)?];
    if also.revocations {
        statements.push(revoked_statement(db, user_id)?);
    }
    let attempt_at = statements.len();
    if let Some(attempt) = &also.attempt {
        let live = Precondition::session_live(user_id, session_id, attempt.session_generation, attempt.issued_at);
        let budget = Budget::Session(session_id.to_string());
        statements.extend(attempts::reserve_statements(db, &budget, user_id, &live, attempt.policy, attempt.now)?);
    }
    let results = super::batch(db, statements).await?;
    let user = attempts::first_of::<AuthRow>(&results, 0)?;
    let revoked = match also.revocations {
        true => results.get(1).map(|r| r.results::<RevokedId>()).transpose()?.unwrap_or_default(),
        false => Vec::new(),
    };
    let reservation = match &also.attempt {
        Some(attempt) => Some(attempts::reservation_in(&results, attempt_at, attempt.now)?),
        None => None,
    };
    Ok(Checked { user, revoked: revoked.into_iter().map(|r| r.session_id).collect(), reservation })
}

fn auth_view_statement(db: &Db, user_id: &str, session_id: &str) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare(
            "SELECT id, email, name, password_hash, password_changed_at, totp_enabled_at, \
             sessions_valid_after, totp_secret, totp_pending_secret, totp_last_step, \
             session_generation, password_generation, \
             EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = ?2) AS session_revoked, \
             (SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL) AS recovery_codes_remaining, \
             (SELECT COUNT(*) FROM passkeys WHERE user_id = ?1) AS passkeys \
             FROM users WHERE id = ?1",
        )
        .bind(&[text(user_id), text(session_id)])?)
}

/// Re-hashes a password with the configured parameters (SPEC §5.1) if the stored hash is still
/// the one that was verified: an upgrade can never overwrite a password changed in the meantime.
pub async fn upgrade_outdated_hash(db: &Db, user_id: &str, old_hash: &str, new_hash: &str) -> Result<(), Error> {
    run_batch(db, vec![upgrade_hash(db, user_id, old_hash, new_hash)?]).await?;
    Ok(())
}

fn upgrade_hash(db: &Db, user_id: &str, old_hash: &str, new_hash: &str) -> Result<D1PreparedStatement, Error> {
    Ok(db.prepare("UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2").bind(&[
        text(user_id),
        text(old_hash),
        text(new_hash),
    ])?)
}

pub(super) async fn run_batch(db: &Db, statements: Vec<D1PreparedStatement>) -> Result<Vec<worker::D1Result>, Error> {
    super::batch(db, statements).await
}

/// Number of rows the statement at `index` of a batch changed.
pub(super) fn changes(results: &[worker::D1Result], index: usize) -> usize {
    results.get(index).and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0)
}

/// Ends one session in D1 (the row is kept until the session would have expired anyway) and
/// records `event` with it, when there is one; ends the failure run of `run_ended` too, when the
/// session ends because it proved a secret (the sudo window opens on a new token).
pub async fn end_session(
    db: &Db,
    session_id: &str,
    expires_at: u64,
    event: Option<&NewEvent<'_>>,
    user_id: &str,
    run_ended: Option<&Budget>,
) -> Result<(), Error> {
    let revoke = db
        .prepare("INSERT INTO revoked_sessions (session_id, user_id, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (session_id) DO NOTHING")
        .bind(&[text(session_id), text(user_id), int(expires_at)])?;
    let mut statements = vec![revoke];
    if let Some(event) = event {
        statements.push(events::insert(db, event, &Precondition::always())?);
    }
    if let Some(budget) = run_ended {
        statements.push(attempts::reset(db, user_id, budget)?);
    }
    run_batch(db, statements).await?;
    Ok(())
}

/// Completes a sign-in verified under `generations`, only if they are still current: ends the
/// failure run of `budget`, trusts the browser (`trust`), records `event` (built with
/// [`Precondition::current`]) and replaces the hash with `upgrade` (old, new) when asked.
/// `LostRace` when a password change or "sign out other sessions" came in between.
pub async fn complete_sign_in(
    db: &Db,
    user_id: &str,
    generations: Generations,
    budget: &Budget,
    event: &NewEvent<'_>,
    upgrade: Option<(&str, &str)>,
    trust: &Trust,
) -> Result<super::Outcome, Error> {
    let current = Precondition::current(user_id, generations);
    let (reset, binds) = super::attempts::reset_when(user_id, budget);
    let mut statements = vec![current.statement(db, &reset, binds)?, devices::trust(db, trust, &current)?];
    if let Some((old, new)) = upgrade {
        statements.push(upgrade_hash(db, user_id, old, new)?);
    }
    statements.push(events::insert(db, event, &current)?);
    let results = run_batch(db, statements).await?;
    Ok(if changes(&results, results.len() - 1) > 0 { super::Outcome::Applied } else { super::Outcome::LostRace })
}

/// What a password change did.
pub enum PasswordChange {
    /// The new hash is stored; the user's generations are now these.
    Applied(Generations),
    /// The stored hash was no longer `old_hash`: another change won.
    LostRace,
}

/// Sets a new password hash if the stored one is still `old_hash` (so of two concurrent changes
/// exactly one wins), bumps `password_generation` (pending sign-ins and racing sign-ins under
/// the old password fail) and, when `end_sessions`, `session_generation` (every session ends);
/// ends the trust of every device but `keep_device` (the caller's own), clears the account's
/// strangers' failure run and the failure run of `budget` (the session that changed it) and
/// records `event`, all in one transaction.
pub async fn change_password(
    db: &Db,
    change: &NewPassword<'_>,
    event: &NewEvent<'_>,
    budget: &Budget,
) -> Result<PasswordChange, Error> {
    let update = db
        .prepare(
            "UPDATE users SET password_hash = ?3, password_changed_at = ?4, failed_attempts = 0, locked_until = 0, \
             password_generation = password_generation + 1, \
             session_generation = session_generation + CASE WHEN ?5 = 1 THEN 1 ELSE 0 END \
             WHERE id = ?1 AND password_hash = ?2 RETURNING password_generation, session_generation",
        )
        .bind(&[
            text(change.user_id),
            text(change.old_hash),
            text(change.new_hash),
            int(change.now),
            int(u64::from(change.end_sessions)),
        ])?;
    let changed = Precondition::password_hash_is(change.user_id, change.new_hash);
    let statements = vec![
        update,
        events::insert(db, event, &changed)?,
        super::attempts::reset(db, change.user_id, budget)?,
        devices::end_trust_of_others(db, change.user_id, change.keep_device, &changed)?,
    ];
    let results = run_batch(db, statements).await?;
    let row = results.first().map(|r| r.results::<GenerationsRow>()).transpose()?.and_then(|r| r.into_iter().next());
    Ok(match row {
        Some(g) => {
            PasswordChange::Applied(Generations { password: g.password_generation, session: g.session_generation })
        }
        None => PasswordChange::LostRace,
    })
}

pub struct NewPassword<'a> {
    pub user_id: &'a str,
    pub old_hash: &'a str,
    pub new_hash: &'a str,
    pub now: u64,
    pub end_sessions: bool,
    /// The caller's own trusted device (its cookie's id), which stays trusted.
    pub keep_device: Option<&'a str>,
}

#[derive(Deserialize)]
struct GenerationsRow {
    password_generation: u64,
    session_generation: u64,
}

/// Ends every session of the user by moving on from session generation `from` to `from + 1`, with
/// its event, and the trust of every device but `keep_device` (the caller's own); `LostRace` when
/// the generation had moved on already (the caller's own session ended with it). The next
/// generation is known before the batch, so the caller's new session can be stored while it runs.
pub async fn end_all_sessions(
    db: &Db,
    user_id: &str,
    from: u64,
    event: &NewEvent<'_>,
    keep_device: Option<&str>,
) -> Result<Outcome, Error> {
    let guard = Precondition::session_generation_is(user_id, from);
    let untrust = devices::end_trust_of_others(db, user_id, keep_device, &guard)?;
    let event = events::insert(db, event, &guard)?;
    let bump = guard.statement(
        db,
        "UPDATE users SET session_generation = session_generation + 1 WHERE id = ?1 AND {pre} RETURNING id",
        vec![text(user_id)],
    )?;
    let results = run_batch(db, vec![untrust, event, bump]).await?;
    let bumped =
        results.get(2).map(|r| r.results::<serde_json::Value>()).transpose()?.is_some_and(|rows| !rows.is_empty());
    Ok(if bumped { Outcome::Applied } else { Outcome::LostRace })
}

#[derive(Deserialize)]
struct RevokedId {
    session_id: SessionId,
}

/// Ids of the user's sessions that D1 has ended (kept until they would have expired).
pub async fn revoked_session_ids(db: &Db, user_id: &str) -> Result<Vec<SessionId>, Error> {
    let rows: Vec<RevokedId> = super::all(revoked_statement(db, user_id)?).await?;
    Ok(rows.into_iter().map(|r| r.session_id).collect())
}

fn revoked_statement(db: &Db, user_id: &str) -> Result<D1PreparedStatement, Error> {
    Ok(db.prepare("SELECT session_id FROM revoked_sessions WHERE user_id = ?1").bind(&[text(user_id)])?)
}
