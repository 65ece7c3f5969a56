//! The keys: root keys from `SECRET_KEY` (and `SECRET_KEY_PREVIOUS` during a rotation) and the
//! data keys they wrap in D1 (issue 16, README "Rotating SECRET_KEY").
//!
//! [`load`] reads the data keys once per isolate and keeps them for [`CACHE_SECONDS`]: a request
//! that needs them costs one small D1 read only when this isolate has none (or stale ones). On
//! that read it creates a missing key (the first run after migration 0003, or after a data key was
//! retired) and re-wraps, in the background, every key it finds wrapped under a previous root key.
//! The daily scheduled run does the same, re-encrypts TOTP secrets that are not under the TOTP
//! data key, deletes retired keys nothing uses, and logs whether the previous key is still needed.

use std::cell::RefCell;

use serde_json::json;
use worker::Env;

use crate::storage::Db;

use crate::app::App;
use crate::domain::secrets::{DataKey, Keyring, Purpose, Undecryptable, WrappedKey};
use crate::http::ApiError;
use crate::storage::data_keys::{self, DataKeyRow, Reencrypted, SecretColumn};
use crate::storage::events::{self, EventType};
use crate::storage::precondition::Precondition;
use crate::storage::{self, Outcome};

/// How long an isolate uses the data keys it read before reading them again (a data key rotated
/// elsewhere is used for new values at the latest this much later).
pub const CACHE_SECONDS: u64 = 300;

/// TOTP secrets the scheduled run re-encrypts per D1 batch, and batches per run.
const REENCRYPT_BATCH: u64 = 100;
const REENCRYPT_BATCHES: usize = 20;

struct Cached {
    root_id: String,
    loaded_at: u64,
    keys: Vec<DataKey>,
}

