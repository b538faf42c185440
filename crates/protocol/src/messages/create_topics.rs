//! CreateTopics (key 19), versions 0-7, flexible from 5.

use crate::message::message;
use crate::messages::ConfigEntry;
use crate::wire::Uuid;

message! {
    /// Creates topics.
    pub struct CreateTopicsRequest {
        topics: Vec<CreatableTopic>,
        timeout_ms: i32 = 60000,
        validate_only: bool [versions 1..],
    }

    /// One topic to create.
    pub struct CreatableTopic {
        name: String,
        /// -1 for the broker default (v4+).
        num_partitions: i32,
        /// -1 for the broker default (v4+).
        replication_factor: i16,
        assignments: Vec<CreatableReplicaAssignment>,
        configs: Vec<ConfigEntry>,
    }

    /// A manual replica assignment.
    pub struct CreatableReplicaAssignment {
        partition_index: i32,
        broker_ids: Vec<i32>,
    }

    /// Per-topic outcome.
    pub struct CreateTopicsResponse {
        throttle_time_ms: i32 [versions 2..],
        topics: Vec<CreatableTopicResult>,
    }

    /// Outcome for one topic.
    pub struct CreatableTopicResult {
        name: String,
        topic_id: Uuid [versions 7..],
        error_code: i16,
        error_message: Option<String> [versions 1.., nullable 0..],
        topic_config_error_code: i16 [versions 5.., tag 0],
        num_partitions: i32 [versions 5..] = -1,
        replication_factor: i16 [versions 5..] = -1,
        configs: Option<Vec<CreatableTopicConfigs>> [versions 5.., nullable 5..] = Some(Vec::new()),
    }

    /// A config of the created topic.
    pub struct CreatableTopicConfigs {
        name: String,
        value: Option<String> [nullable 0..],
        read_only: bool,
        config_source: i8 = -1,
        is_sensitive: bool,
    }
}
