//! Passkeys in D1 (`passkeys`, SPEC §5.11) and the single use of WebAuthn challenges
//! (`spent_challenges`). A ceremony *spends* its challenge in the first batch it runs, under a
//! random `spent_by` of its own; everything it then decides is guarded by "this request spent
//! it", so a challenge answered twice (replayed, or raced at two edges) decides once.

use super::Db;
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::attempts::{self, Budget, Generations, Reservation};
use super::devices::{self, Trust};
use super::events::{self, NewEvent};
use super::precondition::Precondition;
use super::users::{self, UserRow};
use super::{int, text, Error, Outcome};
use crate::domain::throttle::ThrottlePolicy;
use crate::storage::kv::{ChallengeKey, KvKey};

/// A user may keep this many passkeys.
pub const MAX_PER_USER: u64 = 20;

/// How long a spent challenge is remembered: longer than any challenge lives in KV.
const SPENT_KEEP_SECONDS: u64 = 600;

#[derive(Debug, Clone, Deserialize)]
pub struct PasskeyRow {
    pub credential_id: String,
    pub user_id: String,
    pub public_key: String,
    pub algorithm: i64,
    pub sign_count: u32,
    pub backup_eligible: u32,
    pub backed_up: u32,
    pub aaguid: String,
    /// JSON array of transport hints.
    pub transports: String,
    pub name: String,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
}

const COLUMNS: &str = "credential_id, user_id, public_key, algorithm, sign_count, backup_eligible, backed_up, \
                       aaguid, transports, name, created_at, last_used_at";

/// A challenge as this request spends it.
pub struct Spend<'a> {
    pub challenge: &'a str,
    /// Random, this request's own.
    pub by: &'a str,
}

impl Spend<'_> {
    fn statement(&self, db: &Db, now: u64) -> Result<D1PreparedStatement, Error> {
        Ok(db
            .prepare(
                "INSERT INTO spent_challenges (challenge, spent_by, expires_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (challenge) DO NOTHING",
            )
            .bind(&[text(self.challenge), text(self.by), int(now + SPENT_KEEP_SECONDS)])?)
    }

    /// Holds only for the request that spent the challenge.
    fn precondition(&self) -> Precondition {
        Precondition::new(
            "EXISTS (SELECT 1 FROM spent_challenges WHERE challenge = ? AND spent_by = ?)",
            vec![text(self.challenge), text(self.by)],
        )
    }
}

/// Drops spent challenges that can no longer be answered anyway.
pub fn prune(db: &Db, now: u64) -> Result<D1PreparedStatement, Error> {
    Ok(db.prepare("DELETE FROM spent_challenges WHERE expires_at < ?1").bind(&[int(now)])?)
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<PasskeyRow>, Error> {
    super::all(
        db.prepare(format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = ?1 ORDER BY created_at, credential_id"))
            .bind(&[text(user_id)])?,
    )
    .await
}

pub async fn find(db: &Db, user_id: &str, credential_id: &str) -> Result<Option<PasskeyRow>, Error> {
    super::first(by_id(db, user_id, credential_id)?).await
}

fn by_id(db: &Db, user_id: &str, credential_id: &str) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare(format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = ?1 AND user_id = ?2"))
        .bind(&[text(credential_id), text(user_id)])?)
}

/// A credential a registration created, checked.
pub struct NewPasskey<'a> {
    pub user_id: &'a str,
    pub credential_id: &'a str,
    pub public_key: &'a str,
    pub algorithm: i64,
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub aaguid: &'a str,
    pub transports: &'a str,
    pub name: &'a str,
    pub now: u64,
}

/// What adding a passkey did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adding {
    Done,
    /// The challenge was answered before.
    ChallengeSpent,
    /// The credential id is registered already (to this account or another).
    AlreadyRegistered,
    /// The user has [`MAX_PER_USER`] passkeys.
    TooMany,
}

#[derive(Deserialize)]
struct AddCheck {
    registered: u32,
    count: u64,
}

