//! OffsetDelete (key 47), version 0, not flexible.

use crate::message::message;
use crate::messages::TopicPartitionErrors;

message! {
    /// Deletes committed offsets of a group.
    pub struct OffsetDeleteRequest {
        group_id: String,
        topics: Vec<OffsetDeleteRequestTopic>,
    }

    /// Partitions of one topic.
    pub struct OffsetDeleteRequestTopic {
        name: String,
        partitions: Vec<OffsetDeleteRequestPartition>,
    }

    /// One partition.
    pub struct OffsetDeleteRequestPartition {
        partition_index: i32,
    }

    /// Per-partition outcome.
    pub struct OffsetDeleteResponse {
        error_code: i16,
        throttle_time_ms: i32,
        topics: Vec<TopicPartitionErrors>,
    }
}
