//! Second factors in D1: the encrypted TOTP secret, the replay guard and recovery-code hashes.
//!
//! Every change is one `batch` (one transaction) whose statements share a *precondition*: the
//! state that was verified before the batch (this pending secret, a step above the last one,
//! this unused recovery code, the generations a sign-in was verified under). Events and side
//! writes come first, each guarded by it; the deciding write comes last and is guarded by it
//! too, so two racing requests cannot both win and an event is written only with the change it
//! records. Each function runs its batch and answers an [`Outcome`].

use super::Db;
use serde::Deserialize;
use serde_json::Value;
use worker::D1PreparedStatement;

use super::attempts::{self, Budget, Generations};
use super::devices::{self, Trust};
use super::events::{self, EventType, NewEvent, Origin};
use super::precondition::Precondition;
use super::Error;
use super::{int, text, users, Outcome};
use crate::domain::ids::UserId;

/// What checking a factor needs about the account, in one read.
#[derive(Debug, Clone, Deserialize)]
pub struct FactorsRow {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_pending_secret: Option<String>,
    pub totp_enabled_at: Option<u64>,
    pub totp_last_step: u64,
}

impl FactorsRow {
    pub fn enabled(&self) -> bool {
        self.totp_enabled_at.is_some()
    }
}

/// The same view from the row every authenticated request already read with its session.
impl From<&users::AuthRow> for FactorsRow {
    fn from(user: &users::AuthRow) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            password_hash: user.password_hash.clone(),
            totp_secret: user.totp_secret.clone(),
            totp_pending_secret: user.totp_pending_secret.clone(),
            totp_enabled_at: user.totp_enabled_at,
            totp_last_step: user.totp_last_step,
        }
    }
}

/// The statement that reads [`FactorsRow`], to run in a batch (the second sign-in step reads it
/// with its reservation).
pub fn factors_statement(db: &Db, user_id: &str) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare(
            "SELECT id, email, name, password_hash, totp_secret, totp_pending_secret, \
             totp_enabled_at, totp_last_step FROM users WHERE id = ?1",
        )
        .bind(&[text(user_id)])?)
}

/// How many unused recovery codes are stored under a key other than `key_id` (see
/// `Keyring::recovery_key_id`): codes the user should regenerate.
pub async fn codes_under_other_keys(db: &Db, user_id: &str, key_id: &str) -> Result<u32, Error> {
    let statement = db
        .prepare(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL \
             AND substr(code_hash, 1, instr(code_hash, '.') - 1) != ?2",
        )
        .bind(&[text(user_id), text(key_id)])?;
    Ok(super::first::<super::Count>(statement).await?.map_or(0, |c| c.n))
}

/// Keeps a new (encrypted) secret as the unfinished set-up, replacing any earlier one;
/// `LostRace` when two-factor authentication is already on.
pub async fn start_setup(db: &Db, user_id: &str, pending_secret: &str) -> Result<Outcome, Error> {
    let statement = db
        .prepare("UPDATE users SET totp_pending_secret = ?2 WHERE id = ?1 AND totp_enabled_at IS NULL")
        .bind(&[text(user_id), text(pending_secret)])?;
    let results = users::run_batch(db, vec![statement]).await?;
    Ok(outcome_at(&results, 0))
}

fn enabled(user_id: &str) -> Precondition {
    Precondition::two_factor_on(user_id)
}

fn current(user_id: &str, generations: Generations) -> Precondition {
    Precondition::current(user_id, generations)
}

/// An event written only if `pre` holds.
fn event(
    db: &Db,
    pre: &Precondition,
    user_id: &str,
    kind: EventType,
    at: u64,
    origin: &Origin,
) -> Result<D1PreparedStatement, Error> {
    let new = NewEvent { user_id, kind, at, origin, detail: serde_json::json!({}) };
    events::insert(db, &new, pre)
}

fn outcome_at(results: &[worker::D1Result], index: usize) -> Outcome {
    if users::changes(results, index) > 0 {
        Outcome::Applied
    } else {
        Outcome::LostRace
    }
}

fn last_outcome(results: &[worker::D1Result]) -> Outcome {
    outcome_at(results, results.len().saturating_sub(1))
}

