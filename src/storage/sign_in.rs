//! The sign-in ceremony in D1 (SPEC §5.7): each step is one transaction that finds the account,
//! looks at the client address's hold and reserves an attempt in the failure run the rules
//! choose, before any secret is checked.
//!
//! A first step (a password for an e-mail, or a passkey assertion for a credential id) runs the
//! same statements whoever it names: the device's run when the request's trusted device belongs
//! to the named account, the account's strangers' run otherwise, and a run of its own for an
//! identifier no account has. While the address is held, only a device of the named account is
//! counted; every other request counts nothing and is answered alike. A second step counts in
//! the run its first step chose, under the generations the first step verified.

use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::attempts::{self, lock_after, policy_values, Budget, Generations, Reservation, BUDGET_KEEP_SECONDS};
use super::devices;
use super::passkeys::{PasskeyRow, Spend, COLUMNS as PASSKEY_COLUMNS};
use super::precondition::Precondition;
use super::two_factor::FactorsRow;
use super::users::{self, UserRow};
use super::{int, text, Db, Error};
use crate::domain::email::Lookup;
use crate::domain::ids::UserId;
use crate::domain::throttle::ThrottlePolicy;

/// What a first step names its account by.
#[derive(Clone, Copy)]
pub enum Identifier<'a> {
    /// An e-mail address: its normal form, and the form accounts stored before normalisation
    /// were keyed by.
    Email(&'a Lookup),
    /// A passkey's credential id.
    Credential(&'a str),
}

impl Identifier<'_> {
    /// The account it names, as SQL over `users`' columns with the identifier at `?3` (and an
    /// e-mail's legacy form at `?10`).
    fn names_user(&self) -> String {
        match self {
            Self::Email(_) => format!("id = {}", users::account_by_email(3, 10)),
            Self::Credential(_) => "id = (SELECT user_id FROM passkeys WHERE credential_id = ?3)".into(),
        }
    }

    /// What names the account: an e-mail's normal form, or the credential id.
    pub fn value(&self) -> &str {
        match self {
            Self::Email(lookup) => &lookup.normal,
            Self::Credential(value) => value,
        }
    }

    fn legacy(&self) -> &str {
        match self {
            Self::Email(lookup) => &lookup.legacy,
            Self::Credential(_) => "",
        }
    }

    /// The strangers' run of the named account: passwords count in `users.failed_attempts`,
    /// assertions in a run of their own, so a password run locked by strangers never stops a
    /// passkey (which cannot be guessed).
    fn strangers(&self) -> Budget {
        match self {
            Self::Email(_) => Budget::Strangers,
            Self::Credential(_) => Budget::PasskeyStrangers,
        }
    }

    /// The run of an identifier no account has (`hash`: its SHA-256).
    fn unknown(&self, hash: &str) -> Budget {
        match self {
            Self::Email(_) => Budget::UnknownEmail(hash.to_string()),
            Self::Credential(_) => Budget::UnknownCredential(hash.to_string()),
        }
    }
}

/// Who is asking, as far as the sign-in rules care.
#[derive(Clone, Copy)]
pub struct Client<'a> {
    /// The key the client's address is counted under (IPv6 per /64).
    pub address: &'a str,
    /// The user and device id of the request's device cookie, if its signature holds.
    pub device: Option<(&'a str, &'a str)>,
}

/// A first step to reserve.
pub struct FirstStep<'a> {
    pub identifier: Identifier<'a>,
    /// SHA-256 of the identifier: names its run when no account has it.
    pub identifier_hash: &'a str,
    pub client: Client<'a>,
    /// A passkey assertion spends its challenge in the same transaction.
    pub spend: Option<&'a Spend<'a>>,
    pub policy: ThrottlePolicy,
    pub now: u64,
}

/// What a first step's transaction found and reserved.
pub struct FirstStepReserved {
    /// `None` when no account has the identifier.
    pub user: Option<UserRow>,
    /// The passkey the credential id names (passkey sign-ins only).
    pub passkey: Option<PasskeyRow>,
    pub budget: Budget,
    pub reservation: Reservation,
    /// This request spent the challenge (passkey sign-ins only).
    pub spent: bool,
}

#[derive(Deserialize)]
struct Found {
    id: Option<UserId>,
    email: Option<String>,
    name: Option<String>,
    password_hash: Option<String>,
    totp_enabled_at: Option<u64>,
    password_generation: Option<u64>,
    session_generation: Option<u64>,
    held_until: u64,
    /// The request's device is a trusted device of the named account.
    #[serde(default)]
    by_device: Option<u32>,
    run_locked_until: u64,
}

