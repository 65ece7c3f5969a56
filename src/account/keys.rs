//! The keys: root keys from `SECRET_KEY` (and `SECRET_KEY_PREVIOUS` during a rotation) and the
//! data keys they wrap in D1 (issue 16, README "Rotating SECRET_KEY").
//!
//! [`load`] reads the data keys once per isolate and keeps them for [`CACHE_SECONDS`]: a request
//! that needs them costs one small D1 read only when this isolate has none (or stale ones). On
//! that read it creates a missing key (the first run after migration 0003, or after a data key was
//! retired) and re-wraps, after the answer, every key it finds wrapped under a previous root key.
//! When the root keys open none of the data keys D1 holds, nothing is made under a key nobody
//! keeps: [`Error::Mismatch`] (503 `secret_key_mismatch`). The daily run is `key_rotation`.

use std::cell::RefCell;

use serde_json::json;

use super::error::Unexpected;
use crate::app::{Cx, Secrets};
use crate::domain::secrets::{DataKey, Keyring, Purpose, Undecryptable, WrappedKey};
use crate::storage::data_keys::{DataKeyRow, Reencrypted, Rewrapped, SecretColumn};
use crate::storage::events::EventType;
use crate::storage::{Outcome, Store};

/// How long an isolate uses the data keys it read before reading them again (a data key rotated
/// elsewhere is used for new values at the latest this much later).
pub const CACHE_SECONDS: u64 = 300;

