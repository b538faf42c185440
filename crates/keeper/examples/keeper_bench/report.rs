//! Latency samples and the figures printed from them.

use std::time::Duration;

/// Latencies (µs) of answered requests, and how many were errors.
#[derive(Default)]
pub struct Sample {
    pub latencies_us: Vec<u32>,
    pub errors: u64,
}

impl Sample {
    pub fn record(&mut self, latency: Duration, error: bool) {
        self.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        self.errors += u64::from(error);
    }

    pub fn merge(&mut self, other: Sample) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
    }

    /// The `p` quantile (0..1) in milliseconds.
    pub fn percentile_ms(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        self.latencies_us.sort_unstable();
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[index]) / 1000.0
    }
}

/// One workload's figures on one system.
#[derive(Clone, Copy, Default)]
pub struct Figures {
    /// Closed-loop throughput, the bench's own client and the zookeeper-client crate.
    pub ops: f64,
    pub crate_ops: f64,
    /// Open-loop latency at the fixed rate, from each request's intended send time (ms).
    pub p50: f64,
    pub p99: f64,
    pub crate_p50: f64,
    pub crate_p99: f64,
    pub errors: u64,
}
