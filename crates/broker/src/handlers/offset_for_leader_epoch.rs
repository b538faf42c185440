//! OffsetForLeaderEpoch: the end offset of a leader epoch, from the log's epoch cache.
//!
//! Consumers (replica id -1, or -2 for debugging) use it to detect log truncation after a
//! leader change (KIP-320); followers (replica id >= 0) to truncate their logs. Both get the
//! same answer from a leader: the largest epoch <= the one asked for, and the offset where the
//! next epoch starts (the log end offset for the latest epoch); an epoch newer than any the
//! log knows, or an empty cache, answers epoch -1 and offset -1, as Kafka.
//!
//! `current_leader_epoch` (v2+, -1 = not given) is the epoch the client believes the leader
//! has: an older one is FENCED_LEADER_EPOCH (the client's metadata is stale), a newer one
//! UNKNOWN_LEADER_EPOCH (this broker has not caught up), as in Kafka's
//! `Partition.getLocalLog`.

use ferry_kafka_protocol::messages::offset_for_leader_epoch::{
    EpochEndOffsetResult, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse,
    OffsetForLeaderPartition, OffsetForLeaderTopicResult,
};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;

pub fn handle(
    broker: &Broker,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| OffsetForLeaderTopicResult {
            partitions: topic
                .partitions
                .iter()
                .map(|p| end_offset(broker, &topic.topic, p))
                .collect(),
            topic: topic.topic,
            ..Default::default()
        })
        .collect();
    OffsetForLeaderEpochResponse {
        topics,
        ..Default::default()
    }
}

fn end_offset(broker: &Broker, topic: &str, p: &OffsetForLeaderPartition) -> EpochEndOffsetResult {
    let failed = |error: ErrorCode| EpochEndOffsetResult {
        error_code: error.code(),
        partition: p.partition,
        leader_epoch: -1,
        end_offset: -1,
        ..Default::default()
    };
    let exists = broker.metadata.partition(topic, p.partition).is_some();
    let leader =
        match broker
            .replica_manager
            .leader(topic, p.partition, p.current_leader_epoch, exists)
        {
            Ok(leader) => leader,
            Err(error) => return failed(error.code()),
        };
    let (leader_epoch, end_offset) = leader.log.end_offset_for_epoch(p.leader_epoch);
    EpochEndOffsetResult {
        partition: p.partition,
        leader_epoch,
        end_offset,
        ..Default::default()
    }
}
