//! Failure runs in D1 (SPEC §5.7). Every attempt at a secret is *reserved* with one atomic
//! statement before the secret is checked: it counts the attempt as a failure and, from the
//! threshold on, locks the run, unless the run is locked already. A success resets the run; a
//! correct password that still needs a second factor hands its reservation back.
//!
//! A run belongs to a *budget*: the account's unknown clients (`users.failed_attempts`), one known
//! device of the user, or one signed-in session (`attempt_budgets`), so strangers who guess lock
//! out strangers only.

use super::Db;
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::events::{self, NewEvent};
use super::precondition::Precondition;
use super::users::UserRow;
use super::Error;
use super::{int, text};
use crate::domain::throttle::ThrottlePolicy;

/// Whose failure run an attempt counts in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Budget {
    /// Clients the account does not know: one run per account.
    Strangers,
    /// A browser holding a valid `__Host-device` cookie of the user (the device id).
    Device(String),
    /// A signed-in session checking its password or a code (the session id).
    Session(String),
    /// Sign-ins with an e-mail no account has (its SHA-256): counted and locked like an
    /// account's, so the answers never tell the two apart.
    UnknownEmail(String),
}

impl Budget {
    pub(super) fn scope(&self, user_id: &str) -> Option<String> {
        match self {
            Self::Strangers => None,
            Self::Device(id) => Some(format!("device:{user_id}:{id}")),
            Self::Session(id) => Some(format!("session:{id}")),
            Self::UnknownEmail(hash) => Some(format!("unknown-email:{hash}")),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Strangers => "account",
            Self::Device(_) => "device",
            Self::Session(_) => "session",
            Self::UnknownEmail(_) => "unknown_email",
        }
    }
}

/// The generations a session or pending sign-in was authenticated under (SPEC §5.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize)]
pub struct Generations {
    pub password: u64,
    pub session: u64,
}

/// The answer to "may this client try a secret now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted as a failure; `locks_until` is the lock that stands if it is one (0: none).
    Reserved { locks_until: u64 },
    /// The run is locked until then; nothing was counted.
    Locked { until: u64 },
    /// The generations asked for are no longer current; nothing was counted.
    Stale,
}

/// How long budgets of devices and sessions are kept after their last attempt.
pub const BUDGET_KEEP_SECONDS: u64 = 180 * 24 * 3600;

/// SQL for the lock after failure number `n` (an SQL expression), with the policy at `?p..?p+2`
/// (threshold, base, max) and now at `?now`.
fn lock_after(n: &str, p: usize, now: usize) -> String {
    let (t, base, max) = (p, p + 1, p + 2);
    format!("CASE WHEN {n} >= ?{t} THEN ?{now} + MIN(?{max}, ?{base} << MIN({n} - ?{t}, 20)) ELSE 0 END")
}

fn policy_values(policy: ThrottlePolicy) -> [JsValue; 3] {
    [int(policy.threshold.into()), int(policy.base_seconds), int(policy.max_seconds)]
}

#[derive(Deserialize)]
pub(super) struct LockedUntil {
    pub(super) locked_until: u64,
    /// Where a sign-in's lock is read: whether its attempt counts in a trusted device's run.
    #[serde(default)]
    pub(super) by_device: u32,
}

/// The state a reservation is conditional on, besides the run not being locked.
#[derive(Clone, Copy)]
pub enum Condition<'a> {
    /// The user with this id.
    UserId(&'a str),
    /// The user with this id, still under these generations.
    Current(&'a str, Generations),
}

impl Condition<'_> {
    fn user_id(&self) -> &str {
        match self {
            Self::UserId(id) | Self::Current(id, _) => id,
        }
    }

    /// The condition over `users`' columns.
    fn precondition(&self) -> Precondition {
        match self {
            Self::UserId(id) => Precondition::new("id = ?", vec![text(id)]),
            Self::Current(id, g) => Precondition::new(
                "id = ? AND password_generation = ? AND session_generation = ?",
                vec![text(id), int(g.password), int(g.session)],
            ),
        }
    }
}

