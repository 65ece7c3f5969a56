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
    /// Passkey sign-ins of the account from clients it does not know: a run of their own, so a
    /// password run locked by strangers never stops a passkey, which cannot be guessed.
    PasskeyStrangers,
    /// Passkey sign-ins with a credential id nobody registered (its SHA-256).
    UnknownCredential(String),
}

impl Budget {
    pub(super) fn scope(&self, user_id: &str) -> Option<String> {
        match self {
            Self::Strangers => None,
            Self::Device(id) => Some(format!("device:{user_id}:{id}")),
            Self::Session(id) => Some(format!("session:{id}")),
            Self::UnknownEmail(hash) => Some(format!("unknown-email:{hash}")),
            Self::PasskeyStrangers => Some(format!("{}{user_id}", Self::PASSKEY_STRANGERS_PREFIX)),
            Self::UnknownCredential(hash) => Some(format!("unknown-credential:{hash}")),
        }
    }

    /// The scope of [`Budget::PasskeyStrangers`] is this and the user id.
    pub const PASSKEY_STRANGERS_PREFIX: &'static str = "passkeys:";

    /// A trusted device's own run: exempt from its address's hold (SPEC §5.7).
    pub fn is_device(&self) -> bool {
        matches!(self, Self::Device(_))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Strangers => "account",
            Self::Device(_) => "device",
            Self::Session(_) => "session",
            Self::UnknownEmail(_) => "unknown_email",
            Self::PasskeyStrangers => "account_passkeys",
            Self::UnknownCredential(_) => "unknown_credential",
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
    /// The client's address is held back until then (too many failed sign-ins across
    /// accounts); nothing was counted.
    Held { until: u64 },
    /// The generations asked for are no longer current; nothing was counted.
    Stale,
}

impl Reservation {
    /// What a reserving transaction did, from what it read back: the lock its count set
    /// (`None`: nothing was counted), the address's hold and the run's lock (0: none).
    pub fn settle(counted: Option<u64>, held_until: u64, locked_until: u64, now: u64) -> Self {
        match counted {
            Some(lock) => Self::Reserved { locks_until: if lock > now { lock } else { 0 } },
            None if held_until > now => Self::Held { until: held_until },
            None if locked_until > now => Self::Locked { until: locked_until },
            None => Self::Stale,
        }
    }
}

/// How long budgets of devices and sessions are kept after their last attempt.
pub const BUDGET_KEEP_SECONDS: u64 = 180 * 24 * 3600;

/// SQL for the time the run is locked until after failure number `n` (an SQL expression): now
/// (`?now`) plus the policy's lock for `n` failures, read from its schedule (`?schedule`, a JSON
/// array: `ThrottlePolicy::schedule`; its last entry stands for every later count). No lock is
/// `now` itself, which no check takes for a lock (`locked_until > now`).
pub(super) fn lock_after(n: &str, schedule: usize, now: usize) -> String {
    format!("?{now} + json_extract(?{schedule}, '$[' || MIN({n}, json_array_length(?{schedule}) - 1) || ']')")
}

/// The policy's lock schedule, bound as the `?schedule` of [`lock_after`].
pub(super) fn policy_values(policy: ThrottlePolicy) -> [JsValue; 1] {
    let schedule = policy.schedule().iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    [text(&format!("[{schedule}]"))]
}

#[derive(Deserialize)]
pub(super) struct LockedUntil {
    pub(super) locked_until: u64,
}

/// The state a reservation is conditional on, besides the run not being locked.
#[derive(Clone, Copy)]
pub enum Condition<'a> {
    /// The user with this id.
    UserId(&'a str),
}

impl Condition<'_> {
    fn user_id(&self) -> &str {
        match self {
            Self::UserId(id) => id,
        }
    }

    /// The condition over `users`' columns.
    fn precondition(&self) -> Precondition {
        match self {
            Self::UserId(id) => Precondition::new("id = ?", vec![text(id)]),
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
    // ?1 now, ?2 the lock schedule, ?3 scope, ?4 expiry, then the user's condition.
    let mut binds = vec![int(now)];
    binds.extend(policy_values(policy));
    let sql = match budget.scope(scope_user) {
        None => format!(
            "UPDATE users SET failed_attempts = failed_attempts + 1, locked_until = {} \
             WHERE {{pre}} AND locked_until <= ?1 RETURNING locked_until",
            lock_after("failed_attempts + 1", 2, 1)
        ),
        Some(scope) => {
            binds.extend([text(&scope), int(now + BUDGET_KEEP_SECONDS)]);
            format!(
                "INSERT INTO attempt_budgets (scope, user_id, failed_attempts, locked_until, expires_at) \
                 SELECT ?3, id, 1, {}, ?4 FROM users WHERE {{pre}} \
                 ON CONFLICT (scope) DO UPDATE SET failed_attempts = attempt_budgets.failed_attempts + 1, \
                 locked_until = {}, expires_at = excluded.expires_at \
                 WHERE attempt_budgets.locked_until <= ?1 RETURNING locked_until",
                lock_after("1", 2, 1),
                lock_after("attempt_budgets.failed_attempts + 1", 2, 1)
            )
        }
    };
    which.statement(db, &sql, binds)
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

/// Reserves an attempt of a known user; `Stale` when the user is gone or `condition`'s
/// generations are no longer current.
pub async fn reserve(
    db: &Db,
    budget: &Budget,
    condition: Condition<'_>,
    policy: ThrottlePolicy,
    now: u64,
) -> Result<Reservation, Error> {
    let which = condition.precondition();
    let statements = reserve_statements(db, budget, condition.user_id(), &which, policy, now)?;
    reservation_in(&super::batch(db, statements).await?, 0, now)
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
    let counted = first_of::<LockedUntil>(results, at)?.map(|r| r.locked_until);
    Ok(Reservation::settle(counted, 0, current, now))
}

/// Hands a reservation back: the attempt was not a failure (a correct password that still needs
/// a second factor, or one refused for another reason before its secret was checked). A lock
/// that only this reservation set is lifted with it.
pub async fn hand_back(db: &Db, user_id: &str, budget: &Budget, now: u64) -> Result<(), Error> {
    super::batch(db, refund(db, user_id, budget, now)?).await?;
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

/// The statements that hand a count back; a budget row left with no failure is dropped, as if
/// the handed-back attempt had never been made.
fn refund(db: &Db, user_id: &str, budget: &Budget, now: u64) -> Result<Vec<D1PreparedStatement>, Error> {
    Ok(match budget.scope(user_id) {
        None => vec![db
            .prepare(
                "UPDATE users SET failed_attempts = MAX(failed_attempts - 1, 0), locked_until = MIN(locked_until, ?2) \
                 WHERE id = ?1",
            )
            .bind(&[text(user_id), int(now)])?],
        Some(scope) => vec![
            db.prepare(
                "UPDATE attempt_budgets SET failed_attempts = MAX(failed_attempts - 1, 0), \
                 locked_until = MIN(locked_until, ?2) WHERE scope = ?1",
            )
            .bind(&[text(&scope), int(now)])?,
            db.prepare("DELETE FROM attempt_budgets WHERE scope = ?1 AND failed_attempts = 0").bind(&[text(&scope)])?,
        ],
    })
}

/// Ends the run of `budget` after a success (for a sign-in: every factor), as SQL with `{pre}`
/// for the condition of the change that completes it, and its values (`?1`).
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
