//! Moving accounts stored before e-mail addresses were normalised to the normal form (issue 21
//! point 9): at the owner's next completed sign-in, and in the daily scheduled run for every
//! stored address with non-ASCII characters. Until then sign-ins find such an account by the
//! form it was stored in. Two old accounts whose addresses normalise alike (the same address
//! typed composed and decomposed) cannot both move: the second is left as it is and logged, by
//! user id only, for support to merge or rename.

use crate::app::Cx;
use crate::domain::unicode::normal_email;
use crate::storage::emails::{Rewrite, StoredEmail};
use crate::storage::{Error, Store};

/// Stored addresses the scheduled run reads per batch, and batches per run: two D1 queries per
/// batch, so a run stays far below the Paid plan's 1,000 queries per invocation and goes through
/// 50,000 accounts with non-ASCII addresses (the run reads from the start of the table each day).
const BATCH: u64 = 500;
const BATCHES: usize = 100;

/// The user id is random hex: the line is JSON without an encoder.
fn log_collision(user_id: &str) {
    crate::log::warn(&format!(
        r#"{{"msg":"email_not_normalised","user_id":"{user_id}","reason":"another account holds its normal form"}}"#
    ));
}

/// After a completed sign-in: rewrites the user's stored address to its normal form, in the
/// background, when it is not in that form yet (nothing to do for every account made since).
pub(super) fn normalise_later<S: Store>(cx: &Cx<S>, user_id: &str, stored: &str) {
    if normal_email(stored) == stored {
        return;
    }
    let (store, row) = (cx.store.clone(), StoredEmail { id: user_id.to_string(), email: stored.to_string() });
    cx.effects.later("normalising a stored e-mail", async move { normalise(&store, &[row]).await.map(drop) });
}

/// The daily scheduled run: rewrites stored addresses with non-ASCII characters to their normal
/// form, in batches, skipping (and logging) those whose normal form another account holds.
pub async fn scheduled<S: Store>(store: &S) -> Result<(), Error> {
    let (mut after, mut rewritten, mut skipped) = (String::new(), 0, 0);
    for _ in 0..BATCHES {
        let rows = store.non_ascii_emails(&after, BATCH).await?;
        let (moved, collided) = normalise(store, &rows).await?;
        rewritten += moved;
        skipped += collided;
        match rows.last() {
            Some(last) if rows.len() as u64 == BATCH => after = last.id.clone(),
            _ => break,
        }
    }
    crate::log::info(&format!(r#"{{"msg":"email_normalisation","rewritten":{rewritten},"skipped":{skipped}}}"#));
    Ok(())
}

/// Rewrites those of `rows` not in normal form; answers how many moved and how many could not
/// (logged).
async fn normalise<S: Store>(store: &S, rows: &[StoredEmail]) -> Result<(usize, usize), Error> {
    let mut rewrites = Vec::new();
    for row in rows {
        let normal = normal_email(&row.email);
        if normal != row.email {
            rewrites.push(Rewrite { user_id: &row.id, stored: &row.email, normal });
        }
    }
    let moved = store.rewrite_emails(&rewrites).await?;
    for rewrite in &rewrites {
        if !moved.iter().any(|id| id == rewrite.user_id) {
            log_collision(rewrite.user_id);
        }
    }
    Ok((moved.len(), rewrites.len() - moved.len()))
}
