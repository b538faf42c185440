//! OffsetCommit (key 8), versions 0-8, flexible from 8.

use crate::message::message;
use crate::messages::TopicPartitionErrors;

message! {
    /// Commits consumed offsets for a group.
    pub struct OffsetCommitRequest {
        group_id: String,
        generation_id_or_member_epoch: i32 [versions 1..] = -1,
        member_id: String [versions 1..],
        group_instance_id: Option<String> [versions 7.., nullable 7..],
        retention_time_ms: i64 [versions 2..=4] = -1,
        topics: Vec<OffsetCommitRequestTopic>,
    }

    /// Offsets for one topic.
    pub struct OffsetCommitRequestTopic {
        name: String,
        partitions: Vec<OffsetCommitRequestPartition>,
    }

    /// The offset for one partition.
    pub struct OffsetCommitRequestPartition {
        partition_index: i32,
        committed_offset: i64,
        committed_leader_epoch: i32 [versions 6..] = -1,
        commit_timestamp: i64 [versions 1..=1] = -1,
        committed_metadata: Option<String> [nullable 0..],
    }

    /// Per-partition outcome.
    pub struct OffsetCommitResponse {
        throttle_time_ms: i32 [versions 3..],
        topics: Vec<TopicPartitionErrors>,
    }
}
