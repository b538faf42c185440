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

use super::{error_code, LEADER_EPOCH};
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

/// Kafka's check of the epoch a client believes the leader has (-1: not given).
pub(super) fn check_current_epoch(current: i32, leader: i32) -> Result<(), ErrorCode> {
    match current {
        -1 => Ok(()),
        c if c < leader => Err(ErrorCode::FencedLeaderEpoch),
        c if c > leader => Err(ErrorCode::UnknownLeaderEpoch),
        _ => Ok(()),
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
    let log = match broker.replicas.log(topic, p.partition) {
        Ok(log) => log,
        Err(error) => return failed(error_code(&error)),
    };
    if let Err(error) = check_current_epoch(p.current_leader_epoch, LEADER_EPOCH) {
        return failed(error);
    }
    let (leader_epoch, end_offset) = log.end_offset_for_epoch(p.leader_epoch);
    EpochEndOffsetResult {
        partition: p.partition,
        leader_epoch,
        end_offset,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_epoch_checks() {
        assert_eq!(check_current_epoch(-1, 3), Ok(()));
        assert_eq!(check_current_epoch(3, 3), Ok(()));
        assert_eq!(check_current_epoch(2, 3), Err(ErrorCode::FencedLeaderEpoch));
        assert_eq!(
            check_current_epoch(4, 3),
            Err(ErrorCode::UnknownLeaderEpoch)
        );
    }
}
