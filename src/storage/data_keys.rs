//! Envelope data keys in D1 (`data_keys`, migration 0003) and the rows that name them: TOTP
//! secrets (`users.totp_secret`, `users.totp_pending_secret`) and recovery-code hashes. Every
//! write here is guarded by the value it replaces, so isolates that do the same work at once
//! (re-wrapping a key, re-encrypting a secret) change each row once and never lose a newer value.

use super::Db;
use serde::Deserialize;
use serde_json::Value;

use super::{all, batch, first, int, text, users, Error, Outcome};

/// A data key as D1 keeps it.
#[derive(Debug, Clone, Deserialize)]
pub struct DataKeyRow {
    pub kid: String,
    pub purpose: String,
    pub wrapped: String,
    pub wrapped_by: String,
    pub retired_at: Option<u64>,
}

/// Every data key, active and retired (a handful of rows).
pub async fn all_keys(db: &Db) -> Result<Vec<DataKeyRow>, Error> {
    all(db.prepare("SELECT kid, purpose, wrapped, wrapped_by, retired_at FROM data_keys ORDER BY created_at")).await
}

/// Stores each new key as the active key of its purpose unless that purpose has one (another
/// isolate may have won the race: the caller reads the keys again and uses the winners').
pub async fn create(db: &Db, rows: &[DataKeyRow], now: u64) -> Result<(), Error> {
    let statements = rows
        .iter()
        .map(|row| {
            db.prepare(
                "INSERT OR IGNORE INTO data_keys (kid, purpose, wrapped, wrapped_by, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(&[
                text(&row.kid),
                text(&row.purpose),
                text(&row.wrapped),
                text(&row.wrapped_by),
                int(now),
            ])
        })
        .collect::<Result<Vec<_>, _>>()?;
    batch(db, statements).await?;
    Ok(())
}

/// A data key wrapped again under another root key.
#[derive(Debug, Clone)]
pub struct Rewrapped {
    pub kid: String,
    /// The root key it was wrapped under, as the reader saw it.
    pub old_wrapped_by: String,
    pub wrapped: String,
    pub wrapped_by: String,
}

/// Replaces the wrapped form of the key, only if it is still wrapped under `old_wrapped_by`.
pub async fn rewrap(db: &Db, r: &Rewrapped) -> Result<Outcome, Error> {
    let statement = db
        .prepare("UPDATE data_keys SET wrapped = ?3, wrapped_by = ?4 WHERE kid = ?1 AND wrapped_by = ?2")
        .bind(&[text(&r.kid), text(&r.old_wrapped_by), text(&r.wrapped), text(&r.wrapped_by)])?;
    let results = batch(db, vec![statement]).await?;
    Ok(if users::changes(&results, 0) > 0 { Outcome::Applied } else { Outcome::LostRace })
}

/// Which stored TOTP secret of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretColumn {
    Enabled,
    Pending,
}

impl SecretColumn {
    fn name(self) -> &'static str {
        match self {
            Self::Enabled => "totp_secret",
            Self::Pending => "totp_pending_secret",
        }
    }
}

/// A user's stored secret `old` and the same secret under another key, `new`.
pub struct Reencrypted {
    pub user_id: String,
    pub column: SecretColumn,
    pub old: String,
    pub new: String,
}

/// Stores each re-encrypted secret, only where the stored value is still the old one (one
/// transaction); answers how many were stored.
pub async fn reencrypt(db: &Db, secrets: &[Reencrypted]) -> Result<usize, Error> {
    if secrets.is_empty() {
        return Ok(0);
    }
    let statements = secrets
        .iter()
        .map(|s| {
            let col = s.column.name();
            db.prepare(format!("UPDATE users SET {col} = ?3 WHERE id = ?1 AND {col} = ?2")).bind(&[
                text(&s.user_id),
                text(&s.old),
                text(&s.new),
            ])
        })
        .collect::<Result<Vec<_>, _>>()?;
    let results = batch(db, statements).await?;
    Ok((0..results.len()).map(|i| users::changes(&results, i)).sum())
}

/// A user whose stored secrets are not all under the key `current_kid`.
#[derive(Debug, Clone, Deserialize)]
pub struct OutdatedSecrets {
    pub id: String,
    pub totp_secret: Option<String>,
    pub totp_pending_secret: Option<String>,
}

/// Up to `limit` users with a secret under one of the keys `from` (keys this worker can read
/// that are not the current TOTP key).
pub async fn outdated_secrets(db: &Db, from: &[String], limit: u64) -> Result<Vec<OutdatedSecrets>, Error> {
    let sql = "SELECT id, totp_secret, totp_pending_secret FROM users \
               WHERE substr(totp_secret, 4, 8) IN (SELECT value FROM json_each(?1)) \
               OR substr(totp_pending_secret, 4, 8) IN (SELECT value FROM json_each(?1)) LIMIT ?2";
    all(db.prepare(sql).bind(&[text(&Value::from(from.to_vec()).to_string()), int(limit)])?).await
}

/// What still depends on the keys `kids`: data keys wrapped under them, TOTP secrets and unused
/// recovery codes made under them (values from before data keys existed).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Dependents {
    pub data_keys: u64,
    pub totp_secrets: u64,
    pub recovery_codes: u64,
}

impl Dependents {
    pub fn none(&self) -> bool {
        self.data_keys == 0 && self.totp_secrets == 0 && self.recovery_codes == 0
    }
}

pub async fn dependents(db: &Db, kids: &[String]) -> Result<Dependents, Error> {
    let statement = db
        .prepare(
            "SELECT (SELECT count(*) FROM data_keys WHERE wrapped_by IN (SELECT value FROM json_each(?1))) AS data_keys, \
             (SELECT count(*) FROM users WHERE substr(totp_secret, 4, 8) IN (SELECT value FROM json_each(?1)) \
              OR substr(totp_pending_secret, 4, 8) IN (SELECT value FROM json_each(?1))) AS totp_secrets, \
             (SELECT count(*) FROM recovery_codes WHERE used_at IS NULL \
              AND substr(code_hash, 1, 8) IN (SELECT value FROM json_each(?1))) AS recovery_codes",
        )
        .bind(&[text(&Value::from(kids.to_vec()).to_string())])?;
    Ok(first(statement).await?.unwrap_or_default())
}

/// Deletes data keys retired before `retired_before` that nothing uses any more: TOTP keys no
/// stored secret names, recovery keys no unused code names, and every retired device key (it
/// signs nothing). (An isolate may use a key for new values until its copy of the keys expires,
/// so a key retired moments ago is kept.)
pub async fn delete_unused_retired(db: &Db, retired_before: u64) -> Result<(), Error> {
    let statement = db.prepare(
        "DELETE FROM data_keys WHERE retired_at IS NOT NULL AND retired_at < ?1 AND ( \
           purpose = 'device' \
           OR (purpose = 'totp' AND NOT EXISTS (SELECT 1 FROM users WHERE substr(totp_secret, 4, 8) = data_keys.kid \
               OR substr(totp_pending_secret, 4, 8) = data_keys.kid)) \
           OR (purpose = 'recovery' AND NOT EXISTS (SELECT 1 FROM recovery_codes WHERE used_at IS NULL \
               AND substr(code_hash, 1, 8) = data_keys.kid)))",
    );
    batch(db, vec![statement.bind(&[int(retired_before)])?]).await?;
    Ok(())
}