/// Stores a new passkey with its `passkey_added` event, if this request spent the challenge,
/// the credential is new and the user has room for it: one transaction.
pub async fn add(db: &Db, new: &NewPasskey<'_>, spend: &Spend<'_>, event: &NewEvent<'_>) -> Result<Adding, Error> {
    let check = db
        .prepare(
            "SELECT EXISTS (SELECT 1 FROM passkeys WHERE credential_id = ?1) AS registered, \
             (SELECT COUNT(*) FROM passkeys WHERE user_id = ?2) AS count",
        )
        .bind(&[text(new.credential_id), text(new.user_id)])?;
    let room = Precondition::new(
        "(SELECT COUNT(*) FROM passkeys WHERE user_id = ?) < ?",
        vec![text(new.user_id), int(MAX_PER_USER)],
    );
    let pre = spend.precondition().and(Precondition::user_exists(new.user_id)).and(room);
    let insert = pre.statement(
        db,
        "INSERT INTO passkeys (credential_id, user_id, public_key, algorithm, sign_count, backup_eligible, backed_up, \
         aaguid, transports, name, created_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE {pre} \
         ON CONFLICT (credential_id) DO NOTHING",
        vec![
            text(new.credential_id),
            text(new.user_id),
            text(new.public_key),
            JsValue::from_f64(new.algorithm as f64),
            int(new.sign_count.into()),
            int(new.backup_eligible.into()),
            int(new.backed_up.into()),
            text(new.aaguid),
            text(new.transports),
            text(new.name),
            int(new.now),
        ],
    )?;
    let stored = Precondition::new(
        "EXISTS (SELECT 1 FROM passkeys WHERE credential_id = ? AND user_id = ? AND public_key = ? AND created_at = ?)",
        vec![text(new.credential_id), text(new.user_id), text(new.public_key), int(new.now)],
    );
    let statements = vec![
        check,
        spend.statement(db, new.now)?,
        insert,
        events::insert(db, event, &stored.and(spend.precondition()))?,
    ];
    let results = users::run_batch(db, statements).await?;
    if users::changes(&results, 2) > 0 {
        return Ok(Adding::Done);
    }
    if users::changes(&results, 1) == 0 {
        return Ok(Adding::ChallengeSpent);
    }
    let check: Option<AddCheck> = results.first().map(|r| r.results()).transpose()?.and_then(|r| r.into_iter().next());
    Ok(match check {
        Some(c) if c.registered != 0 => Adding::AlreadyRegistered,
        Some(c) if c.count >= MAX_PER_USER => Adding::TooMany,
        _ => Adding::AlreadyRegistered,
    })
}

/// Renames one of the user's passkeys; `None` when the user has no such passkey.
pub async fn rename(db: &Db, user_id: &str, credential_id: &str, name: &str) -> Result<Option<PasskeyRow>, Error> {
    super::first(
        db.prepare(format!(
            "UPDATE passkeys SET name = ?3 WHERE credential_id = ?1 AND user_id = ?2 RETURNING {COLUMNS}"
        ))
        .bind(&[text(credential_id), text(user_id), text(name)])?,
    )
    .await
}

/// Removes one of the user's passkeys with its `passkey_removed` event; `LostRace` when the
/// user has no such passkey (never had, or another request removed it first).
pub async fn remove(db: &Db, user_id: &str, credential_id: &str, event: &NewEvent<'_>) -> Result<Outcome, Error> {
    let exists = Precondition::new(
        "EXISTS (SELECT 1 FROM passkeys WHERE credential_id = ? AND user_id = ?)",
        vec![text(credential_id), text(user_id)],
    );
    let delete = db
        .prepare("DELETE FROM passkeys WHERE credential_id = ?1 AND user_id = ?2")
        .bind(&[text(credential_id), text(user_id)])?;
    let results = users::run_batch(db, vec![events::insert(db, event, &exists)?, delete]).await?;
    Ok(if users::changes(&results, 1) > 0 { Outcome::Applied } else { Outcome::LostRace })
}

/// A passkey sign-in's first (and only) step, reserved: the credential's account and passkey,
/// the budget the attempt counts in, and whether this request spent the challenge.
pub struct PasskeySignInAttempt {
    /// `None` when no account has this credential.
    pub found: Option<(UserRow, PasskeyRow)>,
    pub budget: Budget,
    pub reservation: Reservation,
    pub spent: bool,
}

