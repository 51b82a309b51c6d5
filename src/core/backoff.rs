//! The restart throttle: how long to wait after a failed start.
//!
//! The delay starts at `backoff`, doubles with each consecutive failed start
//! and stops growing at `backoff_max`; a start that reaches `running` resets
//! it. Counting failures here also decides when a program goes `fatal`.
//! Pure arithmetic: no clock (the caller adds the delay to its `now`).

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    /// Consecutive failed starts since the last good one.
    failures: u32,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            // A max below the first delay would make the sequence shrink;
            // the first delay wins, as an operator would expect.
            max: max.max(first),
            failures: 0,
        }
    }

    /// Count one more failed start and return the delay before the next try.
    pub fn fail(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.delay()
    }

    /// The delay for the current failure count (the first failure waits
    /// `first`). Doubling stops at the cap, so no overflow however long a
    /// program keeps failing.
    pub fn delay(&self) -> Duration {
        let mut d = self.first;
        for _ in 1..self.failures {
            // Zero never grows: stop early rather than count to `failures`.
            if d >= self.max || d.is_zero() {
                break;
            }
            d = d.saturating_mul(2);
        }
        d.min(self.max)
    }

    /// A start succeeded (the program stayed up for `start_secs`).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn doubles_up_to_the_cap() {
        let mut b = Backoff::new(S(1), S(30));
        let seq: Vec<_> = (0..8).map(|_| b.fail()).collect();
        assert_eq!(seq, [1, 2, 4, 8, 16, 30, 30, 30].map(S));
        assert_eq!(b.failures(), 8);
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(Duration::from_millis(500), S(2));
        b.fail();
        b.fail();
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.fail(), Duration::from_millis(500));
    }

    #[test]
    fn a_cap_below_the_first_delay_keeps_the_first() {
        let mut b = Backoff::new(S(5), S(1));
        assert_eq!(b.fail(), S(5));
        assert_eq!(b.fail(), S(5));
    }

    #[test]
    fn endless_failures_never_overflow() {
        let mut b = Backoff::new(Duration::MAX / 3, Duration::MAX);
        for _ in 0..100 {
            b.fail();
        }
        assert_eq!(b.delay(), Duration::MAX);
        let mut z = Backoff::new(Duration::ZERO, S(1));
        assert_eq!(z.fail(), Duration::ZERO, "zero stays zero");
    }
}
