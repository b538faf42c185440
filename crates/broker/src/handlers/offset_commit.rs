//! OffsetCommit: store consumed positions in `__consumer_offsets`, acknowledged once the
//! partition's in-sync replicas have them (see `groups::replication` for the errors when not).
//!
//! v0-1 commits with generation -1 (no group management, "simple" consumers) are taken into
//! groups without members; otherwise the member and generation must be current (see
//! `Group::check_commit`). Partitions of unknown topics and metadata over
//! `offset.metadata.max.bytes` (4096) are refused one by one.

use ferry_kafka_protocol::messages::offset_commit::{OffsetCommitRequest, OffsetCommitResponse};
use ferry_kafka_protocol::ErrorCode;

use super::topic_partition_errors;
use crate::broker::Broker;
use crate::groups::{wall_clock_ms, OffsetCommit, OffsetValue};

/// Kafka's `offset.metadata.max.bytes` default.
const MAX_METADATA_BYTES: usize = 4096;

pub async fn handle(broker: &Broker, request: OffsetCommitRequest) -> OffsetCommitResponse {
    let now = wall_clock_ms();
    // (topic, partition, refusal): None = to be committed.
    let mut outcome: Vec<(String, i32, Option<ErrorCode>)> = Vec::new();
    let mut commits = Vec::new();
    for topic in &request.topics {
        for p in &topic.partitions {
            let metadata = p.committed_metadata.clone().unwrap_or_default();
            let known = broker
                .replicas
                .partitions(&topic.name)
                .is_some_and(|n| (0..n).contains(&p.partition_index));
            let refusal = if metadata.len() > MAX_METADATA_BYTES {
                Some(ErrorCode::OffsetMetadataTooLarge)
            } else if !known {
                Some(ErrorCode::UnknownTopicOrPartition)
            } else {
                commits.push(OffsetCommit {
                    topic: topic.name.clone(),
                    partition: p.partition_index,
                    value: OffsetValue {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata,
                        // v1 lets the client set it; -1 (and every other version) means now.
                        commit_timestamp: if p.commit_timestamp >= 0 {
                            p.commit_timestamp
                        } else {
                            now
                        },
                    },
                });
                None
            };
            outcome.push((topic.name.clone(), p.partition_index, refusal));
        }
    }
    let result = if commits.is_empty() {
        Ok(())
    } else {
        broker
            .groups
            .commit(
                broker,
                &request.group_id,
                &request.member_id,
                request.group_instance_id.as_deref(),
                request.generation_id_or_member_epoch,
                commits,
            )
            .await
    };
    let topics = topic_partition_errors(outcome.into_iter().map(|(name, partition, refusal)| {
        let error = refusal.unwrap_or(match result {
            Ok(()) => ErrorCode::None,
            Err(e) => e,
        });
        (name, partition, error)
    }));
    OffsetCommitResponse {
        topics,
        ..Default::default()
    }
}
