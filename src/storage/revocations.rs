//! Revoked sessions in D1 (`revoked_sessions`, SPEC §5.8): every request's session check reads
//! this table at the primary, so an id revoked here is refused everywhere at once.
//!
//! A session re-issued on a new token ("Confirm it's you", a password change, "sign out other
//! sessions") is *handed over*: its id is revoked with the id of its successor, in a statement
//! that applies only if nobody revoked it before. Ending a session ends its successors too. So a
//! revocation racing a re-issue always wins: either it came first and the re-issue is refused, or
//! it came second and ends the successor with its predecessor.

use super::precondition::Precondition;
use super::{int, text, Db, Error};
use worker::D1PreparedStatement;

/// A session to be re-issued: `old` ends, `new` (its successor, whose token is already made)
/// takes its place.
pub struct Handover<'a> {
    pub user_id: &'a str,
    pub old: &'a str,
    pub new: &'a str,
    /// When the session would have expired (the successor keeps it).
    pub expires_at: u64,
}

impl Handover<'_> {
    /// The old id is not revoked (nobody ended the session meanwhile).
    pub fn not_revoked(&self) -> Precondition {
        Precondition::new("NOT EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = ?)", vec![text(self.old)])
    }

    /// This handover took place (its row, with this successor, exists): for the statements that
    /// follow it in the same batch.
    pub fn done(&self) -> Precondition {
        Precondition::new(
            "EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = ? AND successor_id = ?)",
            vec![text(self.old), text(self.new)],
        )
    }

    /// Revokes the old id with its successor, only while `when` holds and the old id is not
    /// revoked yet; changes one row exactly when the handover takes place.
    pub fn statement(&self, db: &Db, when: &Precondition) -> Result<D1PreparedStatement, Error> {
        when.clone().and(self.not_revoked()).statement(
            db,
            "INSERT INTO revoked_sessions (session_id, user_id, expires_at, successor_id) \
             SELECT ?1, ?2, ?3, ?4 WHERE {pre} ON CONFLICT (session_id) DO NOTHING",
            vec![text(self.old), text(self.user_id), int(self.expires_at), text(self.new)],
        )
    }
}

/// Revokes the session `session_id` of `user_id` (kept until it would have expired anyway).
pub fn revoke(db: &Db, session_id: &str, user_id: &str, expires_at: u64) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare(
            "INSERT INTO revoked_sessions (session_id, user_id, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (session_id) DO NOTHING",
        )
        .bind(&[text(session_id), text(user_id), int(expires_at)])?)
}

/// Revokes every successor of `user_id`'s session `session_id` (the sessions it was handed over
/// to, and theirs): for the batch that revokes the session itself. `RETURNING` one row each.
pub fn revoke_successors(
    db: &Db,
    session_id: &str,
    user_id: &str,
    expires_at: u64,
) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare(
            "WITH RECURSIVE chain(id) AS ( \
               SELECT successor_id FROM revoked_sessions \
               WHERE session_id = ?1 AND user_id = ?2 AND successor_id IS NOT NULL \
               UNION SELECT r.successor_id FROM revoked_sessions r JOIN chain c ON r.session_id = c.id \
               WHERE r.successor_id IS NOT NULL) \
             INSERT INTO revoked_sessions (session_id, user_id, expires_at) \
             SELECT id, ?2, ?3 FROM chain WHERE true ON CONFLICT (session_id) DO NOTHING RETURNING session_id",
        )
        .bind(&[text(session_id), text(user_id), int(expires_at)])?)
}

/// Whether `user_id`'s session `session_id` was handed over (D1 knows it as revoked with a
/// successor), for a revocation of it that KV no longer knows.
pub fn was_handed_over(db: &Db, session_id: &str, user_id: &str) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare(
            "SELECT EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = ?1 AND user_id = ?2 \
             AND successor_id IS NOT NULL) AS handed_over",
        )
        .bind(&[text(session_id), text(user_id)])?)
}
