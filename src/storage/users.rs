//! Accounts (`users`), the failed-attempt counter and the D1 side of session revocation.

use super::Db;
use serde::Deserialize;
use serde_json::json;
use worker::D1PreparedStatement;

use super::attempts::{self, Budget, Generations, Reservation};
use super::devices::{self, Trust};
use super::events::{self, EventType, NewEvent, Origin, SignInRow};
use super::precondition::Precondition;
use super::revocations::{self, Handover};
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

/// SQL for the id of the account an address names, with its normal form bound at `?{normal}` and
/// its legacy form at `?{legacy}` (`domain::email::Lookup`): an account stored before addresses
/// were normalised is found by the form it was stored in; the normal form wins if both exist.
pub(super) fn account_by_email(normal: usize, legacy: usize) -> String {
    format!("(SELECT id FROM users WHERE email IN (?{normal}, ?{legacy}) ORDER BY email = ?{normal} DESC LIMIT 1)")
}

pub struct NewUser<'a> {
    pub id: &'a str,
    /// The normal form, stored.
    pub email: &'a str,
    /// The legacy form of the address as typed: no account may hold it either.
    pub legacy_email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub now: u64,
}

/// Creates the account, records `account_created` and trusts the browser that signed up
/// (`trust`), unless the e-mail is taken (`LostRace`) in its normal or its legacy form: the unique
/// index settles races between two sign-ups with the same address, the guard an account stored
/// before addresses were normalised.
pub async fn create(db: &Db, user: &NewUser<'_>, origin: &Origin, trust: &Trust) -> Result<Outcome, Error> {
    let insert = db
        .prepare(
            "INSERT INTO users (id, email, name, password_hash, password_changed_at, created_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?5 WHERE NOT EXISTS (SELECT 1 FROM users WHERE email IN (?2, ?6)) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(&[
            text(user.id),
            text(user.email),
            text(user.name),
            text(user.password_hash),
            int(user.now),
            text(user.legacy_email),
        ])?;
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
    pub email_verified: u32,
    pub new_sign_in_alerts: u32,
    /// How often the current password was seen in breaches, as a sign-in found (None: not found).
    pub password_breached_count: Option<u64>,
    /// When this session was bound to a device key (DBSC), if it is.
    #[serde(default)]
    pub bound_at: Option<u64>,
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
    /// The user's sign-ins since then (their flags), for routes that show them.
    pub sign_ins_since: Option<u64>,
    /// How many of the user's trusted devices were last used before then, for the checkup.
    pub devices_unused_before: Option<u64>,
}

/// The session whose attempt [`CheckAlso::attempt`] reserves, as its KV record describes it.
pub struct SessionAttempt {
    pub session_generation: u64,
    pub issued_at: u64,
    pub policy: ThrottlePolicy,
    pub now: u64,
}

/// What the session check read.
#[derive(Default)]
pub struct Checked {
    pub user: Option<AuthRow>,
    pub revoked: Vec<SessionId>,
    /// The user's sessions bound to a device key (read with `revoked`).
    pub bound: Vec<SessionId>,
    /// `Some` when an attempt was asked for; `Stale` when the session is not live in D1.
    pub reservation: Option<Reservation>,
    /// `Some` when [`CheckAlso::sign_ins_since`] asked for them.
    pub sign_ins: Option<Vec<SignInRow>>,
    /// `Some` when [`CheckAlso::devices_unused_before`] asked for it.
    pub unused_devices: Option<u32>,
}

/// The session check (SPEC §5.8): the user's auth view and whether the session is revoked, with
/// what `also` asks for, in one round trip.
pub async fn check_session(db: &Db, user_id: &str, session_id: &str, also: CheckAlso) -> Result<Checked, Error> {
    let mut statements = vec![auth_view_statement(db, user_id, session_id)?];
    let revoked_at = also.revocations.then_some(statements.len());
    if also.revocations {
        statements.push(revoked_statement(db, user_id)?);
        statements.push(super::device_bound::bound_ids_statement(db, user_id)?);
    }
    let sign_ins_at = also.sign_ins_since.map(|_| statements.len());
    if let Some(since) = also.sign_ins_since {
        statements.push(events::sign_ins_statement(db, user_id, since)?);
    }
    let unused_at = also.devices_unused_before.map(|_| statements.len());
    if let Some(before) = also.devices_unused_before {
        statements.push(devices::unused_statement(db, user_id, before)?);
    }
    let attempt_at = statements.len();
    if let Some(attempt) = &also.attempt {
        let live = Precondition::session_live(user_id, session_id, attempt.session_generation, attempt.issued_at);
        let budget = Budget::Session(session_id.to_string());
        statements.extend(attempts::reserve_statements(db, &budget, user_id, &live, attempt.policy, attempt.now)?);
    }
    let results = super::batch(db, statements).await?;
    let ids = |index: Option<usize>| -> Result<Vec<SessionId>, Error> {
        let rows: Vec<RevokedId> = all_at(&results, index)?.unwrap_or_default();
        Ok(rows.into_iter().map(|r| r.session_id).collect())
    };
    let reservation = match &also.attempt {
        Some(attempt) => Some(attempts::reservation_in(&results, attempt_at, attempt.now)?),
        None => None,
    };
    Ok(Checked {
        user: attempts::first_of::<AuthRow>(&results, 0)?,
        revoked: ids(revoked_at)?,
        bound: ids(revoked_at.map(|i| i + 1))?,
        reservation,
        sign_ins: all_at(&results, sign_ins_at)?,
        unused_devices: all_at(&results, unused_at)?
            .map(|counted: Vec<super::Count>| counted.first().map_or(0, |c| c.n)),
    })
}

