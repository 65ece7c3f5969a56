//! Sessions and pending sign-ins in KV (SPEC §3). Keys hold ids (SHA-256 of the token), never
//! tokens. Each session has two keys with the same expiry: the record, read on every request,
//! and a per-user index key whose metadata is the summary, so one `list` shows them all.

use serde::{Deserialize, Serialize};
use worker::{KvError, KvStore};

use super::attempts::{Budget, Generations};
use super::kv::{KvKey, PendingKey, SessionIndexKey, SessionKey};
use super::Error;
use crate::domain::ids::{SessionId, UserId};

/// KV refuses expirations closer than 60 seconds.
const KV_MIN_TTL: u64 = 60;

/// What the session list shows about one session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionSummary {
    pub device: String,
    pub browser: String,
    pub os: String,
    pub ip: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub sign_in_method: String,
    /// When this token was issued (a re-issued session keeps `created_at`).
    #[serde(default)]
    pub issued_at: u64,
    pub created_at: u64,
    pub last_active_at: u64,
    pub expires_at: u64,
    /// The user's `session_generation` when this session started: the list leaves out sessions
    /// of older generations (ended by "sign out other sessions" or a password change).
    #[serde(default)]
    pub session_generation: u64,
    /// The request id of the sign-in that started the session, as its event's detail has it
    /// (none: a sign-up, or a session older than this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: UserId,
    /// Compared with `users.sessions_valid_after` (a stamp older versions wrote).
    pub issued_at: u64,
    /// The generations the session was authenticated under; it is valid only while the user's
    /// `session_generation` is still this one (SPEC §5.8).
    #[serde(default)]
    pub generations: Generations,
    /// Until when sensitive changes need no fresh password ("sudo").
    pub sudo_until: u64,
    pub summary: SessionSummary,
}

impl SessionSummary {
    /// When the session ends if nothing happens: idle timeout or absolute lifetime, whichever first.
    pub fn ends_at(&self, idle_seconds: u64) -> u64 {
        (self.last_active_at + idle_seconds).min(self.expires_at)
    }
}

impl SessionRecord {
    pub fn ends_at(&self, idle_seconds: u64) -> u64 {
        self.summary.ends_at(idle_seconds)
    }
}

pub async fn put(
    kv: &KvStore,
    id: &SessionId,
    record: &SessionRecord,
    idle_seconds: u64,
    now: u64,
) -> Result<(), Error> {
    let ttl = record.ends_at(idle_seconds).saturating_sub(now).max(KV_MIN_TTL);
    let value = serde_json::to_string(record)?;
    let (key, index) = (SessionKey(id).name(), SessionIndexKey { user: &record.user_id, session: id }.name());
    let (stored, indexed) = futures_util::future::join(
        retrying(|| async { kv.put(&key, value.as_str())?.expiration_ttl(ttl).execute().await }),
        retrying(|| async { kv.put(&index, "")?.expiration_ttl(ttl).metadata(&record.summary)?.execute().await }),
    )
    .await;
    stored?;
    indexed?;
    Ok(())
}

/// KV writes can fail transiently (a busy store, a rate limit on one key): a few tries before
/// the error becomes a 500. Writing the same value again is harmless.
async fn retrying<F, Fut>(write: F) -> Result<(), KvError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), KvError>>,
{
    super::retry(|_: &KvError| true, write).await
}

pub async fn get(kv: &KvStore, id: &SessionId) -> Result<Option<SessionRecord>, Error> {
    read_json(kv, &SessionKey(id)).await
}

/// The value under `key`; `None` when there is none or it is not of the key's value type.
async fn read_json<K: KvKey>(kv: &KvStore, key: &K) -> Result<Option<K::Value>, Error>
where
    K::Value: serde::de::DeserializeOwned,
{
    let name = key.name();
    let text = super::retry(|_: &KvError| true, || kv.get(&name).text()).await?;
    Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
}

pub async fn delete(kv: &KvStore, user_id: &UserId, id: &SessionId) -> Result<(), Error> {
    let (record, index) = (SessionKey(id).name(), SessionIndexKey { user: user_id, session: id }.name());
    let (a, b) = futures_util::future::join(retrying(|| kv.delete(&record)), retrying(|| kv.delete(&index))).await;
    a?;
    b?;
    Ok(())
}

/// A session as the index lists it.
#[derive(Debug, Clone)]
pub struct ListedSession {
    pub id: SessionId,
    pub summary: SessionSummary,
}

/// Every session KV still lists for the user: one `list` call per 1,000 keys.
pub async fn list(kv: &KvStore, user_id: &UserId) -> Result<Vec<ListedSession>, Error> {
    let prefix = SessionIndexKey::prefix(user_id);
    let mut sessions = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = super::retry(
            |_: &KvError| true,
            || {
                let request = kv.list().prefix(prefix.clone());
                match cursor.clone() {
                    Some(c) => request.cursor(c).execute(),
                    None => request.execute(),
                }
            },
        )
        .await?;
        for key in page.keys {
            let Some(id) = key.name.strip_prefix(&prefix) else { continue };
            let Some(summary) = key.metadata.and_then(|m| serde_json::from_value::<SessionSummary>(m).ok()) else {
                continue;
            };
            sessions.push(ListedSession { id: SessionId::new(id), summary });
        }
        match page.cursor {
            Some(c) if !page.list_complete && !c.is_empty() => cursor = Some(c),
            _ => break,
        }
    }
    Ok(sessions)
}

/// A sign-in waiting for its second factor: the failure run its password was counted in, and
/// the generations it was verified under (it is refused once they are stale).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub user_id: UserId,
    pub created_at: u64,
    pub failures: u32,
    #[serde(default = "strangers")]
    pub budget: Budget,
    #[serde(default)]
    pub generations: Generations,
    /// A password reset waiting for this second factor (`account::reset`), not a sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<PendingReset>,
}

/// The reset a pending second step completes: its link's token (by hash) and the new
/// password's hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingReset {
    pub token_hash: String,
    pub new_hash: String,
}

fn strangers() -> Budget {
    Budget::Strangers
}

pub async fn put_pending(kv: &KvStore, id: &SessionId, pending: &PendingSignIn, ttl: u64) -> Result<(), Error> {
    let (key, value) = (PendingKey(id).name(), serde_json::to_string(pending)?);
    retrying(|| async { kv.put(&key, value.as_str())?.expiration_ttl(ttl.max(KV_MIN_TTL)).execute().await }).await?;
    Ok(())
}

pub async fn get_pending(kv: &KvStore, id: &SessionId) -> Result<Option<PendingSignIn>, Error> {
    read_json(kv, &PendingKey(id)).await
}

pub async fn delete_pending(kv: &KvStore, id: &SessionId) -> Result<(), Error> {
    let key = PendingKey(id).name();
    retrying(|| kv.delete(&key)).await?;
    Ok(())
}