thread_local! {
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

fn cached(root_id: &str, now: u64) -> Option<Vec<DataKey>> {
    CACHE.with_borrow(|cache| {
        cache.as_ref().filter(|c| c.root_id == root_id && now < c.loaded_at + CACHE_SECONDS).map(|c| c.keys.clone())
    })
}

fn remember(root_id: &str, now: u64, keys: &[DataKey]) {
    CACHE.set(Some(Cached { root_id: root_id.to_string(), loaded_at: now, keys: keys.to_vec() }));
}

/// The root keys alone.
fn root_keys(env: &Env) -> Result<Keyring, ApiError> {
    let current = env.secret("SECRET_KEY").map(|s| s.to_string()).map_err(|_| {
        worker::console_error!("SECRET_KEY is not set");
        ApiError::Internal
    })?;
    let previous = env.secret("SECRET_KEY_PREVIOUS").ok().map(|s| s.to_string());
    Keyring::new(&current, previous.as_deref()).map_err(|_| {
        worker::console_error!("SECRET_KEY or SECRET_KEY_PREVIOUS is not base64 of at least 32 bytes");
        ApiError::Internal
    })
}

/// The root keys and the data keys this isolate already holds, without waiting for D1. Callers
/// use [`load`] (or [`load_for`]); a ring without data keys (which `load` never answers) makes a
/// factor check answer [`not_loaded`] rather than misjudge a code made under a data key.
fn keyring(app: &App) -> Result<Keyring, ApiError> {
    let root = root_keys(&app.env)?;
    let keys = CACHE.with_borrow(|c| c.as_ref().filter(|c| c.root_id == root.root_id()).map(|c| c.keys.clone()));
    Ok(root.with_data_keys(keys.unwrap_or_default()))
}

/// The root keys and the data keys, read from D1 unless this isolate read them recently.
pub async fn load(app: &App) -> Result<Keyring, ApiError> {
    let root = root_keys(&app.env)?;
    if let Some(keys) = cached(root.root_id(), app.now) {
        return Ok(root.with_data_keys(keys));
    }
    let db = app.db()?;
    let (ring, rewraps) = read(&db, root, app.now).await?;
    if !rewraps.is_empty() {
        app.in_background(async move { rewrap(&db, &rewraps).await });
    }
    Ok(ring)
}

/// [`load`], reading D1 again if `stored` (a TOTP secret) names a key the isolate's copy lacks
/// (a data key rotated in the last [`CACHE_SECONDS`]).
pub async fn load_for(app: &App, stored: Option<&str>) -> Result<Keyring, ApiError> {
    let keys = load(app).await?;
    match stored {
        Some(stored) if !keys.knows_key_of(stored) => {
            CACHE.set(None);
            load(app).await
        }
        _ => Ok(keys),
    }
}

/// A data key found wrapped under a previous root key, wrapped again under `SECRET_KEY`.
struct Rewrap {
    kid: String,
    old_wrapped_by: String,
    new: WrappedKey,
}

/// Reads the data keys (creating the active key of a purpose that has none) and unwraps them;
/// answers the ring and the keys to re-wrap, or 503 `secret_key_mismatch` when the root keys do
/// not open the data keys D1 holds: then nothing is made under a key nobody keeps, no data key
/// included.
async fn read(db: &Db, root: Keyring, now: u64) -> Result<(Keyring, Vec<Rewrap>), ApiError> {
    let mut rows = data_keys::all_keys(db).await?;
    let mut opened = open(&root, &rows)?;
    refuse_a_mismatch(&root, &rows, &opened)?;
    let has_active =
        |rows: &[DataKeyRow], p: Purpose| rows.iter().any(|r| r.purpose == p.as_str() && r.retired_at.is_none());
    let missing: Vec<Purpose> = Purpose::ALL.into_iter().filter(|p| !has_active(&rows, *p)).collect();
    if !missing.is_empty() {
        data_keys::create(db, &new_keys(&root, &missing)?, now).await?;
        rows = data_keys::all_keys(db).await?;
        opened = open(&root, &rows)?;
        // An isolate with another SECRET_KEY may have made them first.
        refuse_a_mismatch(&root, &rows, &opened)?;
    }
    for row in rows.iter().filter(|r| !opened.keys.iter().any(|k| k.kid == r.kid)) {
        let log = json!({
            "msg": "data_key_unavailable",
            "kid": row.kid,
            "purpose": row.purpose,
            "wrapped_by": row.wrapped_by,
            "advice": "set the key with this id as SECRET_KEY or in SECRET_KEY_PREVIOUS",
        });
        worker::console_error!("{log}");
    }
    remember(root.root_id(), now, &opened.keys);
    Ok((root.with_data_keys(opened.keys), opened.rewraps))
}

fn random_failed(error: getrandom::Error) -> ApiError {
    worker::console_error!("no random bytes for a data key: {error}");
    ApiError::Internal
}

/// A new data key of each purpose, wrapped under `SECRET_KEY`.
fn new_keys(root: &Keyring, purposes: &[Purpose]) -> Result<Vec<DataKeyRow>, ApiError> {
    let mut new = Vec::new();
    for purpose in purposes {
        let key = DataKey::generate(*purpose).map_err(random_failed)?;
        let wrapped = root.wrap(&key).map_err(random_failed)?;
        let (wrapped, wrapped_by) = (wrapped.wrapped, wrapped.wrapped_by);
        new.push(DataKeyRow { kid: key.kid, purpose: purpose.as_str().into(), wrapped, wrapped_by, retired_at: None });
    }
    Ok(new)
}

/// The data keys the root keys open, and those to re-wrap under `SECRET_KEY`.
struct Opened {
    keys: Vec<DataKey>,
    rewraps: Vec<Rewrap>,
}

fn open(root: &Keyring, rows: &[DataKeyRow]) -> Result<Opened, ApiError> {
    let mut opened = Opened { keys: Vec::new(), rewraps: Vec::new() };
    for row in rows {
        let Some(purpose) = Purpose::parse(&row.purpose) else { continue };
        let stored = WrappedKey { wrapped: row.wrapped.clone(), wrapped_by: row.wrapped_by.clone() };
        let Some(key) = root.unwrap(&row.kid, purpose, &stored, row.retired_at.is_none()) else { continue };
        if row.wrapped_by != root.root_id() {
            let new = root.wrap(&key).map_err(random_failed)?;
            opened.rewraps.push(Rewrap { kid: row.kid.clone(), old_wrapped_by: row.wrapped_by.clone(), new });
        }
        opened.keys.push(key);
    }
    Ok(opened)
}

/// The rows that make the root keys a mismatch: per purpose, its active key when none of the
/// root keys opens it, or, for a purpose without an active key, its retired keys when none of
/// them opens (a key made now would be made under a key its data was never under). A purpose
/// with no row at all (a fresh database) is no mismatch.
fn mismatched<'a>(rows: &'a [DataKeyRow], opened: &[&str]) -> Vec<&'a DataKeyRow> {
    let mut refused = Vec::new();
    for purpose in Purpose::ALL.map(Purpose::as_str) {
        let has_active = rows.iter().any(|r| r.purpose == purpose && r.retired_at.is_none());
        let opens = |r: &DataKeyRow| opened.contains(&r.kid.as_str());
        // Without an active key, a retired key that opens is enough to make a new one under it.
        if !has_active && rows.iter().any(|r| r.purpose == purpose && opens(r)) {
            continue;
        }
        for row in rows.iter().filter(|r| r.purpose == purpose && (r.retired_at.is_none() || !has_active)) {
            if !opens(row) {
                refused.push(row);
            }
        }
    }
    refused
}

