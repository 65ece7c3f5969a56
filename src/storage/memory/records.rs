//! The KV namespace `SESSIONS` (`storage::sessions`, `storage::passkeys`' challenges): JSON values
//! under the key names of `storage::kv`, each readable until it expires (KV refuses expirations
//! closer than 60 seconds).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::tables::{KvEntry, State};
use crate::domain::ids::{SessionId, UserId};
use crate::storage::kv::{ChallengeKey, KvKey, PendingKey, SessionIndexKey, SessionKey};
use crate::storage::passkeys::IssuedChallenge;
use crate::storage::sessions::{ListedSession, PendingSignIn, SessionRecord};
use crate::storage::Error;

/// KV refuses expirations closer than this.
const KV_MIN_TTL: u64 = 60;

impl State {
    fn kv_put<T: Serialize>(
        &mut self,
        key: String,
        value: &T,
        metadata: Option<serde_json::Value>,
        ttl: u64,
    ) -> Result<(), Error> {
        let entry =
            KvEntry { value: serde_json::to_string(value)?, metadata, expires_at: self.now + ttl.max(KV_MIN_TTL) };
        self.kv.insert(key, entry);
        Ok(())
    }

    /// The value under `key` while it lives; `None` when there is none or it is of another shape.
    fn kv_get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let entry = self.kv.get(key).filter(|e| e.expires_at > self.now)?;
        serde_json::from_str(&entry.value).ok()
    }

    /// `sessions::put`: the record and its index entry (the summary as metadata), same expiry.
    pub(super) fn put_session(
        &mut self,
        id: &SessionId,
        record: &SessionRecord,
        idle: u64,
        now: u64,
    ) -> Result<(), Error> {
        let ttl = record.ends_at(idle).saturating_sub(now);
        let index = SessionIndexKey { user: &record.user_id, session: id }.name();
        let summary = serde_json::to_value(&record.summary)?;
        self.kv_put(SessionKey(id).name(), record, None, ttl)?;
        self.kv_put(index, &"", Some(summary), ttl)
    }

    pub(super) fn session(&self, id: &SessionId) -> Option<SessionRecord> {
        self.kv_get(&SessionKey(id).name())
    }

    pub(super) fn delete_session(&mut self, user_id: &UserId, id: &SessionId) {
        self.kv.remove(&SessionKey(id).name());
        self.kv.remove(&SessionIndexKey { user: user_id, session: id }.name());
    }

    /// `sessions::list`: the user's index entries that live, in key order, skipping a summary of
    /// another shape.
    pub(super) fn list_sessions(&self, user_id: &UserId) -> Vec<ListedSession> {
        let prefix = SessionIndexKey::prefix(user_id);
        let live = self.kv.range(prefix.clone()..).take_while(|(key, _)| key.starts_with(&prefix));
        live.filter(|(_, entry)| entry.expires_at > self.now)
            .filter_map(|(key, entry)| {
                let summary = serde_json::from_value(entry.metadata.clone()?).ok()?;
                Some(ListedSession { id: SessionId::new(&key[prefix.len()..]), summary })
            })
            .collect()
    }

    pub(super) fn put_pending(&mut self, id: &SessionId, pending: &PendingSignIn, ttl: u64) -> Result<(), Error> {
        self.kv_put(PendingKey(id).name(), pending, None, ttl)
    }

    pub(super) fn pending(&self, id: &SessionId) -> Option<PendingSignIn> {
        self.kv_get(&PendingKey(id).name())
    }

    pub(super) fn delete_pending(&mut self, id: &SessionId) {
        self.kv.remove(&PendingKey(id).name());
    }

    pub(super) fn put_challenge(&mut self, challenge: &str, issued: &IssuedChallenge, ttl: u64) -> Result<(), Error> {
        self.kv_put(ChallengeKey(challenge).name(), issued, None, ttl)
    }

    pub(super) fn challenge(&self, challenge: &str) -> Option<IssuedChallenge> {
        self.kv_get(&ChallengeKey(challenge).name())
    }

    pub(super) fn forget_challenge(&mut self, challenge: &str) {
        self.kv.remove(&ChallengeKey(challenge).name());
    }
}
