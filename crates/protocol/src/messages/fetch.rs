//! Fetch (key 1), versions 0-12, flexible from 12.

use crate::message::message;
use crate::records::Records;

message! {
    /// Reads records from partitions (consumers and followers).
    pub struct FetchRequest {
        cluster_id: Option<String> [versions 12.., nullable 12.., tag 0],
        /// -1 for consumers, the broker id for followers.
        replica_id: i32,
        max_wait_ms: i32,
        min_bytes: i32,
        max_bytes: i32 [versions 3..] = i32::MAX,
        isolation_level: i8 [versions 4..],
        session_id: i32 [versions 7..],
        session_epoch: i32 [versions 7..] = -1,
        topics: Vec<FetchTopic>,
        forgotten_topics_data: Vec<ForgottenTopic> [versions 7..],
        rack_id: String [versions 11..],
    }

    /// Partitions of one topic to fetch.
    pub struct FetchTopic {
        topic: String,
        partitions: Vec<FetchPartition>,
    }

    /// One partition to fetch.
    pub struct FetchPartition {
        partition: i32,
        current_leader_epoch: i32 [versions 9..] = -1,
        fetch_offset: i64,
        last_fetched_epoch: i32 [versions 12..] = -1,
        log_start_offset: i64 [versions 5..] = -1,
        partition_max_bytes: i32,
    }

    /// Partitions an incremental fetch session drops.
    pub struct ForgottenTopic {
        topic: String,
        partitions: Vec<i32>,
    }

    /// Records per partition.
    pub struct FetchResponse {
        throttle_time_ms: i32 [versions 1..],
        error_code: i16 [versions 7..],
        session_id: i32 [versions 7..],
        responses: Vec<FetchableTopicResponse>,
    }

    /// Results for one topic.
    pub struct FetchableTopicResponse {
        topic: String,
        partitions: Vec<FetchPartitionData>,
    }

    /// Result for one partition.
    pub struct FetchPartitionData {
        partition_index: i32,
        error_code: i16,
        high_watermark: i64,
        last_stable_offset: i64 [versions 4..] = -1,
        log_start_offset: i64 [versions 5..] = -1,
        diverging_epoch: EpochEndOffset [versions 12.., tag 0],
        current_leader: LeaderIdAndEpoch [versions 12.., tag 1],
        snapshot_id: SnapshotId [versions 12.., tag 2],
        aborted_transactions: Option<Vec<AbortedTransaction>> [versions 4.., nullable 4..],
        preferred_read_replica: i32 [versions 11..] = -1,
        records: Option<Records> [nullable 0..],
    }

    /// Where the follower's log diverges from the leader's.
    pub struct EpochEndOffset {
        epoch: i32 = -1,
        end_offset: i64 = -1,
    }

    /// The current leader, for leader discovery.
    pub struct LeaderIdAndEpoch {
        leader_id: i32 = -1,
        leader_epoch: i32 = -1,
    }

    /// A snapshot the follower must fetch instead.
    pub struct SnapshotId {
        end_offset: i64 = -1,
        epoch: i32 = -1,
    }

    /// An aborted transaction in the fetched range.
    pub struct AbortedTransaction {
        producer_id: i64,
        first_offset: i64,
    }
}

impl FetchPartitionData {
    /// The records received: a decoded response always holds them in memory.
    pub fn record_bytes(&self) -> &[u8] {
        self.records
            .as_ref()
            .and_then(Records::bytes)
            .map_or(&[], |b| b)
    }
}
