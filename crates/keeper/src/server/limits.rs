//! The server's limits on what clients may make it hold, and their counters (reported by
//! `mntr` and `/metrics`).

use std::sync::Arc;

use ferry_net::{LimitCounter, MemoryPool};
use tokio::sync::Semaphore;

use crate::config::KeeperConfig;

pub struct KeeperLimits {
    /// Memory of the frames being read. ZooKeeper has no such limit (each frame is bounded by
    /// `jute.maxbuffer` and the connections by `maxClientCnxns`), so the pool only counts.
    pub pool: MemoryPool,
    /// `globalOutstandingLimit`: one permit per write in the pipeline.
    pub write_slots: Arc<Semaphore>,
    /// Requests that waited for a write slot (reading from their connection paused).
    pub throttled: LimitCounter,
    /// Connections closed because their client read nothing while replies and events piled
    /// up (4 x max(`jute.maxbuffer`, 1 MiB) unwritten), or took no data for a session timeout.
    pub slow_readers: LimitCounter,
    /// Connections closed without a complete handshake in time.
    pub handshake_timeouts: LimitCounter,
    /// Connections closed for sending no request, or not finishing one, for a session timeout.
    pub idle_closed: LimitCounter,
    /// Frames over `jute.maxbuffer`.
    pub oversize: LimitCounter,
}

impl KeeperLimits {
    pub fn new(config: &KeeperConfig) -> Self {
        KeeperLimits {
            pool: MemoryPool::new(None, "jute.maxbuffer"),
            write_slots: Arc::new(Semaphore::new(config.global_outstanding_limit.max(1))),
            throttled: LimitCounter::new("globalOutstandingLimit"),
            slow_readers: LimitCounter::new("jute.maxbuffer"),
            handshake_timeouts: LimitCounter::new("zookeeper.nio.sessionlessCnxnTimeout"),
            idle_closed: LimitCounter::new("maxSessionTimeout"),
            oversize: LimitCounter::new("jute.maxbuffer"),
        }
    }
}
