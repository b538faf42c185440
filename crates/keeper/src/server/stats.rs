//! Counters behind `srvr`, `stat`, `mntr` and `/metrics`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Default)]
pub struct ServerStats {
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    pub outstanding: AtomicI64,
    /// `sync`s this leader is confirming with a quorum (its own clients' and its followers').
    pub pending_syncs: AtomicI64,
    latency_total_us: AtomicU64,
    latency_count: AtomicU64,
    latency_min_us: AtomicU64,
    latency_max_us: AtomicU64,
}

impl ServerStats {
    pub fn record_latency(&self, micros: u64) {
        self.latency_total_us.fetch_add(micros, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_max_us.fetch_max(micros, Ordering::Relaxed);
        let min = self.latency_min_us.load(Ordering::Relaxed);
        if min == 0 || micros < min {
            self.latency_min_us.store(micros.max(1), Ordering::Relaxed);
        }
    }

    /// (min, avg, max) request latency in milliseconds, as `srvr` prints it.
    pub fn latency_ms(&self) -> (f64, f64, f64) {
        let count = self.latency_count.load(Ordering::Relaxed);
        let avg = if count == 0 {
            0.0
        } else {
            self.latency_total_us.load(Ordering::Relaxed) as f64 / count as f64 / 1000.0
        };
        (
            self.latency_min_us.load(Ordering::Relaxed) as f64 / 1000.0,
            avg,
            self.latency_max_us.load(Ordering::Relaxed) as f64 / 1000.0,
        )
    }

    /// `srst`: zero every counter.
    pub fn reset(&self) {
        for counter in [
            &self.packets_received,
            &self.packets_sent,
            &self.latency_total_us,
            &self.latency_count,
            &self.latency_min_us,
            &self.latency_max_us,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }

    pub fn received(&self) {
        self.packets_received.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sent(&self) {
        self.packets_sent.fetch_add(1, Ordering::Relaxed);
    }
}
