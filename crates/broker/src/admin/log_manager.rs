//! The log manager's periodic work: a retention pass over every partition each
//! `log.retention.check.interval.ms`, and (with `log.cleaner.enable`) a compaction pass over
//! the compacted topics' partitions each `log.cleaner.backoff.ms`. Both run on the blocking
//! pool: they read and delete files.

use std::sync::{Arc, Weak};
use std::time::Duration;

use ferry_log::LogError;

use crate::broker::Broker;
use crate::periodic::every;

pub(super) fn spawn(broker: Weak<Broker>) {
    let Some(b) = broker.upgrade() else { return };
    let defaults = &b.config.topic_defaults;
    let millis = |key| Duration::from_millis(defaults.broker_u64(key).max(1));
    let retention = millis("log.retention.check.interval.ms");
    tokio::spawn(every(
        broker.clone(),
        retention,
        "retention",
        retention_pass,
    ));
    if defaults.broker_bool("log.cleaner.enable") {
        let backoff = millis("log.cleaner.backoff.ms");
        tokio::spawn(every(broker, backoff, "compaction", compaction_pass));
    }
}

/// Every hosted partition's log, led or followed (`only` filters topics).
fn logs(b: &Broker, only: impl Fn(&str) -> bool) -> Vec<(String, Arc<ferry_log::Log>)> {
    b.replica_manager
        .all()
        .into_iter()
        .filter(|p| only(&p.tp.topic))
        .map(|p| (p.tp.dir_name(), p.log.clone()))
        .collect()
}

/// A log deleted (topic deletion) under a pass is not worth a warning.
fn report(partition: &str, what: &str, error: &LogError) {
    match error {
        LogError::Closed(_) => tracing::debug!(partition, what, "log closed meanwhile"),
        _ => tracing::warn!(partition, what, %error, "log manager pass failed"),
    }
}

fn retention_pass(b: &Arc<Broker>, now: i64) {
    for (partition, log) in logs(b, |_| true) {
        match log.apply_retention(now) {
            Ok(r) if !r.deleted_segments.is_empty() => tracing::info!(
                partition,
                segments = r.deleted_segments.len(),
                bytes = r.deleted_bytes,
                log_start_offset = r.log_start_offset,
                "retention deleted segments"
            ),
            Ok(_) => {}
            Err(error) => report(&partition, "retention", &error),
        }
    }
}

fn compaction_pass(b: &Arc<Broker>, now: i64) {
    let compacted = |topic: &str| {
        b.effective_config(topic)
            .log_config()
            .cleanup_policy
            .compacts()
    };
    for (partition, log) in logs(b, compacted) {
        match log.compact(now) {
            Ok(stats) if stats.records_removed > 0 || stats.tombstones_removed > 0 => {
                tracing::info!(
                    partition,
                    removed = stats.records_removed,
                    tombstones = stats.tombstones_removed,
                    "compacted"
                )
            }
            Ok(_) => {}
            Err(error) => report(&partition, "compaction", &error),
        }
    }
}
