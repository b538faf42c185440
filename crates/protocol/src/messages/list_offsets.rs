//! ListOffsets (key 2), versions 0-7, flexible from 6.

use crate::message::message;

message! {
    /// Looks up offsets by timestamp (-1 latest, -2 earliest).
    pub struct ListOffsetsRequest {
        replica_id: i32,
        isolation_level: i8 [versions 2..],
        topics: Vec<ListOffsetsTopic>,
    }

    /// Partitions of one topic.
    pub struct ListOffsetsTopic {
        name: String,
        partitions: Vec<ListOffsetsPartition>,
    }

    /// One partition and the timestamp to look up.
    pub struct ListOffsetsPartition {
        partition_index: i32,
        current_leader_epoch: i32 [versions 4..] = -1,
        timestamp: i64,
        max_num_offsets: i32 [versions 0..=0] = 1,
    }

    /// Offsets found.
    pub struct ListOffsetsResponse {
        throttle_time_ms: i32 [versions 2..],
        topics: Vec<ListOffsetsTopicResponse>,
    }

    /// Results for one topic.
    pub struct ListOffsetsTopicResponse {
        name: String,
        partitions: Vec<ListOffsetsPartitionResponse>,
    }

    /// Result for one partition.
    pub struct ListOffsetsPartitionResponse {
        partition_index: i32,
        error_code: i16,
        old_style_offsets: Vec<i64> [versions 0..=0],
        timestamp: i64 [versions 1..] = -1,
        offset: i64 [versions 1..] = -1,
        leader_epoch: i32 [versions 4..] = -1,
    }
}
