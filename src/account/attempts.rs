//! The authentication core's counter (SPEC §5.7). An [`Attempt`] exists only once it has been
//! counted as a failure in D1, before any secret is checked; whoever holds one must end it in
//! one of three ways: [`Attempt::failed`] (records the failure, maybe the lock, and answers the
//! error), [`Attempt::refund`] (the secret was right but the sign-in goes on), or passing its
//! [`Attempt::budget`] to the storage write that completes the success and resets the run.

use serde_json::{json, Value};

use crate::app::App;
use crate::auth::session::CurrentSession;
use crate::http::ApiError;
use crate::storage::attempts::{self, Budget, Condition, Generations, Reservation};
use crate::storage::events::{EventType, NewEvent};

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
            Reservation::Stale => Err(ApiError::Unauthenticated),
        }
    }

    /// An attempt of a signed-in session at its own password or codes: counted against the
    /// session, not the account (strangers cannot lock the owner's session out).
    pub async fn by_session(app: &App, current: &CurrentSession) -> Result<Self, ApiError> {
        Ok(Self::by_session_with(app, current, Vec::new()).await?.0)
    }

    /// [`Attempt::by_session`], with `also` run in the same transaction; answers their results.
    pub async fn by_session_with(
        app: &App,
        current: &CurrentSession,
        also: Vec<worker::D1PreparedStatement>,
    ) -> Result<(Self, Vec<worker::D1Result>), ApiError> {
        let budget = Budget::Session(current.id.to_string());
        if also.is_empty() {
            if let Some(held) = app.take_reserved_attempt(&budget) {
                return Ok((Self::from_reservation(app, &held.user_id, held.budget, held.reservation)?, Vec::new()));
            }
        }
        let condition = Condition::UserId(&current.user.id);
        let (reservation, results) =
            attempts::reserve_with(&app.db()?, &budget, condition, app.config.throttle, app.now, also).await?;
        Ok((Self::from_reservation(app, &current.user.id, budget, reservation)?, results))
    }

    /// An attempt at the second step of a sign-in, in the run its password was counted in,
    /// refused (401) when the sign-in's generations are stale. Also answers the row `select` reads.
    pub async fn for_second_step<T: serde::de::DeserializeOwned>(
        app: &App,
        user_id: &str,
        budget: Budget,
        generations: Generations,
        select: worker::D1PreparedStatement,
    ) -> Result<(Self, Option<T>), ApiError> {
        let (attempt, results) = Self::for_second_step_with(app, user_id, budget, generations, vec![select]).await?;
        let row = results.first().map(|r| r.results::<T>()).transpose()?.and_then(|rows| rows.into_iter().next());
        Ok((attempt, row))
    }

    /// [`Attempt::for_second_step`], with `also` run in the same transaction; answers their results.
    pub async fn for_second_step_with(
        app: &App,
        user_id: &str,
        budget: Budget,
        generations: Generations,
        also: Vec<worker::D1PreparedStatement>,
    ) -> Result<(Self, Vec<worker::D1Result>), ApiError> {
        let condition = Condition::Current(user_id, generations);
        let (reservation, results) =
            attempts::reserve_with(&app.db()?, &budget, condition, app.config.throttle, app.now, also).await?;
        Ok((Self::from_reservation(app, user_id, budget, reservation)?, results))
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
    /// or the attempt was refused for another reason: the count goes back.
    pub async fn refund(self, app: &App) -> Result<(), ApiError> {
        if self.user_id.is_empty() {
            return Ok(());
        }
        Ok(attempts::hand_back(&app.db()?, &self.user_id, &self.budget, app.now).await?)
    }

    /// The secret was right and nothing else is written with it: the run ends.
    pub async fn passed(self, app: &App) -> Result<(), ApiError> {
        Ok(attempts::end_run(&app.db()?, &self.user_id, &self.budget).await?)
    }
}