impl Found {
    fn user(self) -> Option<UserRow> {
        Some(UserRow {
            id: self.id?,
            email: self.email?,
            name: self.name?,
            password_hash: self.password_hash?,
            totp_enabled_at: self.totp_enabled_at,
            password_generation: self.password_generation?,
            session_generation: self.session_generation?,
        })
    }
}

#[derive(Deserialize)]
struct Counted {
    locked_until: u64,
}

/// The address is held (SQL, with the address at `?9` and now at `?1`).
const HELD: &str = "EXISTS (SELECT 1 FROM held_addresses WHERE address = ?9 AND until > ?1)";

/// Upsert of one attempt into `attempt_budgets` for the rows of `select` (which yields scope,
/// user id, 1, the first lock, expiry), unless the run is locked; `RETURNING locked_until`.
fn count_in_budgets(select: &str) -> String {
    format!(
        "INSERT INTO attempt_budgets (scope, user_id, failed_attempts, locked_until, expires_at) {select} \
         ON CONFLICT (scope) DO UPDATE SET failed_attempts = attempt_budgets.failed_attempts + 1, \
         locked_until = {}, expires_at = excluded.expires_at \
         WHERE attempt_budgets.locked_until <= ?1 RETURNING locked_until",
        lock_after("attempt_budgets.failed_attempts + 1", 2, 1)
    )
}

/// The three reservations (device, strangers, unknown: exactly one can count) and the read.
/// Binds: ?1 now, ?2 the lock schedule, ?3 identifier, ?4 device user ('' for none), ?5 device scope,
/// ?6 unknown scope, ?7 budget expiry, ?8 strangers' passkey scope prefix, ?9 address, ?10 an
/// e-mail's legacy form, ?11 device id. The device's run counts only while the device is a
/// trusted device of the account (`trusted_devices` has its row).
fn first_step_sql(identifier: &Identifier<'_>) -> [String; 4] {
    let names = identifier.names_user();
    let first = lock_after("1", 2, 1);
    let trusted = devices::is_trusted_sql(4, 11);
    let by_device = count_in_budgets(&format!(
        "SELECT ?5, id, 1, {first}, ?7 FROM users WHERE {names} AND id = ?4 AND ?4 != '' AND {trusted}"
    ));
    let (by_stranger, strangers_lock) = match identifier {
        Identifier::Email(_) => (
            format!(
                "UPDATE users SET failed_attempts = failed_attempts + 1, locked_until = {} \
                 WHERE {names} AND NOT (id = ?4 AND {trusted}) AND locked_until <= ?1 AND NOT {HELD} \
                 RETURNING locked_until",
                lock_after("failed_attempts + 1", 2, 1)
            ),
            "u.locked_until".to_string(),
        ),
        Identifier::Credential(_) => (
            count_in_budgets(&format!(
                "SELECT ?8 || id, id, 1, {first}, ?7 FROM users WHERE {names} AND NOT (id = ?4 AND {trusted}) \
                 AND NOT {HELD}"
            )),
            "COALESCE((SELECT locked_until FROM attempt_budgets WHERE scope = ?8 || u.id), 0)".to_string(),
        ),
    };
    let by_unknown = count_in_budgets(&format!(
        "SELECT ?6, '', 1, {first}, ?7 WHERE NOT EXISTS (SELECT 1 FROM users WHERE {names}) AND NOT {HELD}"
    ));
    let read = format!(
        "SELECT u.id, u.email, u.name, u.password_hash, u.totp_enabled_at, u.password_generation, \
         u.session_generation, COALESCE((SELECT until FROM held_addresses WHERE address = ?9 AND until > ?1), 0) \
         AS held_until, (u.id = ?4 AND {trusted}) AS by_device, CASE WHEN u.id IS NULL THEN \
         COALESCE((SELECT locked_until FROM attempt_budgets WHERE scope = ?6), 0) \
         WHEN u.id = ?4 AND {trusted} THEN COALESCE((SELECT locked_until FROM attempt_budgets WHERE scope = ?5), 0) \
         ELSE {strangers_lock} END AS run_locked_until \
         FROM (SELECT 1) LEFT JOIN users u ON u.{names}"
    );
    [by_device, by_stranger, by_unknown, read]
}

