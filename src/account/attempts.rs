//! The authentication core's counter (SPEC §5.7). An [`Attempt`] exists only once it has been
//! counted as a failure in D1, before any secret is checked; whoever holds one must end it in
//! one of three ways: [`Attempt::failed`] (records the failure, maybe the lock, and answers the
//! error), [`Attempt::refund`] (the secret was right but nothing is complete, or the request was
//! refused after all: the run goes on), or passing its [`Attempt::budget`] to the storage write
//! that completes the action and ends the run in the same transaction.

use serde_json::{json, Value};

use crate::app::App;
use crate::auth::session::CurrentSession;
use crate::http::ApiError;
use crate::storage::attempts::{self, Budget, Condition, Reservation};
use crate::storage::events::{EventType, NewEvent};
use crate::storage::ip_limits;

#[must_use = "an attempt must fail, be refunded or complete"]
pub struct Attempt {
    user_id: String,
    budget: Budget,
    /// The lock that stands if this attempt is a failure (0: none).
    locks_until: u64,
}

impl Attempt {
    /// Turns a reservation into an attempt, or the answer for a locked run (429) or a stale
    /// sign-in (401).
    pub fn from_reservation(
        app: &App,
        user_id: &str,
        budget: Budget,
        reservation: Reservation,
    ) -> Result<Self, ApiError> {
        match reservation {
            Reservation::Reserved { locks_until } => Ok(Self { user_id: user_id.into(), budget, locks_until }),
            Reservation::Locked { until } => {
                Err(ApiError::RateLimited { retry_after: until.saturating_sub(app.now).max(1) })
            }
            // The hold's whole period, not what is left of it: the same answer for every
            // request in the hold, whichever e-mail it names and whenever in a second it came.
            Reservation::Held { .. } => Err(ApiError::RateLimited { retry_after: ip_limits::PERIOD_SECONDS }),
            Reservation::Stale => Err(ApiError::Unauthenticated),
        }
    }

    /// An attempt of a signed-in session at its own password or codes: counted against the
    /// session, not the account (strangers cannot lock the owner's session out). Usually the
    /// session check reserved it already (routes marked `checking_a_secret()`).
    pub async fn by_session(app: &App, current: &CurrentSession) -> Result<Self, ApiError> {
        let budget = Budget::Session(current.id.to_string());
        if let Some(held) = app.take_reserved_attempt(&budget) {
            return Self::from_reservation(app, &held.user_id, held.budget, held.reservation);
        }
        let condition = Condition::UserId(&current.user.id);
        let reservation = attempts::reserve(&app.db()?, &budget, condition, app.config.throttle, app.now).await?;
        Self::from_reservation(app, &current.user.id, budget, reservation)
    }

    /// Hands back an attempt the session check reserved for a request that never reached its
    /// secret (bad input, no sudo): only checked secrets count. Awaited before the answer, so
    /// the client's next request never meets a count (or a lock) this one left behind; a
    /// failure is logged, not answered.
    pub async fn hand_back_unclaimed(app: &App) {
        let Some(held) = app.unclaimed_attempt() else { return };
        if !matches!(held.reservation, Reservation::Reserved { .. }) {
            return;
        }
        let handed_back = match app.db() {
            Ok(db) => attempts::hand_back(&db, &held.user_id, &held.budget, app.now).await.map_err(ApiError::from),
            Err(error) => Err(error),
        };
        if let Err(error) = handed_back {
            worker::console_error!("an unclaimed attempt was not handed back: {error:?}");
        }
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The secret was wrong: records `sign_in_failed` with `detail` (and `locked_out` when this
    /// failure locked the run) and answers `wrong`, or 429 once the run is locked.
    pub async fn failed(self, app: &App, detail: Value, wrong: ApiError) -> Result<ApiError, ApiError> {
        let (failed, lock, answer) = self.failure(app, detail, wrong);
        let lock = lock.as_ref().map(|detail| super::event(app, &self.user_id, EventType::LockedOut, detail.clone()));
        let failed = super::event(app, &self.user_id, EventType::SignInFailed, failed);
        attempts::record_failure(&app.db()?, &failed, lock.as_ref()).await?;
        Ok(answer)
    }

    /// [`Attempt::failed`], recorded after the response: a sign-in's password step must await
    /// the same work for an unknown e-mail (which records nothing) as for a real account.
    pub fn failed_after_response(self, app: &App, detail: Value, wrong: ApiError) -> ApiError {
        let (failed, lock, answer) = self.failure(app, detail, wrong);
        let (db, origin, now, user_id) = (app.db(), app.origin.clone(), app.now, self.user_id);
        app.in_background(async move {
            let event = |kind, detail| NewEvent { user_id: &user_id, kind, at: now, origin: &origin, detail };
            let lock = lock.map(|detail| event(EventType::LockedOut, detail));
            attempts::record_failure(&db?, &event(EventType::SignInFailed, failed), lock.as_ref()).await?;
            Ok::<(), ApiError>(())
        });
        answer
    }

    /// The details of the failure event and of the lock it caused, and the answer.
    fn failure(&self, app: &App, mut detail: Value, wrong: ApiError) -> (Value, Option<Value>, ApiError) {
        detail["client"] = json!(self.budget.name());
        if self.locks_until <= app.now {
            return (detail, None, wrong);
        }
        let retry_after = self.locks_until - app.now;
        let lock = json!({
            "after_failures": app.config.throttle.threshold,
            "client": self.budget.name(),
            "retry_after": retry_after,
        });
        (detail, Some(lock), ApiError::RateLimited { retry_after })
    }

    /// The secret was right but nothing is complete yet (a password before its second factor),
    /// or the request was refused for another reason after its secret was checked (a new
    /// password too weak, a lost race): the count goes back, and the run goes on — only a
    /// completed authentication whose action succeeds ends it (SPEC §5.7).
    pub async fn refund(self, app: &App) -> Result<(), ApiError> {
        Ok(attempts::hand_back(&app.db()?, &self.user_id, &self.budget, app.now).await?)
    }
}
