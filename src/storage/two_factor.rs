//! Second factors in D1: the encrypted TOTP secret, the replay guard and recovery-code hashes.

use serde::Deserialize;
use worker::D1Database;

use super::text;
use crate::http::ApiError;

#[derive(Deserialize)]
struct Count {
    n: u32,
}

pub async fn recovery_codes_remaining(db: &D1Database, user_id: &str) -> Result<u32, ApiError> {
    let row = db
        .prepare("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL")
        .bind(&[text(user_id)])?
        .first::<Count>(None)
        .await?;
    Ok(row.map_or(0, |r| r.n))
}