thread_local! {
    /// The `SECRET_KEY` id whose mismatch this isolate logged.
    static MISMATCH_LOGGED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// 503 `secret_key_mismatch` when the root keys do not open the data keys (see [`mismatched`]);
/// logged once per isolate and `SECRET_KEY`, with key ids only.
fn refuse_a_mismatch(root: &Keyring, rows: &[DataKeyRow], opened: &Opened) -> Result<(), ApiError> {
    let opened: Vec<&str> = opened.keys.iter().map(|k| k.kid.as_str()).collect();
    let refused = mismatched(rows, &opened);
    if refused.is_empty() {
        return Ok(());
    }
    let logged = MISMATCH_LOGGED.with_borrow(|id| id.as_deref() == Some(root.root_id()));
    if !logged {
        MISMATCH_LOGGED.set(Some(root.root_id().to_string()));
        let (mut kids, mut wrapped_by): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        for row in &refused {
            kids.push(&row.kid);
            if !wrapped_by.contains(&row.wrapped_by.as_str()) {
                wrapped_by.push(&row.wrapped_by);
            }
        }
        let log = json!({
            "msg": "secret_key_mismatch",
            "secret_key_id": root.root_id(),
            "previous_key_ids": root.previous_root_ids(),
            "data_keys_wrapped_by": wrapped_by,
            "data_keys": kids,
            "advice": format!(
                "no configured key (SECRET_KEY, SECRET_KEY_PREVIOUS) opens these data keys: set SECRET_KEY to the \
                 key with id {} (or keep it in SECRET_KEY_PREVIOUS during a rotation). Until then nothing is \
                 encrypted, hashed or signed, and requests that need a key answer 503 secret_key_mismatch",
                wrapped_by.join(" or ")
            ),
        });
        worker::console_error!("{log}");
    }
    Err(ApiError::SecretKeyMismatch)
}

/// Stores each re-wrapped key where it is still wrapped under the old root key (isolates doing
/// it at once: the first one changes the row, the others find nothing to change).
async fn rewrap(db: &Db, rewraps: &[Rewrap]) -> Result<(), ApiError> {
    for r in rewraps {
        let outcome = data_keys::rewrap(db, &r.kid, &r.old_wrapped_by, &r.new.wrapped, &r.new.wrapped_by).await?;
        if outcome == Outcome::Applied {
            let log =
                json!({ "msg": "data_key_rewrapped", "kid": r.kid, "from": r.old_wrapped_by, "to": r.new.wrapped_by });
            worker::console_log!("{log}");
        }
    }
    Ok(())
}

/// Re-encrypts, in the background, a user's TOTP secret `stored` that was just used, if it is
/// not under the TOTP data key (a secret from before data keys, or under a retired key).
pub fn reencrypt_later(app: &App, keys: &Keyring, user_id: &str, stored: &str) {
    if keys.data_keys().is_empty() || !keys.is_outdated(stored) {
        return;
    }
    let (Ok(secret), Ok(db)) = (keys.decrypt(stored, user_id), app.db()) else { return };
    let Ok(new) = keys.encrypt(&secret, user_id) else { return };
    let change =
        Reencrypted { user_id: user_id.to_string(), column: SecretColumn::Enabled, old: stored.to_string(), new };
    app.in_background(async move { data_keys::reencrypt(&db, &[change]).await.map(|_| ()) });
}

/// The answer to a factor check with a ring that holds no data keys yet (it cannot tell a lost key or a wrong code from keys it does not have yet): a 500 that
/// asks to try again, while the keys are read in the background for the next request.
pub fn not_loaded(app: &App) -> ApiError {
    worker::console_error!("the data keys are not loaded in this isolate yet; loading them");
    if let Ok(db) = app.db() {
        let root = keyring(app);
        let now = app.now;
        app.in_background(async move { read(&db, root?, now).await.map(|_| ()) });
    }
    ApiError::Internal
}

/// The answer when a user's stored TOTP secret cannot be decrypted: logs the missing key id
/// (never a key) and records a `sign_in_failed` event; the person is told to use a recovery code.
pub fn unavailable(app: &App, keys: &Keyring, user_id: &str, why: Undecryptable) -> ApiError {
    if keys.data_keys().is_empty() {
        return not_loaded(app);
    }
    let missing = match &why {
        Undecryptable::MissingKey(kid) => Some(kid.clone()),
        Undecryptable::Invalid => None,
    };
    let log = json!({
        "msg": "second_factor_unavailable",
        "missing_key_id": missing,
        "reason": if missing.is_some() { "no configured key has this id" } else { "the ciphertext does not decrypt" },
    });
    worker::console_error!("{log}");
    let detail = json!({ "factor": "totp", "reason": "key_unavailable" });
    let event = super::event(app, user_id, EventType::SignInFailed, detail);
    if let Ok(db) = app.db() {
        if let Ok(statement) = events::insert(&db, &event, &Precondition::always()) {
            app.in_background(async move { storage::batch(&db, vec![statement]).await.map(|_| ()) });
        }
    }
    ApiError::SecondFactorUnavailable
}

/// The daily scheduled run: re-wraps data keys found under a previous root key, re-encrypts TOTP
/// secrets not under the TOTP data key, deletes retired keys nothing uses, and logs what still
/// depends on `SECRET_KEY_PREVIOUS` (`{"msg":"key_rotation", …}`).
pub async fn scheduled(env: &Env, now: u64) -> Result<(), ApiError> {
    let db = Db::primary(env)?;
    let (ring, rewraps) = read(&db, root_keys(env)?, now).await?;
    rewrap(&db, &rewraps).await?;
    let reencrypted = reencrypt_outdated(&db, &ring).await?;
    data_keys::delete_unused_retired(&db, now.saturating_sub(2 * CACHE_SECONDS)).await?;
    let previous = ring.previous_root_ids();
    let depending = if previous.is_empty() {
        data_keys::Dependents::default()
    } else {
        data_keys::dependents(&db, &previous).await?
    };
    let advice = match (previous.is_empty(), depending.none()) {
        (true, _) => "no previous key is configured".to_string(),
        (false, true) => format!(
            "nothing depends on the previous key(s) {} any more: SECRET_KEY_PREVIOUS can be removed",
            previous.join(", ")
        ),
        (false, false) => "the previous key is still needed: keep SECRET_KEY_PREVIOUS".to_string(),
    };
    let log = json!({
        "msg": "key_rotation",
        "secret_key_id": ring.root_id(),
        "previous_key_ids": previous,
        "data_keys_rewrapped": rewraps.len(),
        "totp_secrets_reencrypted": reencrypted,
        "still_on_previous": {
            "data_keys": depending.data_keys,
            "totp_secrets": depending.totp_secrets,
            "unused_recovery_codes": depending.recovery_codes,
        },
        "previous_key_needed": !previous.is_empty() && !depending.none(),
        "advice": advice,
    });
    worker::console_log!("{log}");
    Ok(())
}

/// Re-encrypts stored TOTP secrets (enabled and pending) that are under a key other than the TOTP
/// data key, in batches; answers how many.
async fn reencrypt_outdated(db: &Db, ring: &Keyring) -> Result<usize, ApiError> {
    let from = ring.outdated_totp_key_ids();
    let mut done = 0;
    if from.is_empty() {
        return Ok(0);
    }
    for _ in 0..REENCRYPT_BATCHES {
        let users = data_keys::outdated_secrets(db, &from, REENCRYPT_BATCH).await?;
        let mut changes = Vec::new();
        for user in &users {
            for (column, stored) in
                [(SecretColumn::Enabled, &user.totp_secret), (SecretColumn::Pending, &user.totp_pending_secret)]
            {
                let Some(stored) = stored.as_deref().filter(|s| ring.is_outdated(s)) else { continue };
                let Ok(secret) = ring.decrypt(stored, &user.id) else {
                    worker::console_error!("a stored TOTP secret does not decrypt with its key; left as it is");
                    continue;
                };
                let new = ring.encrypt(&secret, &user.id).map_err(|_| ApiError::Internal)?;
                changes.push(Reencrypted { user_id: user.id.clone(), column, old: stored.to_string(), new });
            }
        }
        let stored = data_keys::reencrypt(db, &changes).await?;
        done += stored;
        if (users.len() as u64) < REENCRYPT_BATCH || stored == 0 {
            break;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kid: &str, purpose: &str, retired: bool) -> DataKeyRow {
        let (wrapped, wrapped_by) = ("w".to_string(), "1968bb4c".to_string());
        DataKeyRow { kid: kid.into(), purpose: purpose.into(), wrapped, wrapped_by, retired_at: retired.then_some(1) }
    }

    fn kids(rows: Vec<&DataKeyRow>) -> Vec<&str> {
        rows.into_iter().map(|r| r.kid.as_str()).collect()
    }

    #[test]
    fn a_fresh_database_and_keys_that_open_are_no_mismatch() {
        assert!(mismatched(&[], &[]).is_empty());
        let rows = [row("t1", "totp", false), row("r1", "recovery", false), row("d1", "device", false)];
        assert!(mismatched(&rows, &["t1", "r1", "d1"]).is_empty());
    }

    #[test]
    fn active_keys_no_root_key_opens_are_a_mismatch() {
        let rows = [row("t1", "totp", false), row("r1", "recovery", false), row("d1", "device", false)];
        assert_eq!(kids(mismatched(&rows, &[])), ["t1", "r1", "d1"]);
        assert_eq!(kids(mismatched(&rows, &["t1", "r1"])), ["d1"]);
    }

    #[test]
    fn a_retired_key_that_does_not_open_matters_only_where_a_new_key_would_be_made() {
        let rows = [row("t0", "totp", true), row("t1", "totp", false), row("r0", "recovery", true)];
        // TOTP has an active key that opens; recovery has only a retired key, and it does not open.
        assert_eq!(kids(mismatched(&rows, &["t1"])), ["r0"]);
        // A retired key that opens is enough to make a new active key of its purpose.
        assert!(mismatched(&rows, &["t1", "r0"]).is_empty());
        assert!(mismatched(&[row("t0", "totp", true), row("t2", "totp", true)], &["t2"]).is_empty());
    }
}
