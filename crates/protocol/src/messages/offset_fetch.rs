//! OffsetFetch (key 9), versions 0-8, flexible from 6.
//!
//! v0-7 ask for one group; v8 batches groups.

use crate::message::message;

message! {
    /// Reads committed offsets.
    pub struct OffsetFetchRequest {
        group_id: String [versions 0..=7],
        /// Null (v2+) means all partitions of the group.
        topics: Option<Vec<OffsetFetchRequestTopic>> [versions 0..=7, nullable 2..=7] = Some(Vec::new()),
        groups: Vec<OffsetFetchRequestGroup> [versions 8..],
        require_stable: bool [versions 7..],
    }

    /// Partitions of one topic.
    pub struct OffsetFetchRequestTopic {
        name: String,
        partition_indexes: Vec<i32>,
    }

    /// One group (v8+).
    pub struct OffsetFetchRequestGroup {
        group_id: String,
        /// Null means all partitions.
        topics: Option<Vec<OffsetFetchRequestTopic>> [nullable 8..],
    }

    /// Committed offsets.
    pub struct OffsetFetchResponse {
        throttle_time_ms: i32 [versions 3..],
        topics: Vec<OffsetFetchResponseTopic> [versions 0..=7],
        error_code: i16 [versions 2..=7],
        groups: Vec<OffsetFetchResponseGroup> [versions 8..],
    }

    /// Offsets for one topic.
    pub struct OffsetFetchResponseTopic {
        name: String,
        partitions: Vec<OffsetFetchResponsePartition>,
    }

    /// The committed offset of one partition.
    pub struct OffsetFetchResponsePartition {
        partition_index: i32,
        committed_offset: i64,
        committed_leader_epoch: i32 [versions 5..] = -1,
        metadata: Option<String> [nullable 0..],
        error_code: i16,
    }

    /// Offsets of one group (v8+).
    pub struct OffsetFetchResponseGroup {
        group_id: String,
        topics: Vec<OffsetFetchResponseTopic>,
        error_code: i16,
    }
}