/// The reservation statement for `budget` (whose scope names `scope_user`) of the user `which`
/// selects (SQL over `users`' columns); `RETURNING locked_until` when it counted.
pub(super) fn reserve_where(
    db: &Db,
    budget: &Budget,
    scope_user: &str,
    which: &Precondition,
    policy: ThrottlePolicy,
    now: u64,
) -> Result<D1PreparedStatement, Error> {
    // ?1 now, ?2..?4 policy, ?5 scope, ?6 expiry, then the user's condition.
    let mut binds = vec![int(now)];
    binds.extend(policy_values(policy));
    match budget.scope(scope_user) {
        None => {
            let lock = lock_after("failed_attempts + 1", 2, 1);
            which.statement(
                db,
                &format!(
                    "UPDATE users SET failed_attempts = failed_attempts + 1, locked_until = {lock} \
                     WHERE {{pre}} AND locked_until <= ?1 RETURNING locked_until"
                ),
                binds,
            )
        }
        Some(scope) => {
            binds.push(text(&scope));
            binds.push(int(now + BUDGET_KEEP_SECONDS));
            let first = lock_after("1", 2, 1);
            let next = lock_after("attempt_budgets.failed_attempts + 1", 2, 1);
            which.statement(
                db,
                &format!(
                    "INSERT INTO attempt_budgets (scope, user_id, failed_attempts, locked_until, expires_at) \
                     SELECT ?5, id, 1, {first}, ?6 FROM users WHERE {{pre}} \
                     ON CONFLICT (scope) DO UPDATE SET failed_attempts = attempt_budgets.failed_attempts + 1, \
                     locked_until = {next}, expires_at = excluded.expires_at \
                     WHERE attempt_budgets.locked_until <= ?1 RETURNING locked_until"
                ),
                binds,
            )
        }
    }
}

/// The budget's current lock, read after the reservation in the same transaction.
fn current_lock(db: &Db, user_id: &str, budget: &Budget) -> Result<D1PreparedStatement, Error> {
    Ok(match budget.scope(user_id) {
        None => db.prepare("SELECT locked_until FROM users WHERE id = ?1").bind(&[text(user_id)])?,
        Some(scope) => db.prepare("SELECT locked_until FROM attempt_budgets WHERE scope = ?1").bind(&[text(&scope)])?,
    })
}

pub(super) fn first_of<T: serde::de::DeserializeOwned>(
    results: &[worker::D1Result],
    index: usize,
) -> Result<Option<T>, Error> {
    Ok(results.get(index).map(|r| r.results::<T>()).transpose()?.and_then(|rows| rows.into_iter().next()))
}

pub(super) fn reservation_of(reserved: Option<LockedUntil>, budget_locked_until: u64, now: u64) -> Reservation {
    match reserved {
        Some(r) => Reservation::Reserved { locks_until: if r.locked_until > now { r.locked_until } else { 0 } },
        None if budget_locked_until > now => Reservation::Locked { until: budget_locked_until },
        None => Reservation::Stale,
    }
}

/// Reserves an attempt of a known user, with `also` run in the same transaction, after it;
/// answers their results. `Stale` when the user is gone or `condition`'s generations are no
/// longer current.
pub async fn reserve_with(
    db: &Db,
    budget: &Budget,
    condition: Condition<'_>,
    policy: ThrottlePolicy,
    now: u64,
    also: Vec<D1PreparedStatement>,
) -> Result<(Reservation, Vec<worker::D1Result>), Error> {
    let which = condition.precondition();
    let mut statements = reserve_statements(db, budget, condition.user_id(), &which, policy, now)?;
    statements.extend(also);
    let mut results = super::batch(db, statements).await?;
    let reservation = reservation_in(&results, 0, now)?;
    Ok((reservation, results.split_off(2.min(results.len()))))
}

/// The two statements that reserve an attempt of `budget` for the user `which` selects: the
/// reservation, then the budget's lock as it stands after it. [`reservation_in`] reads them.
pub(super) fn reserve_statements(
    db: &Db,
    budget: &Budget,
    user_id: &str,
    which: &Precondition,
    policy: ThrottlePolicy,
    now: u64,
) -> Result<Vec<D1PreparedStatement>, Error> {
    Ok(vec![reserve_where(db, budget, user_id, which, policy, now)?, current_lock(db, user_id, budget)?])
}

/// The reservation that [`reserve_statements`], run from `at` in a batch, made.
pub(super) fn reservation_in(results: &[worker::D1Result], at: usize, now: u64) -> Result<Reservation, Error> {
    let current = first_of::<LockedUntil>(results, at + 1)?.map_or(0, |c| c.locked_until);
    Ok(reservation_of(first_of(results, at)?, current, now))
}

/// A sign-in's first step, reserved.
pub struct SignInAttempt {
    /// `None` for an e-mail no account has.
    pub user: Option<UserRow>,
    pub budget: Budget,
    pub reservation: Reservation,
}