/// Every row of the statement at `index` of a batch, if one was asked for.
fn all_at<T: serde::de::DeserializeOwned>(
    results: &[worker::D1Result],
    index: Option<usize>,
) -> Result<Option<Vec<T>>, Error> {
    let rows = index.map(|i| results.get(i).map(|r| r.results::<T>()).transpose());
    Ok(rows.transpose()?.map(Option::unwrap_or_default))
}

fn auth_view_statement(db: &Db, user_id: &str, session_id: &str) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare(
            "SELECT id, email, name, password_hash, password_changed_at, totp_enabled_at, \
             sessions_valid_after, totp_secret, totp_pending_secret, totp_last_step, \
             session_generation, password_generation, \
             email_verified_at IS NOT NULL AS email_verified, new_sign_in_alerts, password_breached_count, \
             EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = ?2) AS session_revoked, \
             (SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL) AS recovery_codes_remaining, \
             (SELECT COUNT(*) FROM passkeys WHERE user_id = ?1) AS passkeys, \
             (SELECT bound_at FROM session_bindings WHERE session_id = ?2) AS bound_at \
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

/// Ends one session in D1, and every session it was handed over to (see [`revocations`]), with
/// `event` when there is one.
pub async fn end_session(
    db: &Db,
    session_id: &str,
    user_id: &str,
    expires_at: u64,
    event: Option<&NewEvent<'_>>,
) -> Result<(), Error> {
    let mut statements = vec![
        revocations::revoke(db, session_id, user_id, expires_at)?,
        revocations::revoke_successors(db, session_id, user_id, expires_at)?,
    ];
    if let Some(event) = event {
        statements.push(events::insert(db, event, &Precondition::always())?);
    }
    run_batch(db, statements).await?;
    Ok(())
}

#[derive(Deserialize)]
struct HandedOver {
    handed_over: u32,
}

/// Ends the sessions a session of `user_id` that is already revoked was handed over to (its
/// device confirmed it's you, say, while the list showing it was open), with `event`;
/// `LostRace` when D1 knows no such handover (an unknown or foreign id).
pub async fn end_successors(
    db: &Db,
    session_id: &str,
    user_id: &str,
    expires_at: u64,
    event: &NewEvent<'_>,
) -> Result<Outcome, Error> {
    let handed = Precondition::new(
        "EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = ? AND user_id = ? AND successor_id IS NOT NULL)",
        vec![text(session_id), text(user_id)],
    );
    let statements = vec![
        revocations::was_handed_over(db, session_id, user_id)?,
        events::insert(db, event, &handed)?,
        revocations::revoke_successors(db, session_id, user_id, expires_at)?,
    ];
    let results = run_batch(db, statements).await?;
    let handed: Option<HandedOver> = attempts::first_of(&results, 0)?;
    Ok(if handed.is_some_and(|h| h.handed_over != 0) { Outcome::Applied } else { Outcome::LostRace })
}

/// Hands the session over to its successor (see [`revocations::Handover`]) and, when it was
/// re-issued because it proved a secret, ends the failure run of `run_ended` with it;
/// `LostRace` when the session was revoked first.
pub async fn hand_over(db: &Db, handover: &Handover<'_>, run_ended: Option<&Budget>) -> Result<Outcome, Error> {
    let mut statements = vec![handover.statement(db, &Precondition::always())?];
    if let Some(budget) = run_ended {
        let (reset, binds) = attempts::reset_when(handover.user_id, budget);
        statements.push(handover.done().statement(db, &reset, binds)?);
    }
    let results = run_batch(db, statements).await?;
    Ok(if changes(&results, 0) > 0 { Outcome::Applied } else { Outcome::LostRace })
}

/// A sign-in whose password was right and that needs no second factor.
pub struct Completion<'a> {
    pub user_id: &'a str,
    /// The generations the password was verified under.
    pub generations: Generations,
    /// The run its attempt was counted in.
    pub budget: &'a Budget,
    pub event: &'a NewEvent<'a>,
    /// The stored hash and its replacement, when it was made with other parameters.
    pub upgrade: Option<(&'a str, &'a str)>,
    pub trust: &'a Trust,
}

