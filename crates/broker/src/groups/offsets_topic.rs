//! `__consumer_offsets`: creating it, appending the coordinator's records, reading them back.
//!
//! The topic is created on first need (FindCoordinator, or the first commit) with
//! `offsets.topic.num.partitions` partitions and `cleanup.policy=compact` in its ZooKeeper
//! config, as Kafka creates it; its logs are opened compacted, with Kafka's 100 MiB
//! `offsets.topic.segment.bytes`, so only the latest record per key survives cleaning.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_log::{decompressed_records, AppendOrigin, BatchBuilder, BatchIter, Log, RecordIter};

use crate::broker::Broker;
use crate::replica::Partition;
use crate::replicas::ReplicaError;
use crate::zk::ZkError;

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Kafka's `offsets.topic.segment.bytes` default.
const SEGMENT_BYTES: u64 = 100 * 1024 * 1024;

/// Largest read while loading a partition (one segment's batches at most per read).
const LOAD_READ_BYTES: usize = 4 * 1024 * 1024;

/// Why the offsets topic could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("creating {OFFSETS_TOPIC}: {0}")]
    Create(#[from] ZkError),
    #[error("{OFFSETS_TOPIC}: {0}")]
    Log(#[from] ReplicaError),
    #[error("{OFFSETS_TOPIC}: {0}")]
    Config(#[from] ferry_log::LogError),
    #[error("{OFFSETS_TOPIC} does not exist yet")]
    Missing,
}

/// The topic's configs as written to ZooKeeper.
pub fn topic_config() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("cleanup.policy".to_string(), "compact".to_string()),
        ("compression.type".to_string(), "producer".to_string()),
        ("segment.bytes".to_string(), SEGMENT_BYTES.to_string()),
    ])
}

/// The partition count, creating the topic if it does not exist.
pub async fn ensure(broker: &Broker, partitions: i32) -> Result<i32, StoreError> {
    if let Some(n) = broker.replicas.partitions(OFFSETS_TOPIC) {
        return Ok(n);
    }
    // Kafka refuses to create it on fewer brokers than offsets.topic.replication.factor; a
    // smaller cluster (a single broker) gets as many replicas as it has, with a warning.
    let configured = i32::from(broker.config.groups.offsets_topic_replication_factor);
    let live = broker.live_broker_ids().await?.len();
    let rf = configured
        .min(i32::try_from(live).unwrap_or(i32::MAX))
        .max(1);
    if rf < configured {
        tracing::warn!(
            configured,
            live,
            "creating {OFFSETS_TOPIC} with {rf} replicas"
        );
    }
    match broker
        .create_topic_with_config(OFFSETS_TOPIC, partitions, rf, &topic_config())
        .await
    {
        Ok(()) => {
            tracing::info!(partitions, "created {OFFSETS_TOPIC}");
            Ok(partitions)
        }
        // Created meanwhile (by a concurrent request or another broker): use it once known.
        Err(ZkError::TopicExists { .. }) => broker
            .replicas
            .partitions(OFFSETS_TOPIC)
            .ok_or(StoreError::Missing),
        Err(error) => Err(error.into()),
    }
}

/// The partition count if the topic exists.
pub fn partitions(broker: &Broker) -> Option<i32> {
    broker.replicas.partitions(OFFSETS_TOPIC)
}

/// The log of one partition. Its settings (cleanup.policy=compact, segment.bytes) are the
/// topic's configs in ZooKeeper, applied by the broker like any topic's; the broker's log
/// cleaner compacts it with the other compacted topics.
fn log(broker: &Broker, partition: i32) -> Result<Arc<Log>, StoreError> {
    Ok(broker.replicas.log(OFFSETS_TOPIC, partition)?)
}

/// The partition if this broker leads it: only the leader writes group records.
fn leader(broker: &Broker, partition: i32) -> Result<Arc<Partition>, StoreError> {
    let exists = broker
        .metadata
        .partition(OFFSETS_TOPIC, partition)
        .is_some();
    let leader = broker
        .replica_manager
        .leader(OFFSETS_TOPIC, partition, -1, exists)
        .map_err(ReplicaError::from)?;
    Ok(leader)
}

/// Appends (key, value) records as one batch (a `None` value is a tombstone), before the
/// caller acknowledges anything.
pub fn append(
    broker: &Broker,
    partition: i32,
    records: &[(Vec<u8>, Option<Vec<u8>>)],
    now_ms: i64,
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut builder = BatchBuilder::new(now_ms);
    for (key, value) in records {
        builder.append(Some(key), value.as_deref(), now_ms);
    }
    let mut batch = builder.build();
    let leader = leader(broker, partition)?;
    leader.log.append_as_leader_from(
        &mut batch,
        leader.leader_epoch(),
        AppendOrigin::Coordinator,
    )?;
    leader.appended_as_leader();
    broker.replicas.notify_appended();
    Ok(())
}

/// Calls `visit(key, value)` for every record of a partition in log order; records that do
/// not decode are skipped by the caller, batches in codecs this build cannot read are skipped
/// with a warning.
pub fn scan(
    broker: &Broker,
    partition: i32,
    mut visit: impl FnMut(&[u8], Option<&[u8]>),
) -> Result<(), StoreError> {
    let log = log(broker, partition)?;
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    while offset < end {
        let read = log.read(offset, LOAD_READ_BYTES, None)?;
        let mut next = offset;
        for (header, batch) in BatchIter::new(&read.records) {
            next = next.max(header.next_offset());
            if header.is_control() || header.next_offset() <= offset {
                continue;
            }
            let records = match decompressed_records(&header, batch) {
                Ok(Some(records)) => records,
                Ok(None) | Err(_) => {
                    tracing::warn!(
                        partition,
                        offset = header.base_offset,
                        "undecodable batch skipped"
                    );
                    continue;
                }
            };
            for record in RecordIter::new(&records, header.records_count).flatten() {
                let absolute = header.base_offset + i64::from(record.offset_delta);
                if absolute < offset {
                    continue;
                }
                if let Some(key) = record.key {
                    visit(key, record.value);
                }
            }
        }
        if next <= offset {
            // Nothing readable at this offset (a gap left by compaction or a bad batch).
            tracing::warn!(
                partition,
                offset,
                "no batch readable; stopping the load here"
            );
            break;
        }
        offset = next;
    }
    Ok(())
}