/// Spends the challenge, finds the credential's account and reserves an attempt in its failure
/// run: the run of the device the cookie names (`device`: user id and device id) when that is a
/// trusted device of the credential's user, else the account's strangers' run. One transaction.
pub async fn reserve_sign_in(
    db: &Db,
    credential_id: &str,
    device: Option<(&str, &str)>,
    spend: &Spend<'_>,
    policy: ThrottlePolicy,
    now: u64,
) -> Result<PasskeySignInAttempt, Error> {
    let owner = "(SELECT user_id FROM passkeys WHERE credential_id = ?)";
    let (device_user, device_id) = device.unwrap_or(("", ""));
    let device_budget = Budget::Device(device_id.to_string());
    let by_device = Precondition::new(
        &format!("id = {owner} AND id = ? AND ? != ''"),
        vec![text(credential_id), text(device_user), text(device_user)],
    )
    .and(devices::is_trusted(device_user, device_id));
    let by_stranger = Precondition::new(
        &format!("id = {owner} AND NOT (id = ? AND EXISTS (SELECT 1 FROM trusted_devices WHERE user_id = ? AND device_id = ?))"),
        vec![text(credential_id), text(device_user), text(device_user), text(device_id)],
    );
    let reserve_device = attempts::reserve_where(db, &device_budget, device_user, &by_device, policy, now)?;
    let reserve_stranger = attempts::reserve_where(db, &Budget::Strangers, "", &by_stranger, policy, now)?;
    let trusted = format!("id = ?2 AND {}", devices::is_trusted_sql(2, 4));
    let user = db
        .prepare(format!(
            "SELECT id, email, name, password_hash, totp_enabled_at, password_generation, session_generation, \
             CASE WHEN {trusted} THEN COALESCE((SELECT locked_until FROM attempt_budgets WHERE scope = ?3), 0) \
             ELSE locked_until END AS locked_until, {trusted} AS by_device \
             FROM users WHERE id = (SELECT user_id FROM passkeys WHERE credential_id = ?1)"
        ))
        .bind(&[
            text(credential_id),
            text(device_user),
            text(&device_budget.scope(device_user).unwrap_or_default()),
            text(device_id),
        ])?;
    let passkey =
        db.prepare(format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = ?1")).bind(&[text(credential_id)])?;
    let statements = vec![spend.statement(db, now)?, reserve_device, reserve_stranger, user, passkey];
    let results = users::run_batch(db, statements).await?;
    let spent = users::changes(&results, 0) > 0;
    let user: Option<UserRow> = attempts::first_of(&results, 3)?;
    let lock: Option<attempts::LockedUntil> = attempts::first_of(&results, 3)?;
    let passkey: Option<PasskeyRow> = attempts::first_of(&results, 4)?;
    let (Some(user), Some(passkey), Some(lock)) = (user, passkey, lock) else {
        return Ok(PasskeySignInAttempt {
            found: None,
            budget: Budget::Strangers,
            reservation: Reservation::Stale,
            spent,
        });
    };
    let (budget, reserved) = if lock.by_device != 0 {
        (device_budget, attempts::first_of(&results, 1)?)
    } else {
        (Budget::Strangers, attempts::first_of(&results, 2)?)
    };
    let reservation = attempts::reservation_of(reserved, lock.locked_until, now);
    Ok(PasskeySignInAttempt { found: Some((user, passkey)), budget, reservation, spent })
}

/// The statements a second step or a confirmation adds to its reservation: spend the challenge,
/// read the user's passkey and names. [`ReadWithSpend::of`] reads their results.
pub fn spend_and_read(
    db: &Db,
    user_id: &str,
    credential_id: &str,
    spend: &Spend<'_>,
    now: u64,
) -> Result<Vec<D1PreparedStatement>, Error> {
    let names = db.prepare("SELECT email, name FROM users WHERE id = ?1").bind(&[text(user_id)])?;
    Ok(vec![spend.statement(db, now)?, by_id(db, user_id, credential_id)?, names])
}

/// What [`spend_and_read`]'s statements answered.
pub struct ReadWithSpend {
    /// This request spent the challenge (nobody answered it before).
    pub spent: bool,
    /// The passkey, if it is one of the user's.
    pub passkey: Option<PasskeyRow>,
    /// The user's e-mail and name.
    pub names: Option<(String, String)>,
}

impl ReadWithSpend {
    pub fn of(results: &[worker::D1Result]) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Names {
            email: String,
            name: String,
        }
        let names: Option<Names> = attempts::first_of(results, 2)?;
        Ok(Self {
            spent: users::changes(results, 0) > 0,
            passkey: attempts::first_of(results, 1)?,
            names: names.map(|n| (n.email, n.name)),
        })
    }
}

