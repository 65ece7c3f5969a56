//! The only code that touches D1 and KV. Handlers and domain code see typed records; SQL and key
//! formats live here.

pub mod address_limits;
pub mod attempts;
pub mod bindings;
pub mod breaches;
pub mod data_keys;
pub mod device_bound;
pub mod devices;
pub mod emails;
mod error;
pub mod events;
pub mod ip_limits;
pub mod kv;
pub mod mail;
#[cfg(test)]
pub mod memory;
pub mod passkeys;
pub mod precondition;
pub mod revocations;
pub mod sessions;
pub mod sign_in;
pub mod store;
pub mod two_factor;
pub mod users;

use serde::de::DeserializeOwned;
use std::rc::Rc;
use worker::wasm_bindgen::JsValue;

use worker::{D1DatabaseSession, D1PreparedStatement, D1Result};

pub use bindings::Bindings;
pub use error::Error;
pub use store::Store;

pub fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

pub fn int(value: u64) -> JsValue {
    JsValue::from_f64(value as f64)
}

pub fn opt_text(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// D1 as one request sees it: a session of D1's Sessions API, so that its queries see each
/// other's effects in order wherever they run. [`Db::primary`] starts at the primary (the session
/// check, attempts, every write); [`Db::near`] may start at the nearest read replica, no older
/// than a bookmark of the browser's own last write (reads that decide nothing about access).
#[derive(Clone)]
pub struct Db(Rc<D1DatabaseSession>, Alerts);

/// The alert ids of the events this request's statements may have written (see
/// [`events::insert_computed`]): the runtime queues them after the answer.
pub type Alerts = Rc<std::cell::RefCell<Vec<String>>>;

/// The longest bookmark accepted from a cookie (D1's are ~60 characters).
const MAX_BOOKMARK_CHARS: usize = 128;

impl Db {
    pub fn primary(env: &worker::Env) -> Result<Self, Error> {
        Ok(Self(Rc::new(env.d1("DB")?.with_session(Some("first-primary"))?), Alerts::default()))
    }

    /// Starts where `bookmark` (a browser's last write) is visible, or anywhere without one;
    /// a value that is not bookmark-shaped is ignored.
    pub fn near(env: &worker::Env, bookmark: Option<&str>) -> Result<Self, Error> {
        let bookmark = bookmark.filter(|b| is_bookmark_shaped(b)).unwrap_or("first-unconstrained");
        Ok(Self(Rc::new(env.d1("DB")?.with_session(Some(bookmark))?), Alerts::default()))
    }

    pub fn prepare(&self, sql: impl Into<String>) -> D1PreparedStatement {
        self.0.prepare(sql)
    }

    pub async fn batch(&self, statements: Vec<D1PreparedStatement>) -> worker::Result<Vec<D1Result>> {
        self.0.batch(statements).await
    }

    /// Notes that a statement being prepared may write the event of `alert_id`.
    pub fn note_alert(&self, alert_id: String) {
        self.1.borrow_mut().push(alert_id);
    }

    /// The alert ids noted so far, once.
    pub fn take_alerts(&self) -> Vec<String> {
        std::mem::take(&mut *self.1.borrow_mut())
    }

    /// The newest database position this session has seen (none before its first query).
    pub fn bookmark(&self) -> Option<String> {
        self.0.get_bookmark().ok().flatten()
    }
}

/// D1 bookmarks are hex fields joined by dashes; anything else in the cookie is not ours.
pub fn is_bookmark_shaped(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_BOOKMARK_CHARS
        && value.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        && !value.starts_with('-')
}

/// What an atomic change did: it took effect, or the state it was decided on had changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    LostRace,
}

/// Drops revocation rows whose sessions have expired anyway, events older than 90 days (of a
/// sign-in, its address, place, network and device; only its flags stay, for a year), failure
/// budgets and trusted devices nobody used for half a year and spent WebAuthn challenges.
async fn prune(db: &Db, now: u64) -> Result<(), Error> {
    let (oldest_event, oldest_flag) =
        (int(now.saturating_sub(EVENT_RETENTION_SECONDS)), int(now.saturating_sub(SIGN_IN_FLAGS_RETENTION_SECONDS)));
    batch(
        db,
        vec![
            db.prepare("DELETE FROM revoked_sessions WHERE expires_at < ?1").bind(&[int(now)])?,
            db.prepare(
                "UPDATE security_events SET ip = NULL, country = NULL, city = NULL, user_agent = NULL, \
                 network = NULL, latitude = NULL, longitude = NULL \
                 WHERE type = 'sign_in' AND at < ?1 AND (ip IS NOT NULL OR country IS NOT NULL OR city IS NOT NULL \
                 OR user_agent IS NOT NULL OR network IS NOT NULL OR latitude IS NOT NULL OR longitude IS NOT NULL)",
            )
            .bind(std::slice::from_ref(&oldest_event))?,
            db.prepare("DELETE FROM security_events WHERE at < ?1 AND (type != 'sign_in' OR at < ?2)")
                .bind(&[oldest_event, oldest_flag])?,
            attempts::prune(db, now)?,
            passkeys::prune(db, now)?,
            sign_in::prune(db, now)?,
            devices::prune(db, now)?,
            mail::prune(db, now)?,
            device_bound::prune(db, now)?,
        ],
    )
    .await?;
    Ok(())
}

/// A `COUNT(*) AS n` row.
#[derive(serde::Deserialize)]
pub(crate) struct Count {
    pub n: u32,
}

pub const EVENT_RETENTION_SECONDS: u64 = 90 * 24 * 3600;

/// How long a sign-in's flags (unfamiliar, reviewed) outlive the rest of its event.
pub const SIGN_IN_FLAGS_RETENTION_SECONDS: u64 = 365 * 24 * 3600;

/// D1 errors that mean the statement or batch did not take effect (a batch is one transaction),
/// so trying again is safe: a busy or reset database, a lost connection.
fn is_transient(error: &worker::Error) -> bool {
    let text = error.to_string();
    ["SQLITE_BUSY", "database is locked", "internal error", "Network connection lost", "reset"]
        .iter()
        .any(|m| text.contains(m))
}

/// Runs `operation` up to three times while `retryable` says its error was transient, pausing a
/// little longer each time; the last error is returned as it was.
pub(crate) async fn retry<T, E, F, Fut>(retryable: impl Fn(&E) -> bool, operation: F) -> Result<T, E>
where
    E: std::fmt::Display,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        match operation().await {
            Err(error) if attempt < 2 && retryable(&error) => {
                attempt += 1;
                crate::log::warn(&format!("retrying a storage call after a transient error: {error}"));
                worker::Delay::from(std::time::Duration::from_millis(40 * attempt)).await;
            }
            result => return result,
        }
    }
}

async fn retrying<T, F, Fut>(query: F) -> Result<T, Error>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = worker::Result<T>>,
{
    Ok(retry(is_transient, query).await?)
}

/// Runs statements as one transaction.
pub async fn batch(db: &Db, statements: Vec<D1PreparedStatement>) -> Result<Vec<D1Result>, Error> {
    retrying(|| db.batch(statements.clone())).await
}

pub async fn first<T: DeserializeOwned>(statement: D1PreparedStatement) -> Result<Option<T>, Error> {
    retrying(|| statement.first::<T>(None)).await
}

pub async fn all<T: DeserializeOwned>(statement: D1PreparedStatement) -> Result<Vec<T>, Error> {
    let result = retrying(|| statement.all()).await?;
    Ok(result.results::<T>()?)
}
