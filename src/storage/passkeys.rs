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
use super::users;
use super::{int, text, Error, Outcome};
use crate::domain::throttle::ThrottlePolicy;
use crate::storage::kv::{ChallengeKey, KvKey};

/// A user may keep this many passkeys.
pub const MAX_PER_USER: u64 = 20;

/// How long a spent challenge is remembered: longer than any challenge lives in KV.
pub(super) const SPENT_KEEP_SECONDS: u64 = 600;

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

pub(super) const COLUMNS: &str =
    "credential_id, user_id, public_key, algorithm, sign_count, backup_eligible, backed_up, \
                       aaguid, transports, name, created_at, last_used_at";

/// A challenge as this request spends it.
pub struct Spend<'a> {
    pub challenge: &'a str,
    /// Random, this request's own.
    pub by: &'a str,
}

impl Spend<'_> {
    pub(super) fn statement(&self, db: &Db, now: u64) -> Result<D1PreparedStatement, Error> {
        Ok(db
            .prepare(
                "INSERT INTO spent_challenges (challenge, spent_by, expires_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (challenge) DO NOTHING",
            )
            .bind(&[text(self.challenge), text(self.by), int(now + SPENT_KEEP_SECONDS)])?)
    }

    /// Holds only for the request that spent the challenge.
    pub(super) fn precondition(&self) -> Precondition {
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
    let stored = Precondition::new(
        "EXISTS (SELECT 1 FROM passkeys WHERE credential_id = ? AND user_id = ? AND public_key = ? AND created_at = ?)",
        vec![text(new.credential_id), text(new.user_id), text(new.public_key), int(new.now)],
    );
    let statements = vec![
        check,
        spend.statement(db, new.now)?,
        insert_passkey(db, new, spend)?,
        events::insert(db, event, &stored.and(spend.precondition()))?,
    ];
    let results = users::run_batch(db, statements).await?;
    if users::changes(&results, 2) > 0 {
        return Ok(Adding::Done);
    }
    if users::changes(&results, 1) == 0 {
        return Ok(Adding::ChallengeSpent);
    }
    let check: Option<AddCheck> = attempts::first_of(&results, 0)?;
    Ok(match check {
        Some(c) if c.registered == 0 && c.count >= MAX_PER_USER => Adding::TooMany,
        _ => Adding::AlreadyRegistered,
    })
}

/// The insert of a new passkey, only by the request that spent the challenge, for a user that
/// exists and has room for one more.
fn insert_passkey(db: &Db, new: &NewPasskey<'_>, spend: &Spend<'_>) -> Result<D1PreparedStatement, Error> {
    let room = Precondition::new(
        "(SELECT COUNT(*) FROM passkeys WHERE user_id = ?) < ?",
        vec![text(new.user_id), int(MAX_PER_USER)],
    );
    let pre = spend.precondition().and(Precondition::user_exists(new.user_id)).and(room);
    pre.statement(
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
    )
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

/// A signed-in session's assertion ("Confirm it's you" with a passkey), to reserve.
pub struct SessionAssertion<'a> {
    pub user_id: &'a str,
    /// The session's own run.
    pub budget: &'a Budget,
    pub credential_id: &'a str,
    pub spend: &'a Spend<'a>,
    pub policy: ThrottlePolicy,
    pub now: u64,
}

/// What reserving a session's assertion found.
pub struct SessionAssertionReserved {
    pub reservation: Reservation,
    /// The passkey, if the credential id is one of the user's.
    pub passkey: Option<PasskeyRow>,
    /// This request spent the challenge.
    pub spent: bool,
}

/// Spends the challenge, reserves an attempt in the session's run and reads the user's passkey
/// of that credential id: one transaction.
pub async fn reserve_for_session(db: &Db, asking: &SessionAssertion<'_>) -> Result<SessionAssertionReserved, Error> {
    let which = Precondition::new("id = ?", vec![text(asking.user_id)]);
    let mut statements = vec![asking.spend.statement(db, asking.now)?];
    statements.extend(attempts::reserve_statements(
        db,
        asking.budget,
        asking.user_id,
        &which,
        asking.policy,
        asking.now,
    )?);
    statements.push(by_id(db, asking.user_id, asking.credential_id)?);
    let results = users::run_batch(db, statements).await?;
    Ok(SessionAssertionReserved {
        reservation: attempts::reservation_in(&results, 1, asking.now)?,
        passkey: attempts::first_of(&results, 3)?,
        spent: users::changes(&results, 0) > 0,
    })
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

/// What recording a passkey use did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Applied,
    /// Another assertion of this passkey was recorded first (its counter moved on).
    CounterMoved,
    /// The sign-in's generations are no longer current (a password change or "sign out
    /// everywhere" came in between).
    Stale,
}

#[derive(Deserialize)]
struct CounterSame {
    counter_same: u32,
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
) -> Result<Recorded, Error> {
    let counter = Precondition::new(
        "EXISTS (SELECT 1 FROM passkeys WHERE credential_id = ? AND user_id = ? AND sign_count = ?)",
        vec![text(used.credential_id), text(used.user_id), int(used.stored_count.into())],
    );
    let mut pre = spend.precondition().and(counter.clone());
    if let Some(generations) = generations {
        pre = pre.and(Precondition::current(used.user_id, generations));
    }
    let mut statements = events.iter().map(|e| events::insert(db, e, &pre)).collect::<Result<Vec<_>, _>>()?;
    let (reset_sql, reset_binds) = attempts::reset_when(used.user_id, budget);
    statements.push(pre.statement(db, &reset_sql, reset_binds)?);
    if let Some(trust) = trust {
        statements.push(devices::trust(db, trust, &pre)?);
    }
    statements.push(update_use(db, used, &pre)?);
    let deciding = statements.len() - 1;
    statements.push(counter.statement(db, "SELECT {pre} AS counter_same", vec![])?);
    let results = users::run_batch(db, statements).await?;
    if users::changes(&results, deciding) > 0 {
        return Ok(Recorded::Applied);
    }
    let same: Option<CounterSame> = attempts::first_of(&results, deciding + 1)?;
    Ok(if same.is_some_and(|s| s.counter_same != 0) { Recorded::Stale } else { Recorded::CounterMoved })
}

/// The passkey's new counter, backup state and last use, while `pre` holds (the deciding write).
fn update_use(db: &Db, used: &PasskeyUse<'_>, pre: &Precondition) -> Result<D1PreparedStatement, Error> {
    pre.statement(
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
    )
}

/// What a WebAuthn challenge was issued for; the ceremony that answers it must be that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Register,
    /// A passkey the browser creates without asking (WebAuthn conditional create).
    AutoRegister,
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
