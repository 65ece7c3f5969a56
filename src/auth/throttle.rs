//! The per-account failure count across passwords, codes and recovery codes (SPEC §5.7).

use serde_json::{json, Value};

use crate::app::App;
use crate::http::ApiError;
use crate::storage::events::{self, EventType};
use crate::storage::users;

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
pub async fn record_failure(
    app: &App,
    user_id: &str,
    event: EventType,
    detail: Value,
    wrong: ApiError,
) -> Result<ApiError, ApiError> {
    let db = app.db()?;
    let failures = users::count_failure(&db, user_id).await?;
    let lock = app.config.throttle.lock_seconds(failures);
    let mut statements = vec![events::insert(&db, user_id, event, app.now, &app.origin, detail)?];
    if lock > 0 {
        statements.push(users::lock_until(&db, user_id, app.now + lock)?);
        statements.push(events::insert(
            &db,
            user_id,
            EventType::LockedOut,
            app.now,
            &app.origin,
            json!({ "failures": failures, "seconds": lock }),
        )?);
    }
    users::run_batch(&db, statements).await?;
    Ok(if lock > 0 { ApiError::RateLimited { retry_after: lock } } else { wrong })
}