/// A sign-in's first step: finds the account by e-mail and reserves an attempt in the same
/// transaction, in the run of the device the cookie names (`device`: user id and device id) if
/// it is a trusted device of this account (`trusted_devices` has its row), else in the account's
/// strangers' run. An unknown e-mail runs the very same statements and is counted in a run of its
/// own (`email_hash` names it), so its answers, locks included, are those of a real account.
pub async fn reserve_sign_in(
    db: &Db,
    email: &str,
    email_hash: &str,
    device: Option<(&str, &str)>,
    policy: ThrottlePolicy,
    now: u64,
) -> Result<SignInAttempt, Error> {
    let (device_user, device_id) = device.unwrap_or(("", ""));
    let device_budget = Budget::Device(device_id.to_string());
    let scope = device_budget.scope(device_user).unwrap_or_default();
    let first = lock_after("1", 2, 1);
    let next = lock_after("attempt_budgets.failed_attempts + 1", 2, 1);
    let by_device = reserve_by_trusted_device(db, email, (device_user, device_id), &scope, policy, now)?;
    let mut binds = vec![int(now)];
    binds.extend(policy_values(policy));
    binds.extend([text(email), text(device_user), text(device_id)]);
    let by_stranger = db
        .prepare(format!(
            "UPDATE users SET failed_attempts = failed_attempts + 1, locked_until = {} \
             WHERE email = ?5 AND NOT (id = ?6 AND {}) AND locked_until <= ?1 RETURNING locked_until",
            lock_after("failed_attempts + 1", 2, 1),
            super::devices::is_trusted_sql(6, 7)
        ))
        .bind(&binds)?;
    let trusted = format!("id = ?2 AND {}", super::devices::is_trusted_sql(2, 4));
    let lock = db
        .prepare(format!(
            "SELECT CASE WHEN {trusted} THEN COALESCE((SELECT locked_until FROM attempt_budgets WHERE scope = ?3), 0) \
             ELSE locked_until END AS locked_until, {trusted} AS by_device FROM users WHERE email = ?1"
        ))
        .bind(&[text(email), text(device_user), text(&scope), text(device_id)])?;
    let read = super::users::find_by_email_statement(db, email)?;
    let unknown = Budget::UnknownEmail(email_hash.to_string());
    let unknown_scope = unknown.scope("").unwrap_or_default();
    let mut binds = vec![int(now)];
    binds.extend(policy_values(policy));
    binds.extend([text(&unknown_scope), int(now + BUDGET_KEEP_SECONDS), text(email)]);
    let by_unknown = db
        .prepare(format!(
            "INSERT INTO attempt_budgets (scope, user_id, failed_attempts, locked_until, expires_at) \
             SELECT ?5, '', 1, {first}, ?6 WHERE NOT EXISTS (SELECT 1 FROM users WHERE email = ?7) \
             ON CONFLICT (scope) DO UPDATE SET failed_attempts = attempt_budgets.failed_attempts + 1, \
             locked_until = {next}, expires_at = excluded.expires_at \
             WHERE attempt_budgets.locked_until <= ?1 RETURNING locked_until"
        ))
        .bind(&binds)?;
    let unknown_lock = db
        .prepare("SELECT COALESCE((SELECT locked_until FROM attempt_budgets WHERE scope = ?1), 0) AS locked_until")
        .bind(&[text(&unknown_scope)])?;
    let results = super::batch(db, vec![by_device, by_stranger, lock, read, by_unknown, unknown_lock]).await?;
    let Some(user) = first_of::<UserRow>(&results, 3)? else {
        let current = first_of::<LockedUntil>(&results, 5)?.map_or(0, |c| c.locked_until);
        let reservation = reservation_of(first_of(&results, 4)?, current, now);
        return Ok(SignInAttempt { user: None, budget: unknown, reservation });
    };
    let lock = first_of::<LockedUntil>(&results, 2)?;
    let (budget, reserved) = if lock.as_ref().is_some_and(|l| l.by_device != 0) {
        (device_budget, first_of(&results, 0)?)
    } else {
        (Budget::Strangers, first_of(&results, 1)?)
    };
    let current = lock.map_or(0, |c| c.locked_until);
    Ok(SignInAttempt { user: Some(user), budget, reservation: reservation_of(reserved, current, now) })
}

