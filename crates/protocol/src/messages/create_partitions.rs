//! CreatePartitions (key 37), versions 0-3, flexible from 2.

use crate::message::message;

message! {
    /// Raises topics' partition counts.
    pub struct CreatePartitionsRequest {
        topics: Vec<CreatePartitionsTopic>,
        timeout_ms: i32,
        validate_only: bool,
    }

    /// One topic and its new count.
    pub struct CreatePartitionsTopic {
        name: String,
        count: i32,
        /// Replicas of each new partition; null for automatic placement.
        assignments: Option<Vec<CreatePartitionsAssignment>> [nullable 0..],
    }

    /// Replicas of one new partition.
    pub struct CreatePartitionsAssignment {
        broker_ids: Vec<i32>,
    }

    /// Per-topic outcome.
    pub struct CreatePartitionsResponse {
        throttle_time_ms: i32,
        results: Vec<CreatePartitionsTopicResult>,
    }

    /// Outcome for one topic.
    pub struct CreatePartitionsTopicResult {
        name: String,
        error_code: i16,
        error_message: Option<String> [nullable 0..],
    }
}
