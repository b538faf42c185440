//! DeleteTopics (key 20), versions 0-6, flexible from 4.

use crate::message::message;
use crate::wire::Uuid;

message! {
    /// Deletes topics by name (v0-5) or name/id (v6+).
    pub struct DeleteTopicsRequest {
        topics: Vec<DeleteTopicState> [versions 6..],
        topic_names: Vec<String> [versions 0..=5],
        timeout_ms: i32,
    }

    /// A topic to delete (v6+).
    pub struct DeleteTopicState {
        name: Option<String> [nullable 6..],
        topic_id: Uuid,
    }

    /// Per-topic outcome.
    pub struct DeleteTopicsResponse {
        throttle_time_ms: i32 [versions 1..],
        responses: Vec<DeletableTopicResult>,
    }

    /// Outcome for one topic.
    pub struct DeletableTopicResult {
        name: Option<String> [nullable 6..] = Some(String::new()),
        topic_id: Uuid [versions 6..],
        error_code: i16,
        error_message: Option<String> [versions 5.., nullable 5..],
    }
}
