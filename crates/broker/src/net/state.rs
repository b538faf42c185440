//! What all connections of the listener share, and count for the metrics.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use ferry_net::{ConnectionQuotas, Histogram, LimitCounter, MemoryPool};
use tokio::sync::Semaphore;

use super::SocketSettings;

/// Request times are kept for API keys up to this one (every key Kafka 2.x defines).
pub const MAX_API_KEY: i16 = 67;

pub struct NetState {
    pub settings: SocketSettings,
    pub quotas: Arc<ConnectionQuotas>,
    /// `queued.max.request.bytes`: memory of the requests being read.
    pub pool: MemoryPool,
    /// `queued.max.requests`: one permit per request being handled.
    pub request_slots: Arc<Semaphore>,
    /// Requests that waited for a free slot.
    pub slots_full: LimitCounter,
    /// Connections closed after `connections.max.idle.ms` without a request.
    pub idle_closed: LimitCounter,
    /// Connections closed because a frame was not complete, or an answer not taken, within
    /// `connections.max.idle.ms`.
    pub stalled_closed: LimitCounter,
    /// Frames over `socket.request.max.bytes` (their connections are closed).
    pub oversize: LimitCounter,
    /// Connections accepted since start.
    pub accepted: AtomicU64,
    /// Time from a request's last byte read to its answer's last byte written, per API key
    /// (Kafka's `RequestMetrics` `TotalTimeMs`, less the read).
    pub request_time: Vec<Histogram>,
}

impl NetState {
    pub fn new(settings: SocketSettings) -> Self {
        NetState {
            quotas: Arc::new(ConnectionQuotas::new(
                settings.quotas.clone(),
                "max.connections.per.ip",
                "max.connections",
            )),
            pool: MemoryPool::new(
                settings.queued_max_request_bytes,
                "queued.max.request.bytes",
            ),
            request_slots: Arc::new(Semaphore::new(settings.queued_max_requests)),
            slots_full: LimitCounter::new("queued.max.requests"),
            idle_closed: LimitCounter::new("connections.max.idle.ms"),
            stalled_closed: LimitCounter::new("connections.max.idle.ms"),
            oversize: LimitCounter::new("socket.request.max.bytes"),
            accepted: AtomicU64::new(0),
            request_time: (0..=MAX_API_KEY).map(|_| Histogram::default()).collect(),
            settings,
        }
    }

    /// Records how long a request of `api_key` took (keys out of range are not kept).
    pub fn record_request(&self, api_key: i16, elapsed: std::time::Duration) {
        if let Some(histogram) = usize::try_from(api_key)
            .ok()
            .and_then(|k| self.request_time.get(k))
        {
            histogram.record(elapsed);
        }
    }
}
