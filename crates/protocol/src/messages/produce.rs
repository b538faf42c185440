//! Produce (key 0), versions 0-9, flexible from 9.
//!
//! Record sets are `Option<Bytes>`, passed to the log engine untouched.

use bytes::Bytes;

use crate::message::message;

message! {
    /// Appends record batches to partitions.
    pub struct ProduceRequest {
        transactional_id: Option<String> [versions 3.., nullable 3..],
        /// 0: no acknowledgement, 1: leader, -1: full ISR.
        acks: i16,
        timeout_ms: i32,
        topic_data: Vec<TopicProduceData>,
    }

    /// Batches for one topic.
    pub struct TopicProduceData {
        name: String,
        partition_data: Vec<PartitionProduceData>,
    }

    /// Batches for one partition.
    pub struct PartitionProduceData {
        index: i32,
        records: Option<Bytes> [nullable 0..],
    }

    /// Per-partition outcome of a produce.
    pub struct ProduceResponse {
        responses: Vec<TopicProduceResponse>,
        throttle_time_ms: i32 [versions 1..],
    }

    /// Outcomes for one topic.
    pub struct TopicProduceResponse {
        name: String,
        partition_responses: Vec<PartitionProduceResponse>,
    }

    /// Outcome for one partition.
    pub struct PartitionProduceResponse {
        index: i32,
        error_code: i16,
        base_offset: i64,
        log_append_time_ms: i64 [versions 2..] = -1,
        log_start_offset: i64 [versions 5..] = -1,
        record_errors: Vec<BatchIndexAndErrorMessage> [versions 8..],
        error_message: Option<String> [versions 8.., nullable 8..],
    }

    /// A record that made its batch fail.
    pub struct BatchIndexAndErrorMessage {
        batch_index: i32,
        batch_index_error_message: Option<String> [nullable 8..],
    }
}
