//! The per-account failure count across passwords, codes and recovery codes (SPEC §5.7).

use serde_json::{json, Value};

use crate::app::App;
use crate::http::ApiError;
use crate::storage::events::{self, EventType};
use crate::storage::users::{self, Guard};

/// Refuses before any password work while the account is locked.
pub fn ensure_not_locked(locked_until: u64, now: u64) -> Result<(), ApiError> {
    if locked_until > now {
        Err(ApiError::RateLimited { retry_after: locked_until - now })
    } else {
        Ok(())
    }
}

/// Counts a failed factor, records it as `event` (with `detail`), locks the account when the
/// count reaches the threshold, and answers what the caller should: `wrong`, or 429 once locked.
/// One D1 batch: the count, the lock and the events land together.
pub async fn record_failure(
    app: &App,
    user_id: &str,
    event: EventType,
    detail: Value,
    wrong: ApiError,
) -> Result<ApiError, ApiError> {
    let db = app.db()?;
    let policy = app.config.throttle;
    let schedule: Vec<u64> = (0..=20).map(|extra| policy.lock_seconds(policy.threshold + extra)).collect();
    let results = users::run_batch(
        &db,
        vec![
            users::count_failure(&db, user_id, app.now, policy.threshold, &schedule)?,
            events::insert(&db, user_id, event, app.now, &app.origin, detail)?,
            events::insert_when(
                &db,
                &Guard::LockedSince(app.now),
                user_id,
                EventType::LockedOut,
                app.now,
                &app.origin,
                json!({ "after_failures": policy.threshold }),
            )?,
        ],
    )
    .await?;
    let count = results.first().map(users::failure_count).transpose()?.flatten();
    Ok(match count {
        Some(c) if c.locked_until > app.now => ApiError::RateLimited { retry_after: c.locked_until - app.now },
        _ => wrong,
    })
}