/// The reservation of a sign-in in the run of `device` (user id, device id), counted only when it
/// is a trusted device of the account with this e-mail; `scope` is its budget's.
fn reserve_by_trusted_device(
    db: &Db,
    email: &str,
    (device_user, device_id): (&str, &str),
    scope: &str,
    policy: ThrottlePolicy,
    now: u64,
) -> Result<D1PreparedStatement, Error> {
    let first = lock_after("1", 2, 1);
    let next = lock_after("attempt_budgets.failed_attempts + 1", 2, 1);
    let mut binds = vec![int(now)];
    binds.extend(policy_values(policy));
    binds.extend([text(scope), int(now + BUDGET_KEEP_SECONDS), text(email), text(device_user), text(device_id)]);
    Ok(db
        .prepare(format!(
            "INSERT INTO attempt_budgets (scope, user_id, failed_attempts, locked_until, expires_at) \
             SELECT ?5, id, 1, {first}, ?6 FROM users WHERE email = ?7 AND id = ?8 AND ?8 != '' AND {} \
             ON CONFLICT (scope) DO UPDATE SET failed_attempts = attempt_budgets.failed_attempts + 1, \
             locked_until = {next}, expires_at = excluded.expires_at \
             WHERE attempt_budgets.locked_until <= ?1 RETURNING locked_until",
            super::devices::is_trusted_sql(8, 9)
        ))
        .bind(&binds)?)
}

/// Hands a reservation back: the attempt was not a failure (a correct password that still needs
/// a second factor, or one refused for another reason before its secret was checked). A lock
/// that only this reservation set is lifted with it.
pub async fn hand_back(db: &Db, user_id: &str, budget: &Budget, now: u64) -> Result<(), Error> {
    super::batch(db, vec![refund(db, user_id, budget, now)?]).await?;
    Ok(())
}

/// Ends the run after a success that records nothing else.
pub async fn end_run(db: &Db, user_id: &str, budget: &Budget) -> Result<(), Error> {
    super::batch(db, vec![reset(db, user_id, budget)?]).await?;
    Ok(())
}

/// Records a failed attempt and, when it locked the run, the lock: both only if the user exists,
/// so the failure of an unknown e-mail runs the same statements and writes nothing.
pub async fn record_failure(db: &Db, failed: &NewEvent<'_>, locked: Option<&NewEvent<'_>>) -> Result<(), Error> {
    let exists = Precondition::user_exists(failed.user_id);
    let mut statements = vec![events::insert(db, failed, &exists)?];
    if let Some(locked) = locked {
        statements.push(events::insert(db, locked, &exists)?);
    }
    super::batch(db, statements).await?;
    Ok(())
}

fn refund(db: &Db, user_id: &str, budget: &Budget, now: u64) -> Result<D1PreparedStatement, Error> {
    Ok(match budget.scope(user_id) {
        None => db
            .prepare(
                "UPDATE users SET failed_attempts = MAX(failed_attempts - 1, 0), locked_until = MIN(locked_until, ?2) \
                 WHERE id = ?1",
            )
            .bind(&[text(user_id), int(now)])?,
        Some(scope) => db
            .prepare(
                "UPDATE attempt_budgets SET failed_attempts = MAX(failed_attempts - 1, 0), \
                 locked_until = MIN(locked_until, ?2) WHERE scope = ?1",
            )
            .bind(&[text(&scope), int(now)])?,
    })
}

/// Ends the run after a success (for a sign-in: every factor), as a statement for the batch of
/// the change that completes it.
pub(super) fn reset(db: &Db, user_id: &str, budget: &Budget) -> Result<D1PreparedStatement, Error> {
    let (sql, binds) = reset_when(user_id, budget);
    Ok(db.prepare(sql.replace("{pre}", "1")).bind(&binds)?)
}

/// [`reset`] as SQL with `{pre}` for a condition that must hold too, and its values (`?1`).
pub fn reset_when(user_id: &str, budget: &Budget) -> (String, Vec<JsValue>) {
    match budget.scope(user_id) {
        None => (
            "UPDATE users SET failed_attempts = 0, locked_until = 0 WHERE id = ?1 AND {pre}".into(),
            vec![text(user_id)],
        ),
        Some(scope) => ("DELETE FROM attempt_budgets WHERE scope = ?1 AND {pre}".into(), vec![text(&scope)]),
    }
}

/// Drops budgets nobody has used for [`BUDGET_KEEP_SECONDS`].
pub fn prune(db: &Db, now: u64) -> Result<D1PreparedStatement, Error> {
    Ok(db.prepare("DELETE FROM attempt_budgets WHERE expires_at < ?1").bind(&[int(now)])?)
}
