//! The per-account lock after repeated wrong passwords or codes (SPEC §5.7): after
//! `threshold` failures in a row the account is locked for `base` seconds, doubling with each
//! further failure, never longer than `max`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub threshold: u32,
    pub base_seconds: u64,
    pub max_seconds: u64,
}

impl ThrottlePolicy {
    pub const DEFAULT: Self = Self { threshold: 5, base_seconds: 30, max_seconds: 900 };

    /// How long the account is locked after its `failures`-th failure in a row (0: not locked).
    pub fn lock_seconds(self, failures: u32) -> u64 {
        if failures < self.threshold {
            return 0;
        }
        let doublings = (failures - self.threshold).min(MAX_DOUBLINGS);
        self.base_seconds.saturating_mul(1u64 << doublings).min(self.max_seconds)
    }

    /// [`ThrottlePolicy::lock_seconds`] for 0, 1, 2, … failures, up to where it no longer changes:
    /// the table the storage's atomic counting reads (its last entry stands for every count past
    /// it), so the rule is written here only.
    pub fn schedule(self) -> Vec<u64> {
        (0..=self.threshold.saturating_add(MAX_DOUBLINGS)).map(|n| self.lock_seconds(n)).collect()
    }
}

/// Past this many doublings the lock no longer grows (the maximum took over long before).
const MAX_DOUBLINGS: u32 = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_locked_before_the_threshold() {
        for n in 0..5 {
            assert_eq!(ThrottlePolicy::DEFAULT.lock_seconds(n), 0);
        }
    }

    #[test]
    fn the_schedule_is_the_rule_counted_out_and_ends_where_it_stops_changing() {
        let p = ThrottlePolicy::DEFAULT;
        let schedule = p.schedule();
        assert_eq!(schedule.len(), 26);
        assert!(schedule.iter().enumerate().all(|(n, s)| *s == p.lock_seconds(n as u32)));
        assert_eq!(p.lock_seconds(500), *schedule.last().unwrap());
    }

    #[test]
    fn the_lock_doubles_per_further_failure_up_to_fifteen_minutes() {
        let p = ThrottlePolicy::DEFAULT;
        assert_eq!([5, 6, 7, 8, 9, 10, 50].map(|n| p.lock_seconds(n)), [30, 60, 120, 240, 480, 900, 900]);
    }
}