fn first_step_binds(step: &FirstStep<'_>) -> Vec<JsValue> {
    let (device_user, device_id) = step.client.device.unwrap_or(("", ""));
    let device_scope = Budget::Device(device_id.to_string()).scope(device_user).unwrap_or_default();
    let unknown_scope = step.identifier.unknown(step.identifier_hash).scope("").unwrap_or_default();
    let mut binds = vec![int(step.now)];
    binds.extend(policy_values(step.policy));
    binds.extend([
        text(step.identifier.value()),
        text(device_user),
        text(&device_scope),
        text(&unknown_scope),
        int(step.now + BUDGET_KEEP_SECONDS),
        text(Budget::PASSKEY_STRANGERS_PREFIX),
        text(step.client.address),
        text(step.identifier.legacy()),
        text(device_id),
    ]);
    binds
}

/// Reserves a first step: one transaction, the same statements for every identifier.
pub async fn reserve_first_step(db: &Db, step: &FirstStep<'_>) -> Result<FirstStepReserved, Error> {
    let binds = first_step_binds(step);
    let mut statements = Vec::new();
    if let Some(spend) = step.spend {
        statements.push(spend.statement(db, step.now)?);
    }
    let at = statements.len();
    for sql in first_step_sql(&step.identifier) {
        statements.push(db.prepare(&sql).bind(&used_binds(&sql, &binds))?);
    }
    if let Identifier::Credential(id) = step.identifier {
        statements.push(
            db.prepare(format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = ?1")).bind(&[text(id)])?,
        );
    }
    let results = super::batch(db, statements).await?;
    let counted = |i: usize| attempts::first_of::<Counted>(&results, at + i);
    let found: Found = attempts::first_of(&results, at + 3)?.ok_or(Error::Missing("the first step's read"))?;
    let (held_until, locked_until) = (found.held_until, found.run_locked_until);
    let by_device = found.by_device.unwrap_or(0) != 0;
    let user = found.user();
    let (budget, reserved) = match &user {
        None => (step.identifier.unknown(step.identifier_hash), counted(2)?),
        Some(_) if by_device => {
            let device_id = step.client.device.map_or("", |(_, device)| device);
            (Budget::Device(device_id.to_string()), counted(0)?)
        }
        Some(_) => (step.identifier.strangers(), counted(1)?),
    };
    let held = if budget.is_device() { 0 } else { held_until };
    let reservation = Reservation::settle(reserved.map(|c| c.locked_until), held, locked_until, step.now);
    let passkey = match step.identifier {
        Identifier::Credential(_) => attempts::first_of(&results, at + 4)?,
        Identifier::Email(_) => None,
    };
    let spent = step.spend.is_some() && super::users::changes(&results, 0) > 0;
    Ok(FirstStepReserved { user, passkey, budget, reservation, spent })
}

/// The values of `binds` up to the highest `?N` that `sql` uses (SQLite counts parameters up
/// to the highest number; D1 refuses more values than that).
fn used_binds(sql: &str, binds: &[JsValue]) -> Vec<JsValue> {
    binds[..highest_marker(sql).min(binds.len())].to_vec()
}

fn highest_marker(sql: &str) -> usize {
    let mut highest = 0;
    let bytes = sql.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b != b'?' {
            continue;
        }
        let digits: String = sql[i + 1..].chars().take_while(char::is_ascii_digit).collect();
        highest = highest.max(digits.parse().unwrap_or(0));
    }
    highest
}

/// The reservation a step made: counted (`locked_until` after counting), or why not.
/// A second step to reserve: in the run its first step chose, under its generations.
pub struct SecondStep<'a> {
    pub user_id: &'a UserId,
    pub budget: &'a Budget,
    pub generations: Generations,
    pub address: &'a str,
    pub policy: ThrottlePolicy,
    pub now: u64,
}

/// What a second step reads with its reservation.
pub enum SecondStepRead<'a> {
    /// The account's second factor (a code or a recovery code).
    Factors,
    /// The account's passkey of this credential id, spending the challenge.
    Passkey { credential_id: &'a str, spend: &'a Spend<'a> },
}

/// What a second step's transaction reserved and read.
pub struct SecondStepReserved {
    pub reservation: Reservation,
    /// The account as it is now (`None` when it is gone).
    pub factors: Option<FactorsRow>,
    /// The passkey, if the credential id is one of the account's.
    pub passkey: Option<PasskeyRow>,
    /// This request spent the challenge.
    pub spent: bool,
}

#[derive(Deserialize)]
struct HeldUntil {
    held_until: u64,
}

