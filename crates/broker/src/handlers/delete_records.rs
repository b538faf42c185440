//! DeleteRecords: moves partitions' log start offsets forward (`kafka-delete-records`,
//! `AdminClient.delete_records`).
//!
//! An offset of -1 means the high watermark (everything currently readable). An offset above
//! the high watermark, or another negative one, is OFFSET_OUT_OF_RANGE; one below the current
//! log start changes nothing. The answer's low watermark is the log start offset afterwards.
//! Whole segments below the new start are deleted at once; records below it in a surviving
//! segment are hidden from reads. On one broker the high watermark is the log end offset, so
//! there is nothing to wait for and `timeout_ms` is not used. The new start is checkpointed
//! (`crate::log_starts`) before the answer, so it holds across restarts.

use ferry_kafka_protocol::messages::delete_records::{
    DeleteRecordsPartitionResult, DeleteRecordsRequest, DeleteRecordsResponse,
    DeleteRecordsTopicResult,
};
use ferry_kafka_protocol::ErrorCode;
use ferry_log::TopicPartition;

use super::error_code;
use crate::broker::Broker;
use crate::replicas::ReplicaError;

/// The offset meaning "up to the high watermark".
const HIGH_WATERMARK: i64 = -1;

pub fn handle(broker: &Broker, request: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| DeleteRecordsTopicResult {
            partitions: topic
                .partitions
                .iter()
                .map(|p| {
                    let result = delete(broker, &topic.name, p.partition_index, p.offset);
                    respond(p.partition_index, result)
                })
                .collect(),
            name: topic.name,
            ..Default::default()
        })
        .collect();
    DeleteRecordsResponse {
        topics,
        ..Default::default()
    }
}

/// Why a partition's records were not deleted.
enum Failure {
    OutOfRange,
    Replica(ReplicaError),
}

/// The offset to delete before: the request's, or the high watermark for -1.
fn target(requested: i64, high_watermark: i64) -> Option<i64> {
    match requested {
        HIGH_WATERMARK => Some(high_watermark),
        o if (0..=high_watermark).contains(&o) => Some(o),
        _ => None,
    }
}

fn delete(broker: &Broker, topic: &str, partition: i32, offset: i64) -> Result<i64, Failure> {
    let exists = broker.metadata.partition(topic, partition).is_some();
    let leader = broker
        .replica_manager
        .leader(topic, partition, -1, exists)
        .map_err(|e| Failure::Replica(e.into()))?;
    let log = &leader.log;
    let offset = target(offset, leader.high_watermark()).ok_or(Failure::OutOfRange)?;
    let start = log
        .delete_records_before(offset)
        .map_err(|e| Failure::Replica(e.into()))?;
    // Durable before the answer, so a restart does not bring the records back.
    broker
        .replicas
        .log_starts()
        .set(&TopicPartition::new(topic, partition), start)
        .map_err(|e| Failure::Replica(e.into()))?;
    tracing::info!(%topic, partition, log_start_offset = start, "records deleted");
    Ok(start)
}

fn respond(partition_index: i32, result: Result<i64, Failure>) -> DeleteRecordsPartitionResult {
    let (low_watermark, error) = match result {
        Ok(start) => (start, ErrorCode::None),
        Err(Failure::OutOfRange) => (-1, ErrorCode::OffsetOutOfRange),
        Err(Failure::Replica(error)) => (-1, error_code(&error)),
    };
    DeleteRecordsPartitionResult {
        partition_index,
        low_watermark,
        error_code: error.code(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(target(-1, 10), Some(10));
        assert_eq!(target(0, 10), Some(0));
        assert_eq!(target(10, 10), Some(10));
        assert_eq!(target(11, 10), None);
        assert_eq!(target(-2, 10), None);
    }
}
