//! A latency histogram for the metrics pages: fixed buckets (Prometheus' `le` bounds, in
//! milliseconds, 0.05 ms to 10 s), lock-free counting, and the largest value seen. Cheap
//! enough to record every request.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in microseconds (the last bucket is everything above).
const BOUNDS_US: [u64; 17] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BOUNDS_US.len() + 1],
    count: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Histogram {
    pub fn record(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_US.partition_point(|&bound| bound < us);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The largest value recorded.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us.load(Ordering::Relaxed))
    }

    /// Appends the histogram in Prometheus' text format: `name_bucket{labels,le=...}`
    /// (cumulative, in milliseconds), `name_sum`, `name_count`. `labels` is `key="value"`
    /// pairs without braces, or empty.
    pub fn write_prometheus(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = match BOUNDS_US.get(i) {
                Some(us) => format!("{}", *us as f64 / 1000.0),
                None => "+Inf".to_string(),
            };
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let sum_ms = self.sum_us.load(Ordering::Relaxed) as f64 / 1000.0;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum_ms}");
        let _ = writeln!(out, "{name}_count{braces} {}", self.count());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_in_milliseconds() {
        let h = Histogram::default();
        h.record(Duration::from_micros(40));
        h.record(Duration::from_micros(700));
        h.record(Duration::from_secs(20));
        let mut out = String::new();
        h.write_prometheus(&mut out, "t", "request=\"Produce\"");
        assert!(
            out.contains("t_bucket{request=\"Produce\",le=\"0.05\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("t_bucket{request=\"Produce\",le=\"1\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("t_bucket{request=\"Produce\",le=\"10000\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("t_bucket{request=\"Produce\",le=\"+Inf\"} 3\n"),
            "{out}"
        );
        assert!(out.contains("t_count{request=\"Produce\"} 3\n"), "{out}");
        assert_eq!(h.max(), Duration::from_secs(20));
    }
}