/// A passkey assertion that passed: the counter and backup state it reported.
pub struct PasskeyUse<'a> {
    pub user_id: &'a str,
    pub credential_id: &'a str,
    pub stored_count: u32,
    pub sign_count: u32,
    pub backed_up: bool,
    pub now: u64,
}

/// Records a successful passkey use: the new counter (only over the one that was verified, so
/// of two assertions with one counter only one wins), last use and backup state; ends the
/// failure run of `budget`, records `events` and, for a sign-in, trusts the browser (`trust`), all
/// only while this request's challenge is spent by it (and, for a sign-in, the generations are
/// current).
pub async fn record_use(
    db: &Db,
    used: &PasskeyUse<'_>,
    spend: &Spend<'_>,
    budget: &Budget,
    generations: Option<Generations>,
    events: &[NewEvent<'_>],
    trust: Option<&Trust>,
) -> Result<Outcome, Error> {
    let mut pre = spend.precondition().and(Precondition::new(
        "EXISTS (SELECT 1 FROM passkeys WHERE credential_id = ? AND user_id = ? AND sign_count = ?)",
        vec![text(used.credential_id), text(used.user_id), int(used.stored_count.into())],
    ));
    if let Some(generations) = generations {
        pre = pre.and(Precondition::current(used.user_id, generations));
    }
    let mut statements = events.iter().map(|e| events::insert(db, e, &pre)).collect::<Result<Vec<_>, _>>()?;
    let (reset_sql, reset_binds) = attempts::reset_when(used.user_id, budget);
    statements.push(pre.statement(db, &reset_sql, reset_binds)?);
    if let Some(trust) = trust {
        statements.push(devices::trust(db, trust, &pre)?);
    }
    statements.push(pre.statement(
        db,
        "UPDATE passkeys SET sign_count = ?3, backed_up = ?4, last_used_at = ?5 \
         WHERE credential_id = ?1 AND user_id = ?2 AND {pre}",
        vec![
            text(used.credential_id),
            text(used.user_id),
            int(used.sign_count.into()),
            int(used.backed_up.into()),
            int(used.now),
        ],
    )?);
    let results = users::run_batch(db, statements).await?;
    Ok(if users::changes(&results, results.len() - 1) > 0 { Outcome::Applied } else { Outcome::LostRace })
}

/// What a WebAuthn challenge was issued for; the ceremony that answers it must be that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Register,
    SignIn,
    SecondStep,
    Confirm,
}

/// A challenge in KV (`challenge:{challenge}`, TTL 300 s): for what, and bound to which session
/// or pending sign-in (its id; empty for a sign-in, which has neither).
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct IssuedChallenge {
    pub purpose: Purpose,
    pub bound_to: String,
    pub user_id: String,
}

pub async fn put_challenge(
    kv: &worker::KvStore,
    challenge: &str,
    issued: &IssuedChallenge,
    ttl: u64,
) -> Result<(), Error> {
    let (key, value) = (ChallengeKey(challenge).name(), serde_json::to_string(issued)?);
    super::retry(
        |_: &worker::KvError| true,
        || async { kv.put(&key, value.as_str())?.expiration_ttl(ttl.max(60)).execute().await },
    )
    .await?;
    Ok(())
}

pub async fn get_challenge(kv: &worker::KvStore, challenge: &str) -> Result<Option<IssuedChallenge>, Error> {
    let key = ChallengeKey(challenge).name();
    let text = super::retry(|_: &worker::KvError| true, || kv.get(&key).text()).await?;
    Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
}

pub async fn forget_challenge(kv: &worker::KvStore, challenge: &str) -> Result<(), Error> {
    let key = ChallengeKey(challenge).name();
    super::retry(|_: &worker::KvError| true, || kv.delete(&key)).await?;
    Ok(())
}
