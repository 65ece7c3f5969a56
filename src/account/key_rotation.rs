//! The daily scheduled run's part in key rotation (README "Rotating SECRET_KEY"): re-wraps data
//! keys found under a previous root key, re-encrypts TOTP secrets not under the TOTP data key,
//! deletes retired keys nothing uses, and logs what still depends on `SECRET_KEY_PREVIOUS`
//! (`{"msg":"key_rotation", …}`).

use serde_json::json;

use super::error::Unexpected;
use super::keys::{self, Error, CACHE_SECONDS};
use crate::app::Secrets;
use crate::domain::secrets::Keyring;
use crate::storage::data_keys::{Dependents, OutdatedSecrets, Reencrypted, SecretColumn};
use crate::storage::Store;

/// TOTP secrets re-encrypted per D1 batch, and batches per run.
const REENCRYPT_BATCH: u64 = 100;
const REENCRYPT_BATCHES: usize = 20;

pub async fn run<S: Store>(store: &S, secrets: &Secrets, now: u64) -> Result<(), Error> {
    let (ring, rewraps) = keys::read(store, keys::root_keys(secrets)?, now).await?;
    keys::rewrap(store, &rewraps).await?;
    let reencrypted = reencrypt_outdated(store, &ring).await?;
    store.delete_unused_retired_keys(now.saturating_sub(2 * CACHE_SECONDS)).await?;
    let previous = ring.previous_root_ids();
    let depending = match previous.is_empty() {
        true => Dependents::default(),
        false => store.key_dependents(&previous).await?,
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
        "advice": advice(&previous, &depending),
    });
    crate::log::info(&log.to_string());
    Ok(())
}

fn advice(previous: &[String], depending: &Dependents) -> String {
    match (previous.is_empty(), depending.none()) {
        (true, _) => "no previous key is configured".to_string(),
        (false, true) => format!(
            "nothing depends on the previous key(s) {} any more: SECRET_KEY_PREVIOUS can be removed",
            previous.join(", ")
        ),
        (false, false) => "the previous key is still needed: keep SECRET_KEY_PREVIOUS".to_string(),
    }
}

/// Re-encrypts stored TOTP secrets (enabled and pending) that are under a key other than the TOTP
/// data key, in batches; answers how many.
async fn reencrypt_outdated<S: Store>(store: &S, ring: &Keyring) -> Result<usize, Error> {
    let from = ring.outdated_totp_key_ids();
    if from.is_empty() {
        return Ok(0);
    }
    let mut done = 0;
    for _ in 0..REENCRYPT_BATCHES {
        let users = store.outdated_secrets(&from, REENCRYPT_BATCH).await?;
        let mut changes = Vec::new();
        for user in &users {
            changes.extend(reencrypted(ring, user)?);
        }
        let stored = store.reencrypt(&changes).await?;
        done += stored;
        if (users.len() as u64) < REENCRYPT_BATCH || stored == 0 {
            break;
        }
    }
    Ok(done)
}

/// The user's secrets under an outdated key, under the TOTP data key now.
fn reencrypted(ring: &Keyring, user: &OutdatedSecrets) -> Result<Vec<Reencrypted>, Error> {
    let mut changes = Vec::new();
    for (column, stored) in
        [(SecretColumn::Enabled, &user.totp_secret), (SecretColumn::Pending, &user.totp_pending_secret)]
    {
        let Some(stored) = stored.as_deref().filter(|s| ring.is_outdated(s)) else { continue };
        let Ok(secret) = ring.decrypt(stored, &user.id) else {
            crate::log::error("a stored TOTP secret does not decrypt with its key; left as it is");
            continue;
        };
        let new = ring.encrypt(&secret, &user.id).map_err(|cause| Unexpected::Randomness("a nonce", cause))?;
        changes.push(Reencrypted { user_id: user.id.clone(), column, old: stored.to_string(), new });
    }
    Ok(changes)
}