/// Reserves a second step, reading what the step checks in the same transaction. A device's run
/// holds only while the device is still trusted: a device forgotten meanwhile ends the sign-in.
pub async fn reserve_second_step(
    db: &Db,
    step: &SecondStep<'_>,
    read: SecondStepRead<'_>,
) -> Result<SecondStepReserved, Error> {
    let mut which = Precondition::new(
        "id = ? AND password_generation = ? AND session_generation = ?",
        vec![text(step.user_id), int(step.generations.password), int(step.generations.session)],
    );
    which = match step.budget {
        Budget::Device(device_id) => which.and(super::devices::is_trusted(step.user_id, device_id)),
        _ => which.and(not_held(step.address, step.now)),
    };
    let mut statements = Vec::new();
    if let SecondStepRead::Passkey { spend, .. } = &read {
        statements.push(spend.statement(db, step.now)?);
    }
    let at = statements.len();
    statements.extend(attempts::reserve_statements(db, step.budget, step.user_id, &which, step.policy, step.now)?);
    statements.push(held_statement(db, step.address, step.now)?);
    statements.push(super::two_factor::factors_statement(db, step.user_id)?);
    if let SecondStepRead::Passkey { credential_id, .. } = &read {
        statements.push(
            db.prepare(format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = ?1 AND user_id = ?2"))
                .bind(&[text(credential_id), text(step.user_id)])?,
        );
    }
    let results = super::batch(db, statements).await?;
    let counted = attempts::first_of::<Counted>(&results, at)?.map(|c| c.locked_until);
    let locked = attempts::first_of::<Counted>(&results, at + 1)?.map_or(0, |c| c.locked_until);
    let held = attempts::first_of::<HeldUntil>(&results, at + 2)?.map_or(0, |h| h.held_until);
    let held = if step.budget.is_device() { 0 } else { held };
    Ok(SecondStepReserved {
        reservation: Reservation::settle(counted, held, locked, step.now),
        factors: attempts::first_of(&results, at + 3)?,
        passkey: if at > 0 { attempts::first_of(&results, at + 4)? } else { None },
        spent: at > 0 && super::users::changes(&results, 0) > 0,
    })
}

fn not_held(address: &str, now: u64) -> Precondition {
    Precondition::new(
        "NOT EXISTS (SELECT 1 FROM held_addresses WHERE address = ? AND until > ?)",
        vec![text(address), int(now)],
    )
}

fn held_statement(db: &Db, address: &str, now: u64) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare(
            "SELECT COALESCE((SELECT until FROM held_addresses WHERE address = ?1 AND until > ?2), 0) AS held_until",
        )
        .bind(&[text(address), int(now)])?)
}

/// Holds `address` until `until`: its sign-ins count nothing and are refused until then.
pub async fn hold_address(db: &Db, address: &str, until: u64) -> Result<(), Error> {
    let hold = db
        .prepare(
            "INSERT INTO held_addresses (address, until) VALUES (?1, ?2) \
             ON CONFLICT (address) DO UPDATE SET until = MAX(until, excluded.until)",
        )
        .bind(&[text(address), int(until)])?;
    super::batch(db, vec![hold]).await?;
    Ok(())
}

/// Drops holds that have ended.
pub fn prune(db: &Db, now: u64) -> Result<D1PreparedStatement, Error> {
    Ok(db.prepare("DELETE FROM held_addresses WHERE until <= ?1").bind(&[int(now)])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_binds_only_up_to_its_highest_marker() {
        assert_eq!(highest_marker("SELECT ?1, ?10 WHERE ?3"), 10);
        assert_eq!(highest_marker("SELECT 1"), 0);
        let lookup = Lookup::of("a@b.c");
        for identifier in [Identifier::Email(&lookup), Identifier::Credential("x")] {
            for sql in first_step_sql(&identifier) {
                assert!(highest_marker(&sql) <= 11, "{sql}");
            }
        }
    }

    #[test]
    fn a_held_address_refuses_before_a_locked_run_and_counts_nothing() {
        assert_eq!(Reservation::settle(None, 160, 200, 100), Reservation::Held { until: 160 });
        assert_eq!(Reservation::settle(None, 0, 200, 100), Reservation::Locked { until: 200 });
        assert_eq!(Reservation::settle(None, 90, 0, 100), Reservation::Stale);
        assert_eq!(Reservation::settle(Some(130), 0, 130, 100), Reservation::Reserved { locks_until: 130 });
        assert_eq!(Reservation::settle(Some(0), 0, 0, 100), Reservation::Reserved { locks_until: 0 });
    }
}
