//! OffsetForLeaderEpoch (key 23), versions 0-4, flexible from 4.

use crate::message::message;

message! {
    /// Asks for the end offset of a leader epoch (log truncation).
    pub struct OffsetForLeaderEpochRequest {
        /// -2 for consumers (debug), -1 or the broker id for followers.
        replica_id: i32 [versions 3..] = -2,
        topics: Vec<OffsetForLeaderTopic>,
    }

    /// Partitions of one topic.
    pub struct OffsetForLeaderTopic {
        topic: String,
        partitions: Vec<OffsetForLeaderPartition>,
    }

    /// One partition and the epoch asked about.
    pub struct OffsetForLeaderPartition {
        partition: i32,
        current_leader_epoch: i32 [versions 2..] = -1,
        leader_epoch: i32,
    }

    /// End offsets per partition.
    pub struct OffsetForLeaderEpochResponse {
        throttle_time_ms: i32 [versions 2..],
        topics: Vec<OffsetForLeaderTopicResult>,
    }

    /// Results for one topic.
    pub struct OffsetForLeaderTopicResult {
        topic: String,
        partitions: Vec<EpochEndOffsetResult>,
    }

    /// Result for one partition.
    pub struct EpochEndOffsetResult {
        error_code: i16,
        partition: i32,
        leader_epoch: i32 [versions 1..] = -1,
        end_offset: i64 = -1,
    }
}
