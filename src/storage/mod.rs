//! The only code that touches D1 and KV. Handlers and domain code see typed records; SQL and key
//! formats live here.

pub mod events;
pub mod sessions;
pub mod two_factor;
pub mod users;

use worker::wasm_bindgen::JsValue;

pub fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

pub fn int(value: u64) -> JsValue {
    JsValue::from_f64(value as f64)
}

pub fn opt_text(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// Drops revocation rows whose sessions have expired anyway and events older than 90 days.
pub async fn prune(env: &worker::Env, now: u64) -> Result<(), crate::http::ApiError> {
    let db = env.d1("DB")?;
    db.batch(vec![
        db.prepare("DELETE FROM revoked_sessions WHERE expires_at < ?1").bind(&[int(now)])?,
        db.prepare("DELETE FROM security_events WHERE at < ?1")
            .bind(&[int(now.saturating_sub(EVENT_RETENTION_SECONDS))])?,
    ])
    .await?;
    Ok(())
}

pub const EVENT_RETENTION_SECONDS: u64 = 90 * 24 * 3600;
