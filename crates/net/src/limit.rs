//! A limit reached: counted (the metrics report the total) and logged at most once per
//! interval, so that a flood of refused connections cannot flood the log as well.

use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The least time between two log lines of one limit.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// One limit, named by its configuration key.
pub struct LimitCounter {
    name: &'static str,
    count: AtomicU64,
    /// Milliseconds since [`epoch`] of the last log line, plus one (0: never logged).
    last_logged: AtomicU64,
    /// Hits since the last log line (reported in the next one).
    unlogged: AtomicU64,
}

/// A process-wide reference instant for the counters' timestamps.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl LimitCounter {
    pub fn new(name: &'static str) -> Self {
        LimitCounter {
            name,
            count: AtomicU64::new(0),
            last_logged: AtomicU64::new(0),
            unlogged: AtomicU64::new(0),
        }
    }

    /// Counts one hit; logs `what` unless this limit logged within [`LOG_INTERVAL`].
    pub fn hit(&self, what: impl Display) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let unlogged = self.unlogged.fetch_add(1, Ordering::Relaxed) + 1;
        let now = epoch().elapsed().as_millis() as u64 + 1;
        let last = self.last_logged.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= LOG_INTERVAL.as_millis() as u64;
        if due
            && self
                .last_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.unlogged.fetch_sub(unlogged, Ordering::Relaxed);
            tracing::warn!(
                limit = self.name,
                since_last_report = unlogged,
                total = self.count(),
                "{what}"
            );
        }
    }

    /// Hits since the process started.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The configuration key this limit is set by.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_hit() {
        let limit = LimitCounter::new("max.connections");
        for i in 0..1000 {
            limit.hit(format_args!("connection {i} refused"));
        }
        assert_eq!(limit.count(), 1000);
        assert_eq!(limit.name(), "max.connections");
        // Only the first hit logged; the rest wait for the interval.
        assert_eq!(limit.unlogged.load(Ordering::Relaxed), 999);
    }
}