/// Why the keys cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No configured root key opens the data keys D1 holds (a wrong `SECRET_KEY`).
    #[error("SECRET_KEY opens none of the data keys stored in D1")]
    Mismatch,
    #[error("SECRET_KEY is not set")]
    NotSet,
    #[error("SECRET_KEY or SECRET_KEY_PREVIOUS is not base64 of at least 32 bytes")]
    Malformed(#[from] crate::domain::secrets::KeyError),
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

impl From<crate::storage::Error> for Error {
    fn from(error: crate::storage::Error) -> Self {
        Self::Unexpected(error.into())
    }
}

struct Cached {
    root_id: String,
    loaded_at: u64,
    keys: Vec<DataKey>,
}

thread_local! {
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
    /// The `SECRET_KEY` id whose mismatch this isolate logged.
    static MISMATCH_LOGGED: RefCell<Option<String>> = const { RefCell::new(None) };
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
pub fn root_keys(secrets: &Secrets) -> Result<Keyring, Error> {
    let current = secrets.current.as_deref().ok_or(Error::NotSet)?;
    Ok(Keyring::new(current, secrets.previous.as_deref())?)
}

/// The root keys and the data keys, read from D1 unless this isolate read them recently.
pub async fn load<S: Store>(cx: &Cx<S>) -> Result<Keyring, Error> {
    let root = root_keys(&cx.facts.secrets)?;
    if let Some(keys) = cached(root.root_id(), cx.now()) {
        return Ok(root.with_data_keys(keys));
    }
    let (ring, rewraps) = read(&cx.store, root, cx.now()).await?;
    if !rewraps.is_empty() {
        let store = cx.store.clone();
        cx.effects.later("re-wrapping data keys", async move { rewrap(&store, &rewraps).await });
    }
    Ok(ring)
}

/// [`load`], reading D1 again if `stored` (a TOTP secret) names a key the isolate's copy lacks
/// (a data key rotated in the last [`CACHE_SECONDS`]).
pub async fn load_for<S: Store>(cx: &Cx<S>, stored: Option<&str>) -> Result<Keyring, Error> {
    let keys = load(cx).await?;
    match stored {
        Some(stored) if !keys.knows_key_of(stored) => {
            CACHE.set(None);
            load(cx).await
        }
        _ => Ok(keys),
    }
}

/// Reads the data keys (creating the active key of a purpose that has none) and unwraps them;
/// answers the ring and the keys to re-wrap, or [`Error::Mismatch`] when the root keys do not
/// open the data keys D1 holds: then nothing is made under a key nobody keeps.
pub(super) async fn read<S: Store>(store: &S, root: Keyring, now: u64) -> Result<(Keyring, Vec<Rewrapped>), Error> {
    let mut rows = store.data_keys().await?;
    let mut opened = open(&root, &rows)?;
    refuse_a_mismatch(&root, &rows, &opened)?;
    let has_active =
        |rows: &[DataKeyRow], p: Purpose| rows.iter().any(|r| r.purpose == p.as_str() && r.retired_at.is_none());
    let missing: Vec<Purpose> = Purpose::ALL.into_iter().filter(|p| !has_active(&rows, *p)).collect();
    if !missing.is_empty() {
        store.create_data_keys(&new_keys(&root, &missing)?, now).await?;
        rows = store.data_keys().await?;
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
        crate::log::error(&log.to_string());
    }
    remember(root.root_id(), now, &opened.keys);
    Ok((root.with_data_keys(opened.keys), opened.rewraps))
}

fn random_failed(cause: getrandom::Error) -> Error {
    Error::Unexpected(Unexpected::Randomness("a data key", cause))
}

/// A new data key of each purpose, wrapped under `SECRET_KEY`.
fn new_keys(root: &Keyring, purposes: &[Purpose]) -> Result<Vec<DataKeyRow>, Error> {
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
    rewraps: Vec<Rewrapped>,
}

fn open(root: &Keyring, rows: &[DataKeyRow]) -> Result<Opened, Error> {
    let mut opened = Opened { keys: Vec::new(), rewraps: Vec::new() };
    for row in rows {
        let Some(purpose) = Purpose::parse(&row.purpose) else { continue };
        let stored = WrappedKey { wrapped: row.wrapped.clone(), wrapped_by: row.wrapped_by.clone() };
        let Some(key) = root.unwrap(&row.kid, purpose, &stored, row.retired_at.is_none()) else { continue };
        if row.wrapped_by != root.root_id() {
            let new = root.wrap(&key).map_err(random_failed)?;
            let old_wrapped_by = row.wrapped_by.clone();
            let (wrapped, wrapped_by) = (new.wrapped, new.wrapped_by);
            opened.rewraps.push(Rewrapped { kid: row.kid.clone(), old_wrapped_by, wrapped, wrapped_by });
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
        let concerned = |r: &&DataKeyRow| r.purpose == purpose && (r.retired_at.is_none() || !has_active);
        refused.extend(rows.iter().filter(concerned).filter(|r| !opens(r)));
    }
    refused
}

/// [`Error::Mismatch`] when the root keys do not open the data keys (see [`mismatched`]);
/// logged once per isolate and `SECRET_KEY`, with key ids only.
fn refuse_a_mismatch(root: &Keyring, rows: &[DataKeyRow], opened: &Opened) -> Result<(), Error> {
    let opened: Vec<&str> = opened.keys.iter().map(|k| k.kid.as_str()).collect();
    let refused = mismatched(rows, &opened);
    if refused.is_empty() {
        return Ok(());
    }
    if MISMATCH_LOGGED.with_borrow(|id| id.as_deref() != Some(root.root_id())) {
        MISMATCH_LOGGED.set(Some(root.root_id().to_string()));
        crate::log::error(&mismatch_log(root, &refused).to_string());
    }
    Err(Error::Mismatch)
}

fn mismatch_log(root: &Keyring, refused: &[&DataKeyRow]) -> serde_json::Value {
    let kids: Vec<&str> = refused.iter().map(|r| r.kid.as_str()).collect();
    let mut wrapped_by: Vec<&str> = Vec::new();
    for row in refused {
        if !wrapped_by.contains(&row.wrapped_by.as_str()) {
            wrapped_by.push(&row.wrapped_by);
        }
    }
    json!({
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
    })
}

/// Stores each re-wrapped key where it is still wrapped under the old root key (isolates doing
/// it at once: the first one changes the row, the others find nothing to change).
pub(super) async fn rewrap<S: Store>(store: &S, rewraps: &[Rewrapped]) -> Result<(), Error> {
    for r in rewraps {
        if store.rewrap_data_key(r).await? == Outcome::Applied {
            let log =
                json!({ "msg": "data_key_rewrapped", "kid": r.kid, "from": r.old_wrapped_by, "to": r.wrapped_by });
            crate::log::info(&log.to_string());
        }
    }
    Ok(())
}

/// Re-encrypts, after the answer, a user's TOTP secret `stored` that was just used, if it is not
/// under the TOTP data key (a secret from before data keys, or under a retired key).
pub fn reencrypt_later<S: Store>(cx: &Cx<S>, keys: &Keyring, user_id: &str, stored: &str) {
    if keys.data_keys().is_empty() || !keys.is_outdated(stored) {
        return;
    }
    let Ok(secret) = keys.decrypt(stored, user_id) else { return };
    let Ok(new) = keys.encrypt(&secret, user_id) else { return };
    let change =
        Reencrypted { user_id: user_id.to_string(), column: SecretColumn::Enabled, old: stored.to_string(), new };
    let store = cx.store.clone();
    cx.effects.later("re-encrypting a TOTP secret", async move { store.reencrypt(&[change]).await.map(drop) });
}

/// Why a factor check could not be made with the keys at hand.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// The stored TOTP secret is under a key no configured key opens: the person is told to use
    /// a recovery code.
    #[error("the second factor cannot be checked")]
    SecondFactor,
    /// The ring holds no data keys yet: it cannot tell a lost key or a wrong code from keys it
    /// does not have yet (they are read for the next request).
    #[error("the data keys are not loaded in this isolate yet")]
    NotLoaded,
}

/// [`Unavailable::NotLoaded`], with the keys read after the answer for the next request.
pub fn not_loaded<S: Store>(cx: &Cx<S>) -> Unavailable {
    crate::log::error("the data keys are not loaded in this isolate yet; loading them");
    if let Ok(root) = root_keys(&cx.facts.secrets) {
        let (store, now) = (cx.store.clone(), cx.now());
        cx.effects.later("loading the data keys", async move { read(&store, root, now).await.map(drop) });
    }
    Unavailable::NotLoaded
}

/// The answer when a user's stored TOTP secret cannot be decrypted: logs the missing key id
/// (never a key) and records a `sign_in_failed` event after the answer.
pub fn unavailable<S: Store>(cx: &Cx<S>, keys: &Keyring, user_id: &str, why: Undecryptable) -> Unavailable {
    if keys.data_keys().is_empty() {
        return not_loaded(cx);
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
    crate::log::error(&log.to_string());
    let detail = json!({ "factor": "totp", "reason": "key_unavailable" });
    let (store, user_id, origin, now) = (cx.store.clone(), user_id.to_string(), cx.facts.origin.clone(), cx.now());
    cx.effects.later("recording an unavailable second factor", async move {
        let event = crate::storage::events::NewEvent {
            user_id: &user_id,
            kind: EventType::SignInFailed,
            at: now,
            origin: &origin,
            detail,
        };
        store.record_event(&event).await
    });
    Unavailable::SecondFactor
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
