//! The KV keys, one type per prefix with the type of value stored under it (as daphne's
//! `KvPrefix`): nobody formats a key by hand, here or in the tests.

use super::sessions::{PendingSignIn, SessionRecord, SessionSummary};
use crate::domain::ids::{SessionId, UserId};

/// A key and what is stored under it.
pub trait KvKey {
    /// The JSON value (or, for index keys, the metadata).
    type Value;
    fn name(&self) -> String;
}

/// `session:{session id}` → the [`SessionRecord`] every request reads.
pub struct SessionKey<'a>(pub &'a SessionId);

impl KvKey for SessionKey<'_> {
    type Value = SessionRecord;
    fn name(&self) -> String {
        format!("session:{}", self.0)
    }
}

/// `user:{user id}:session:{session id}` → empty, with the [`SessionSummary`] as metadata, so
/// one `list` of [`SessionIndexKey::prefix`] shows every session of a user.
pub struct SessionIndexKey<'a> {
    pub user: &'a UserId,
    pub session: &'a SessionId,
}

impl SessionIndexKey<'_> {
    pub fn prefix(user: &UserId) -> String {
        format!("user:{user}:session:")
    }
}

impl KvKey for SessionIndexKey<'_> {
    type Value = SessionSummary;
    fn name(&self) -> String {
        format!("{}{}", Self::prefix(self.user), self.session)
    }
}

/// `pending:{id of the pending token}` → the [`PendingSignIn`] waiting for its second factor.
pub struct PendingKey<'a>(pub &'a SessionId);

impl KvKey for PendingKey<'_> {
    type Value = PendingSignIn;
    fn name(&self) -> String {
        format!("pending:{}", self.0)
    }
}

/// `challenge:{challenge}` → the [`IssuedChallenge`] a WebAuthn ceremony must answer.
pub struct ChallengeKey<'a>(pub &'a str);

impl KvKey for ChallengeKey<'_> {
    type Value = super::passkeys::IssuedChallenge;
    fn name(&self) -> String {
        format!("challenge:{}", self.0)
    }
}

/// The key names, for tests that inspect or plant local KV state.
pub mod names {
    use super::*;

    pub fn session(session_id: &str) -> String {
        SessionKey(&SessionId::new(session_id)).name()
    }

    pub fn session_index(user_id: &str, session_id: &str) -> String {
        SessionIndexKey { user: &UserId::new(user_id), session: &SessionId::new(session_id) }.name()
    }

    pub fn session_index_prefix(user_id: &str) -> String {
        SessionIndexKey::prefix(&UserId::new(user_id))
    }

    pub fn pending(pending_id: &str) -> String {
        PendingKey(&SessionId::new(pending_id)).name()
    }

    pub fn challenge(challenge: &str) -> String {
        ChallengeKey(challenge).name()
    }
}
