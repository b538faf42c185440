//! Structures shared by several APIs.

use crate::message::message;

message! {
    /// A config name and value (CreateTopics, AlterConfigs).
    pub struct ConfigEntry {
        name: String,
        value: Option<String> [nullable 0..],
    }

    /// The error for one partition (OffsetCommit, OffsetDelete).
    pub struct PartitionError {
        partition_index: i32,
        error_code: i16,
    }

    /// Per-partition errors for one topic.
    pub struct TopicPartitionErrors {
        name: String,
        partitions: Vec<PartitionError>,
    }

    /// A resource (topic 2, broker 4) and the outcome of changing it
    /// (AlterConfigs, IncrementalAlterConfigs).
    pub struct ResourceResult {
        error_code: i16,
        error_message: Option<String> [nullable 0..],
        resource_type: i8,
        resource_name: String,
    }
}