/// Completes a sign-in verified under `generations`, only if they are still current: ends the
/// failure run of `budget`, trusts the browser (`trust`), records `event` (built with
/// [`Precondition::current`]) and replaces the hash with `upgrade` (old, new) when asked.
/// `LostRace` when a password change or "sign out other sessions" came in between.
pub async fn complete_sign_in(db: &Db, c: &Completion<'_>) -> Result<super::Outcome, Error> {
    let (user_id, generations, budget, event, upgrade, trust) =
        (c.user_id, c.generations, c.budget, c.event, c.upgrade, c.trust);
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
    /// The session asking was ended (revoked, or every session signed out) meanwhile.
    SessionEnded,
}

/// The session that changes the password, as the session check saw it.
pub struct ChangingSession<'a> {
    pub id: &'a str,
    pub session_generation: u64,
    pub issued_at: u64,
    /// Its successor, when the change signs the other sessions out (the caller gets a new token).
    pub handover: Option<Handover<'a>>,
}

/// Sets a new password hash if the stored one is still `old_hash` (so of two concurrent changes
/// exactly one wins) and the session asking is still live, bumps `password_generation` (pending
/// sign-ins and racing sign-ins under the old password fail) and, when `end_sessions`,
/// `session_generation` (every session ends; the caller's is handed over to its successor);
/// ends the trust of every device but `keep_device` (the caller's own), clears the account's
/// strangers' failure run and the failure run of `budget` (the session that changed it) and
/// records `event`, all in one transaction.
pub async fn change_password(
    db: &Db,
    change: &NewPassword<'_>,
    session: &ChangingSession<'_>,
    event: &NewEvent<'_>,
    budget: &Budget,
) -> Result<PasswordChange, Error> {
    let update = new_password_statement(db, change, session)?;
    let changed = Precondition::password_hash_is(change.user_id, change.new_hash);
    let (reset, binds) = attempts::reset_when(change.user_id, budget);
    let mut statements = vec![
        update,
        events::insert(db, event, &changed)?,
        changed.statement(db, &reset, binds)?,
        devices::end_trust_of_others(db, change.user_id, change.keep_device, &changed)?,
    ];
    if let Some(handover) = &session.handover {
        statements.push(handover.statement(db, &changed)?);
    }
    statements.push(
        db.prepare("SELECT password_hash = ?2 AS same_hash FROM users WHERE id = ?1")
            .bind(&[text(change.user_id), text(change.old_hash)])?,
    );
    let results = run_batch(db, statements).await?;
    let row: Option<GenerationsRow> = attempts::first_of(&results, 0)?;
    let same: Option<SameHash> = attempts::first_of(&results, results.len() - 1)?;
    Ok(match (row, same) {
        (Some(g), _) => {
            PasswordChange::Applied(Generations { password: g.password_generation, session: g.session_generation })
        }
        (None, Some(same)) if same.same_hash != 0 => PasswordChange::SessionEnded,
        (None, _) => PasswordChange::LostRace,
    })
}

/// The new hash and generations, only while the hash is still the old one and the session
/// asking is live; `RETURNING` the generations.
fn new_password_statement(
    db: &Db,
    change: &NewPassword<'_>,
    session: &ChangingSession<'_>,
) -> Result<D1PreparedStatement, Error> {
    let live = Precondition::session_live(change.user_id, session.id, session.session_generation, session.issued_at);
    live.statement(
        db,
        "UPDATE users SET password_hash = ?3, password_changed_at = ?4, failed_attempts = 0, locked_until = 0, password_breached_count = NULL, \
         password_generation = password_generation + 1, \
         session_generation = session_generation + CASE WHEN ?5 = 1 THEN 1 ELSE 0 END \
         WHERE password_hash = ?2 AND {pre} RETURNING password_generation, session_generation",
        vec![
            text(change.user_id),
            text(change.old_hash),
            text(change.new_hash),
            int(change.now),
            int(u64::from(change.end_sessions)),
        ],
    )
}

#[derive(Deserialize)]
struct SameHash {
    same_hash: u32,
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

/// Ends every session of the user by moving on from session generation `from` to `from + 1`,
/// with its event and the trust of every device but `keep_device` (the caller's own), and hands
/// the caller's session over to its successor (of the next generation, known before the batch,
/// so it can be stored while this runs); `LostRace` when the generation had moved on already or
/// the caller's session was revoked meanwhile.
pub async fn end_all_sessions(
    db: &Db,
    from: u64,
    handover: &Handover<'_>,
    event: &NewEvent<'_>,
    keep_device: Option<&str>,
) -> Result<Outcome, Error> {
    let user_id = handover.user_id;
    let statements = vec![
        handover.statement(db, &Precondition::session_generation_is(user_id, from))?,
        events::insert(db, event, &handover.done())?,
        devices::end_trust_of_others(db, user_id, keep_device, &handover.done())?,
        handover.done().statement(
            db,
            "UPDATE users SET session_generation = session_generation + 1 WHERE id = ?1 AND {pre}",
            vec![text(user_id)],
        )?,
    ];
    let results = run_batch(db, statements).await?;
    Ok(if changes(&results, 3) > 0 { Outcome::Applied } else { Outcome::LostRace })
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