/// A factor the user proved, to be used up by the batch that accepts it.
pub enum Proof<'a> {
    /// A TOTP code of `step` under the stored secret `secret` (ciphertext as stored).
    Totp { secret: &'a str, step: u64 },
    /// A recovery code, as its possible stored hashes (one per key).
    RecoveryCode { candidates: &'a [String] },
}

impl Proof<'_> {
    fn precondition(&self, user_id: &str) -> Precondition {
        match self {
            Self::Totp { secret, step } => Precondition::new(
                "EXISTS (SELECT 1 FROM users WHERE id = ? AND totp_enabled_at IS NOT NULL AND totp_secret = ? AND totp_last_step < ?)",
                vec![text(user_id), text(secret), int(*step)],
            ),
            Self::RecoveryCode { candidates } => enabled(user_id).and(self.unused_code(user_id, candidates)),
        }
    }

    fn unused_code(&self, user_id: &str, candidates: &[String]) -> Precondition {
        Precondition::new(
            "EXISTS (SELECT 1 FROM recovery_codes WHERE user_id = ? AND used_at IS NULL AND code_hash IN (SELECT value FROM json_each(?)))",
            vec![text(user_id), text(&Value::from(candidates.to_vec()).to_string())],
        )
    }
}

/// An event to record with a change.
pub struct Event {
    pub kind: EventType,
    pub detail: Value,
}

/// What a successful factor check ends besides the proof: the failure run it was counted in,
/// and (for a sign-in) the generations it must still be under.
pub struct Use<'a> {
    pub budget: &'a Budget,
    pub generations: Option<Generations>,
    pub events: &'a [Event],
    /// For a sign-in: the browser it trusts (`trusted_devices`), with the proof.
    pub trust: Option<&'a Trust>,
}

/// Uses up `proof` (the TOTP step becomes the last accepted one; the recovery code is marked
/// used, recorded as `recovery_code_used` with the codes that remain), ends the failure run,
/// records the events and trusts the browser of a sign-in, all only if the proof is still unused
/// (and the generations current).
pub async fn use_proof(
    db: &Db,
    user_id: &str,
    proof: &Proof<'_>,
    using: &Use<'_>,
    now: u64,
    origin: &Origin,
) -> Result<Outcome, Error> {
    let mut pre = proof.precondition(user_id);
    if let Some(generations) = using.generations {
        pre = pre.and(current(user_id, generations));
    }
    let mut statements = guarded_events(db, &pre, user_id, proof, now, origin, using.events)?;
    let (reset_sql, reset_binds) = attempts::reset_when(user_id, using.budget);
    statements.push(pre.statement(db, &reset_sql, reset_binds)?);
    if let Some(trust) = using.trust {
        statements.push(devices::trust(db, trust, &pre)?);
    }
    statements.push(match proof {
        Proof::Totp { step, .. } => pre.statement(
            db,
            "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND {pre}",
            vec![text(user_id), int(*step)],
        )?,
        Proof::RecoveryCode { candidates } => {
            let mut condition = enabled(user_id);
            if let Some(generations) = using.generations {
                condition = condition.and(current(user_id, generations));
            }
            condition.statement(
                db,
                "UPDATE recovery_codes SET used_at = ?3 WHERE user_id = ?1 AND used_at IS NULL \
                 AND code_hash IN (SELECT value FROM json_each(?2)) AND {pre}",
                vec![text(user_id), text(&Value::from(candidates.to_vec()).to_string()), int(now)],
            )?
        }
    });
    Ok(last_outcome(&users::run_batch(db, statements).await?))
}

fn guarded_events(
    db: &Db,
    pre: &Precondition,
    user_id: &str,
    proof: &Proof<'_>,
    now: u64,
    origin: &Origin,
    events: &[Event],
) -> Result<Vec<D1PreparedStatement>, Error> {
    let mut statements = Vec::new();
    if let Proof::RecoveryCode { .. } = proof {
        // Written before the code is marked used: the count left after this use.
        let remaining = "json_object('remaining', \
            (SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL) - 1)";
        let used =
            NewEvent { user_id, kind: EventType::RecoveryCodeUsed, at: now, origin, detail: serde_json::json!({}) };
        statements.push(events::insert_computed(db, &used, pre, remaining)?);
    }
    for e in events {
        let new = NewEvent { user_id, kind: e.kind, at: now, origin, detail: e.detail.clone() };
        statements.push(events::insert(db, &new, pre)?);
    }
    Ok(statements)
}

