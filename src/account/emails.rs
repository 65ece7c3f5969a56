//! Moving accounts stored before e-mail addresses were normalised to the normal form (issue 21
//! point 9): at the owner's next completed sign-in, and in the daily scheduled run for every
//! stored address with non-ASCII characters. Until then sign-ins find such an account by the
//! form it was stored in. Two old accounts whose addresses normalise alike (the same address
//! typed composed and decomposed) cannot both move: the second is left as it is and logged, by
//! user id only, for support to merge or rename.

use worker::Env;

use crate::app::App;
use crate::domain::unicode::normal_email;
use crate::http::ApiError;
use crate::storage::emails::{self, Rewrite, StoredEmail};
use crate::storage::Db;

/// Stored addresses the scheduled run reads per batch, and batches per run: two D1 queries per
/// batch, so a run stays far below the Paid plan's 1,000 queries per invocation and goes through
/// 50,000 accounts with non-ASCII addresses (the run reads from the start of the table each day).
const BATCH: u64 = 500;
const BATCHES: usize = 100;

/// The user id is random hex: the line is JSON without an encoder.
fn log_collision(user_id: &str) {
    worker::console_warn!(
        r#"{{"msg":"email_not_normalised","user_id":"{user_id}","reason":"another account holds its normal form"}}"#
    );
}

/// After a completed sign-in: rewrites the user's stored address to its normal form, in the
/// background, when it is not in that form yet (nothing to do for every account made since).
pub(super) fn normalise_later(app: &App, user_id: &str, stored: &str) {
    if normal_email(stored) == stored {
        return;
    }
    let (db, row) = (app.db(), StoredEmail { id: user_id.to_string(), email: stored.to_string() });
    app.in_background(async move { normalise(&db?, &[row]).await.map(drop) });
}

/// The daily scheduled run: rewrites stored addresses with non-ASCII characters to their normal
/// form, in batches, skipping (and logging) those whose normal form another account holds.
pub async fn scheduled(env: &Env) -> Result<(), ApiError> {
    let db = Db::primary(env)?;
    let (mut after, mut rewritten, mut skipped) = (String::new(), 0, 0);
    for _ in 0..BATCHES {
        let rows = emails::non_ascii(&db, &after, BATCH).await?;
        let (moved, collided) = normalise(&db, &rows).await?;
        rewritten += moved;
        skipped += collided;
        match rows.last() {
            Some(last) if rows.len() as u64 == BATCH => after = last.id.clone(),
            _ => break,
        }
    }
    worker::console_log!(r#"{{"msg":"email_normalisation","rewritten":{rewritten},"skipped":{skipped}}}"#);
    Ok(())
}

/// Rewrites those of `rows` not in normal form; answers how many moved and how many could not
/// (logged).
async fn normalise(db: &Db, rows: &[StoredEmail]) -> Result<(usize, usize), ApiError> {
    let mut rewrites = Vec::new();
    for row in rows {
        let normal = normal_email(&row.email);
        if normal != row.email {
            rewrites.push(Rewrite { user_id: &row.id, stored: &row.email, normal });
        }
    }
    let moved = emails::rewrite(db, &rewrites).await?;
    for rewrite in &rewrites {
        if !moved.iter().any(|id| id == rewrite.user_id) {
            log_collision(rewrite.user_id);
        }
    }
    Ok((moved.len(), rewrites.len() - moved.len()))
}
