//! The authentication core's counter (SPEC §5.7). An [`Attempt`] exists only once it has been
//! counted as a failure in D1, before any secret is checked; whoever holds one must end it in
//! one of three ways: [`Attempt::failed`] (records the failure, maybe the lock, and answers the
//! error), [`Attempt::refund`] (the secret was right but nothing is complete, or the request was
//! refused after all: the run goes on), or passing its [`Attempt::budget`] to the storage write
//! that completes the action and ends the run in the same transaction.

use serde_json::{json, Value};

use super::error::Unexpected;
use crate::app::Cx;
use crate::auth::session::{CurrentSession, ReservedAttempt};
use crate::storage::attempts::{Budget, Condition, Reservation};
use crate::storage::events::{EventType, NewEvent};
use crate::storage::{ip_limits, Store};

/// Why the core lets nobody try a secret now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The client's run is locked, or its address is held: try again in `retry_after` seconds.
    #[error("too many attempts (retry after {retry_after} s)")]
    RateLimited { retry_after: u64 },
    /// What the attempt was for has ended: a session, or a sign-in whose generations moved on.
    #[error("signed out")]
    SignedOut,
}

#[must_use = "an attempt must fail, be refunded or complete"]
pub struct Attempt {
    user_id: String,
    budget: Budget,
    /// The lock that stands if this attempt is a failure (0: none).
    locks_until: u64,
}

impl Attempt {
    /// Turns a reservation into an attempt, or into the refusal of a locked run or held address
    /// (429) or of a stale sign-in (401).
    pub fn from_reservation(
        now: u64,
        user_id: &str,
        budget: Budget,
        reservation: Reservation,
    ) -> Result<Self, Refused> {
        match reservation {
            Reservation::Reserved { locks_until } => Ok(Self { user_id: user_id.into(), budget, locks_until }),
            Reservation::Locked { until } => {
                Err(Refused::RateLimited { retry_after: until.saturating_sub(now).max(1) })
            }
            // The hold's whole period, not what is left of it: the same answer for every
            // request in the hold, whichever e-mail it names and whenever in a second it came.
            Reservation::Held { .. } => Err(Refused::RateLimited { retry_after: ip_limits::PERIOD_SECONDS }),
            Reservation::Stale => Err(Refused::SignedOut),
        }
    }

    /// An attempt of a signed-in session at its own password or codes: counted against the
    /// session, not the account (strangers cannot lock the owner's session out). Usually the
    /// session check reserved it already (routes marked `checking_a_secret()`).
    pub async fn by_session<S, E>(cx: &Cx<S>, current: &CurrentSession) -> Result<Self, E>
    where
        S: Store,
        E: From<Refused> + From<Unexpected>,
    {
        let budget = Budget::Session(current.id.to_string());
        if let Some(held) = current.claim_reserved_attempt(&budget) {
            return Ok(Self::from_reservation(cx.now(), &held.user_id, held.budget, held.reservation)?);
        }
        let condition = Condition::UserId(&current.user.id);
        let reserved = cx.store.reserve(&budget, condition, cx.config().throttle, cx.now()).await;
        let reservation = reserved.map_err(Unexpected::from)?;
        Ok(Self::from_reservation(cx.now(), &current.user.id, budget, reservation)?)
    }

    /// Hands back an attempt the session check reserved for a request that never reached its
    /// secret (bad input, no sudo): only checked secrets count.
    pub async fn hand_back_unclaimed<S: Store>(cx: &Cx<S>, unclaimed: ReservedAttempt) -> Result<(), Unexpected> {
        if !matches!(unclaimed.reservation, Reservation::Reserved { .. }) {
            return Ok(());
        }
        Ok(cx.store.hand_back(&unclaimed.user_id, &unclaimed.budget, cx.now()).await?)
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The secret was wrong: records `sign_in_failed` with `detail` (and `locked_out` when this
    /// failure locked the run) and answers `wrong`, or the lock's refusal when it locked the run.
    pub async fn failed<S: Store, E: From<Refused>>(
        self,
        cx: &Cx<S>,
        detail: Value,
        wrong: E,
    ) -> Result<E, Unexpected> {
        let (failed, lock, answer) = self.failure(cx, detail, wrong);
        let lock = lock.map(|detail| cx.event(&self.user_id, EventType::LockedOut, detail));
        let failed = cx.event(&self.user_id, EventType::SignInFailed, failed);
        cx.store.record_failure(&failed, lock.as_ref()).await?;
        Ok(answer)
    }

    /// [`Attempt::failed`], recorded after the answer: a sign-in's first step must await the
    /// same work for an unknown e-mail (which records nothing) as for a real account.
    pub fn failed_after_answer<S: Store, E: From<Refused>>(self, cx: &Cx<S>, detail: Value, wrong: E) -> E {
        let (failed, lock, answer) = self.failure(cx, detail, wrong);
        let (store, origin, now, user_id) = (cx.store.clone(), cx.facts.origin.clone(), cx.now(), self.user_id);
        cx.effects.later("recording a failed attempt", async move {
            let event = |kind, detail| NewEvent { user_id: &user_id, kind, at: now, origin: &origin, detail };
            let lock = lock.map(|detail| event(EventType::LockedOut, detail));
            store.record_failure(&event(EventType::SignInFailed, failed), lock.as_ref()).await
        });
        answer
    }

    /// The details of the failure event and of the lock it caused, and the answer.
    fn failure<S, E: From<Refused>>(&self, cx: &Cx<S>, mut detail: Value, wrong: E) -> (Value, Option<Value>, E) {
        detail["client"] = json!(self.budget.name());
        if self.locks_until <= cx.now() {
            return (detail, None, wrong);
        }
        let retry_after = self.locks_until - cx.now();
        let lock = json!({
            "after_failures": cx.config().throttle.threshold,
            "client": self.budget.name(),
            "retry_after": retry_after,
        });
        (detail, Some(lock), E::from(Refused::RateLimited { retry_after }))
    }

    /// The secret was right but nothing is complete yet (a password before its second factor),
    /// or the request was refused for another reason after its secret was checked (a new
    /// password too weak, a lost race): the count goes back, and the run goes on — only a
    /// completed authentication whose action succeeds ends it (SPEC §5.7).
    pub async fn refund<S: Store>(self, cx: &Cx<S>) -> Result<(), Unexpected> {
        Ok(cx.store.hand_back(&self.user_id, &self.budget, cx.now()).await?)
    }
}
