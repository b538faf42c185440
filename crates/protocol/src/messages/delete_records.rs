//! DeleteRecords (key 21), versions 0-2, flexible from 2.

use crate::message::message;

message! {
    /// Moves partitions' log start offsets forward.
    pub struct DeleteRecordsRequest {
        topics: Vec<DeleteRecordsTopic>,
        timeout_ms: i32,
    }

    /// Partitions of one topic.
    pub struct DeleteRecordsTopic {
        name: String,
        partitions: Vec<DeleteRecordsPartition>,
    }

    /// Delete everything before `offset` (-1: the high watermark).
    pub struct DeleteRecordsPartition {
        partition_index: i32,
        offset: i64,
    }

    /// Per-partition outcome.
    pub struct DeleteRecordsResponse {
        throttle_time_ms: i32,
        topics: Vec<DeleteRecordsTopicResult>,
    }

    /// Outcomes for one topic.
    pub struct DeleteRecordsTopicResult {
        name: String,
        partitions: Vec<DeleteRecordsPartitionResult>,
    }

    /// Outcome for one partition.
    pub struct DeleteRecordsPartitionResult {
        partition_index: i32,
        low_watermark: i64,
        error_code: i16,
    }
}
