//! Failure runs (`storage::attempts`): counting an attempt before its secret is checked, the lock
//! rule, handing a count back and ending a run.

use super::tables::{BudgetRow, State};
use crate::domain::throttle::ThrottlePolicy;
use crate::storage::attempts::{Budget, Reservation, BUDGET_KEEP_SECONDS};

/// `attempts::lock_after`: the run's lock after its `failures`-th failure in a row (0: none).
pub(super) fn lock_after(policy: ThrottlePolicy, failures: u32, now: u64) -> u64 {
    match failures >= policy.threshold {
        true => now + policy.lock_seconds(failures),
        false => 0,
    }
}

impl State {
    /// The strangers' run of `users` (`UPDATE users … WHERE locked_until <= now RETURNING`).
    fn count_strangers(&mut self, user_id: &str, policy: ThrottlePolicy, now: u64) -> Option<u64> {
        let user = self.user_mut(user_id).filter(|u| u.locked_until <= now)?;
        user.failed_attempts += 1;
        user.locked_until = lock_after(policy, user.failed_attempts, now);
        Some(user.locked_until)
    }

    /// A run of `attempt_budgets` (the upsert unless the run is locked); `user_id` is written only
    /// by the insert.
    pub(super) fn count_scoped(&mut self, scope: &str, user_id: &str, policy: ThrottlePolicy, now: u64) -> Option<u64> {
        let expires_at = now + BUDGET_KEEP_SECONDS;
        match self.budgets.get_mut(scope) {
            None => {
                let locked_until = lock_after(policy, 1, now);
                let row = BudgetRow { user_id: user_id.to_string(), failed_attempts: 1, locked_until, expires_at };
                self.budgets.insert(scope.to_string(), row);
                Some(locked_until)
            }
            Some(row) if row.locked_until <= now => {
                row.failed_attempts += 1;
                row.locked_until = lock_after(policy, row.failed_attempts, now);
                row.expires_at = expires_at;
                Some(row.locked_until)
            }
            Some(_) => None,
        }
    }

    /// Counts an attempt of `budget` for the user (`attempts::reserve_where`, whose precondition
    /// the caller decided: `holds`); the lock it set, or `None` when nothing was counted.
    pub(super) fn count(
        &mut self,
        holds: bool,
        budget: &Budget,
        user_id: &str,
        policy: ThrottlePolicy,
        now: u64,
    ) -> Option<u64> {
        if !holds {
            return None;
        }
        match budget.scope(user_id) {
            None => self.count_strangers(user_id, policy, now),
            Some(scope) => self.count_scoped(&scope, user_id, policy, now),
        }
    }

    /// `attempts::current_lock`: the run's lock as it stands.
    pub(super) fn lock_of(&self, user_id: &str, budget: &Budget) -> u64 {
        match budget.scope(user_id) {
            None => self.user(user_id).map_or(0, |u| u.locked_until),
            Some(scope) => self.budgets.get(&scope).map_or(0, |b| b.locked_until),
        }
    }

    /// `attempts::reserve_statements` read by `reservation_in`: the count, then the lock.
    pub(super) fn reserve_if(
        &mut self,
        holds: bool,
        budget: &Budget,
        user_id: &str,
        policy: ThrottlePolicy,
        now: u64,
    ) -> Reservation {
        let counted = self.count(holds, budget, user_id, policy, now);
        Reservation::settle(counted, 0, self.lock_of(user_id, budget), now)
    }

    /// `attempts::reset_when`, when `when` holds: the run ends.
    pub(super) fn reset_run_if(&mut self, when: bool, user_id: &str, budget: &Budget) {
        if !when {
            return;
        }
        match budget.scope(user_id) {
            None => {
                if let Some(user) = self.user_mut(user_id) {
                    (user.failed_attempts, user.locked_until) = (0, 0);
                }
            }
            Some(scope) => {
                self.budgets.remove(&scope);
            }
        }
    }

    /// `attempts::refund`: one count back, and a lock only it set lifted.
    pub(super) fn refund(&mut self, user_id: &str, budget: &Budget, now: u64) {
        let run = match budget.scope(user_id) {
            None => self.user_mut(user_id).map(|u| (&mut u.failed_attempts, &mut u.locked_until)),
            Some(scope) => self.budgets.get_mut(&scope).map(|b| (&mut b.failed_attempts, &mut b.locked_until)),
        };
        if let Some((failed, locked_until)) = run {
            *failed = failed.saturating_sub(1);
            *locked_until = (*locked_until).min(now);
        }
        if let Some(scope) = budget.scope(user_id) {
            self.budgets.retain(|s, b| *s != scope || b.failed_attempts > 0);
        }
    }

    /// The count and lock of a run (`None`: it has no row), for tests that look at it.
    pub fn budget_of(&self, user_id: &str, budget: &Budget) -> Option<(u32, u64)> {
        match budget.scope(user_id) {
            None => self.user(user_id).map(|u| (u.failed_attempts, u.locked_until)),
            Some(scope) => self.budgets.get(&scope).map(|b| (b.failed_attempts, b.locked_until)),
        }
    }
}
