//! The producer perf test's figures, as Kafka's `ProducerPerformance.Stats` prints them: a line
//! per reporting window and a summary with latency percentiles.

use std::time::{Duration, Instant};

pub struct Stats {
    start: Instant,
    record_size: usize,
    interval: Duration,
    /// Latency in ms of every record acknowledged.
    latencies: Vec<u32>,
    count: u64,
    bytes: u64,
    max_latency: u32,
    total_latency: u64,
    window: Window,
}

struct Window {
    start: Instant,
    count: u64,
    bytes: u64,
    max_latency: u32,
    total_latency: u64,
}

impl Window {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            count: 0,
            bytes: 0,
            max_latency: 0,
            total_latency: 0,
        }
    }
}

impl Stats {
    pub fn new(expected: u64, record_size: usize, interval: Duration) -> Self {
        Self {
            start: Instant::now(),
            record_size,
            interval,
            latencies: Vec::with_capacity(expected.min(10_000_000) as usize),
            count: 0,
            bytes: 0,
            max_latency: 0,
            total_latency: 0,
            window: Window::new(),
        }
    }

    /// `n` records sent at `created` were acknowledged now.
    pub fn record(&mut self, created: Instant, n: u64) {
        let latency = created.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
        let bytes = n * self.record_size as u64;
        self.count += n;
        self.bytes += bytes;
        self.total_latency += u64::from(latency) * n;
        self.max_latency = self.max_latency.max(latency);
        self.latencies
            .extend(std::iter::repeat_n(latency, n as usize));
        let w = &mut self.window;
        w.count += n;
        w.bytes += bytes;
        w.total_latency += u64::from(latency) * n;
        w.max_latency = w.max_latency.max(latency);
        if w.start.elapsed() >= self.interval {
            let secs = w.start.elapsed().as_secs_f64();
            println!(
                "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
                w.count,
                w.count as f64 / secs,
                w.bytes as f64 / secs / (1024.0 * 1024.0),
                w.total_latency as f64 / w.count.max(1) as f64,
                f64::from(w.max_latency),
            );
            self.window = Window::new();
        }
    }

    pub fn print_total(&mut self) {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        self.latencies.sort_unstable();
        let pct = |p: f64| -> u32 {
            if self.latencies.is_empty() {
                return 0;
            }
            let i = ((p * self.latencies.len() as f64) as usize).min(self.latencies.len() - 1);
            self.latencies[i]
        };
        println!(
            "{} records sent, {:.6} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            self.count,
            self.count as f64 / secs,
            self.bytes as f64 / secs / (1024.0 * 1024.0),
            self.total_latency as f64 / self.count.max(1) as f64,
            f64::from(self.max_latency),
            pct(0.5),
            pct(0.95),
            pct(0.99),
            pct(0.999),
        );
    }
}