/// Two-factor authentication turned on: the set-up's secret, the step of the code that proved it
/// and the new recovery codes' stored forms.
pub struct EnableTotp<'a> {
    pub user_id: &'a str,
    /// The pending secret (ciphertext as stored) that the code was checked against.
    pub pending: &'a str,
    pub step: u64,
    pub code_hashes: &'a [String],
    /// The session's run, which ends with it.
    pub budget: &'a Budget,
    pub origin: &'a Origin,
    pub now: u64,
}

/// Turns two-factor authentication on with the pending secret if the code of `step` proved it,
/// storing `step` as used and the recovery codes (replacing any), and ends the failure run.
pub async fn enable(db: &Db, e: &EnableTotp<'_>) -> Result<Outcome, Error> {
    let (user_id, pending, step, code_hashes, budget, now, origin) =
        (e.user_id, e.pending, e.step, e.code_hashes, e.budget, e.now, e.origin);
    let pre = Precondition::new(
        "EXISTS (SELECT 1 FROM users WHERE id = ? AND totp_enabled_at IS NULL AND totp_pending_secret = ? AND totp_last_step < ?)",
        vec![text(user_id), text(pending), int(step)],
    );
    let mut statements = replace_codes(db, &pre, user_id, code_hashes)?;
    statements.push(event(db, &pre, user_id, EventType::TwoFactorEnabled, now, origin)?);
    let (reset_sql, reset_binds) = attempts::reset_when(user_id, budget);
    statements.push(pre.statement(db, &reset_sql, reset_binds)?);
    statements.push(pre.statement(
        db,
        "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_enabled_at = ?2, \
         totp_last_step = ?3 WHERE id = ?1 AND {pre}",
        vec![text(user_id), int(now), int(step)],
    )?);
    Ok(last_outcome(&users::run_batch(db, statements).await?))
}

/// Replaces the whole set of recovery codes while two-factor authentication is on.
pub async fn regenerate(
    db: &Db,
    user_id: &str,
    code_hashes: &[String],
    now: u64,
    origin: &Origin,
) -> Result<Outcome, Error> {
    let pre = enabled(user_id);
    let mut statements = vec![event(db, &pre, user_id, EventType::RecoveryCodesRegenerated, now, origin)?];
    statements.extend(replace_codes(db, &pre, user_id, code_hashes)?);
    Ok(last_outcome(&users::run_batch(db, statements).await?))
}

fn replace_codes(
    db: &Db,
    pre: &Precondition,
    user_id: &str,
    code_hashes: &[String],
) -> Result<Vec<D1PreparedStatement>, Error> {
    Ok(vec![
        pre.statement(db, "DELETE FROM recovery_codes WHERE user_id = ?1 AND {pre}", vec![text(user_id)])?,
        pre.statement(
            db,
            "INSERT INTO recovery_codes (user_id, code_hash) SELECT ?1, value FROM json_each(?2) WHERE {pre}",
            vec![text(user_id), text(&Value::from(code_hashes.to_vec()).to_string())],
        )?,
    ])
}

/// Turns two-factor authentication off if `proof` is still unused: clears the secrets and the
/// replay guard, deletes the recovery codes, records `two_factor_disabled` (and
/// `recovery_code_used`), ends the failure run of `budget`.
pub async fn disable(
    db: &Db,
    user_id: &str,
    proof: &Proof<'_>,
    budget: &Budget,
    now: u64,
    origin: &Origin,
) -> Result<Outcome, Error> {
    let pre = proof.precondition(user_id);
    let events = [Event { kind: EventType::TwoFactorDisabled, detail: serde_json::json!({}) }];
    let mut statements = guarded_events(db, &pre, user_id, proof, now, origin, &events)?;
    let (reset_sql, reset_binds) = attempts::reset_when(user_id, budget);
    statements.push(pre.statement(db, &reset_sql, reset_binds)?);
    let deciding = statements.len();
    statements.push(pre.statement(
        db,
        "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_enabled_at = NULL, \
         totp_last_step = 0 WHERE id = ?1 AND {pre}",
        vec![text(user_id)],
    )?);
    // Whoever turned it off, an account without two-factor authentication keeps no codes.
    statements.push(
        db.prepare(
            "DELETE FROM recovery_codes WHERE user_id = ?1 \
             AND NOT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND totp_enabled_at IS NOT NULL)",
        )
        .bind(&[text(user_id)])?,
    );
    Ok(outcome_at(&users::run_batch(db, statements).await?, deciding))
}
