//! The broker's periodic background passes (retention, compaction, ISR expiration, the high
//! watermark checkpoint): each runs on the blocking pool, first one period after startup,
//! until the broker is gone or its ZooKeeper session is closed for good.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::broker::Broker;

/// Runs `pass(broker, now_ms)` every `period`; `what` names it in the log if it panics.
pub(crate) async fn every(
    broker: Weak<Broker>,
    period: Duration,
    what: &'static str,
    pass: fn(&Arc<Broker>, i64),
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(b) = broker.upgrade() else { return };
        if b.zk.is_closed() {
            return;
        }
        let now = crate::groups::wall_clock_ms();
        let run = tokio::task::spawn_blocking(move || pass(&b, now));
        if let Err(error) = run.await {
            tracing::error!(%error, pass = what, "periodic pass panicked");
        }
    }
}
