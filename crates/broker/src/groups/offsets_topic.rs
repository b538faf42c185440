//! `__consumer_offsets`: creating it, appending the coordinator's records, reading them back.
//!
//! The topic is created on first need (FindCoordinator, or the first commit) with
//! `offsets.topic.num.partitions` partitions and `cleanup.policy=compact` in its ZooKeeper
//! config, as Kafka creates it; its logs are opened compacted, with Kafka's 100 MiB
//! `offsets.topic.segment.bytes`, so only the latest record per key survives cleaning.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_kafka_protocol::ErrorCode;
use ferry_log::{
    decompressed_records, AppendOrigin, BatchBuilder, BatchError, BatchIter, Log, LogError,
    RecordIter,
};

use crate::broker::Broker;
use crate::replica::delayed_produce::Awaited;
use crate::replica::{LeaderError, Partition};
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
    Replica(#[from] ReplicaError),
    #[error("{OFFSETS_TOPIC}: {0}")]
    Log(#[from] LogError),
    #[error("{OFFSETS_TOPIC} does not exist yet")]
    Missing,
    /// `min.insync.replicas` of the topic is not met: the coordinator writes with acks=all.
    #[error("{OFFSETS_TOPIC}: {in_sync} in-sync replicas, {required} required")]
    NotEnoughReplicas { in_sync: i32, required: i32 },
}

impl StoreError {
    /// The error a produce of the same batch would have got (Kafka's coordinator appends
    /// through the produce path and maps that error per request kind; see
    /// `super::replication`).
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::Create(_) => ErrorCode::CoordinatorNotAvailable,
            StoreError::Missing | StoreError::Replica(ReplicaError::Unknown(_)) => {
                ErrorCode::UnknownTopicOrPartition
            }
            StoreError::Replica(ReplicaError::Leader(error)) => error.code(),
            StoreError::NotEnoughReplicas { .. } => ErrorCode::NotEnoughReplicas,
            StoreError::Log(LogError::InvalidBatch(BatchError::TooLarge { .. })) => {
                ErrorCode::MessageTooLarge
            }
            StoreError::Replica(ReplicaError::Log(_)) | StoreError::Log(_) => {
                ErrorCode::KafkaStorageError
            }
        }
    }
}

/// A batch appended as leader, not yet known to be on the rest of the ISR.
pub struct Appended {
    /// The offset of its first record: of two writes of one key, the later one wins.
    pub base_offset: i64,
    /// What to watch for the high watermark to pass it.
    pub awaited: Awaited,
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

/// Appends (key, value) records as one batch (a `None` value is a tombstone) as the
/// partition's leader, in its current leader epoch. `records` must not be empty. The batch is
/// acknowledged to clients only once the high watermark passes it (see
/// `super::replication`): a leader's log may hold what the next leader never had.
pub fn append(
    broker: &Broker,
    partition: i32,
    records: &[(Vec<u8>, Option<Vec<u8>>)],
    now_ms: i64,
) -> Result<Appended, StoreError> {
    let mut builder = BatchBuilder::new(now_ms);
    for (key, value) in records {
        builder.append(Some(key), value.as_deref(), now_ms);
    }
    let mut batch = builder.build();
    let leader = leader(broker, partition)?;
    let required = broker.min_insync_replicas(OFFSETS_TOPIC);
    let in_sync = i32::try_from(leader.isr_len()).unwrap_or(i32::MAX);
    if in_sync < required {
        return Err(StoreError::NotEnoughReplicas { in_sync, required });
    }
    // Watched from before the append, so no change of the high watermark is missed; the epoch
    // is the one the leadership was checked in (a newer one fails the wait).
    let progress = leader.progress();
    let leader_epoch = leader
        .check_leader(-1)
        .map_err(|error| ReplicaError::from(LeaderError::from(error)))?;
    let info =
        leader
            .log
            .append_as_leader_from(&mut batch, leader_epoch, AppendOrigin::Coordinator)?;
    leader.appended_as_leader();
    broker.replicas.notify_appended();
    Ok(Appended {
        base_offset: info.base_offset,
        awaited: Awaited {
            progress,
            required: info.log_end_offset,
            leader_epoch,
        },
    })
}

/// Calls `visit(key, value)` for every record of a partition in log order, from its log start
/// to its log end as the scan starts (a new leader loads all it has: what is above its high
/// watermark is still to be replicated, not undone). Records that do not decode are skipped by
/// the caller, batches in codecs this build cannot read are skipped with a warning.
pub fn scan(
    broker: &Broker,
    partition: i32,
    mut visit: impl FnMut(&[u8], Option<&[u8]>),
) -> Result<(), StoreError> {
    let log = log(broker, partition)?;
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    while offset < end {
        let read = log.read(offset, LOAD_READ_BYTES, Some(end))?;
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
