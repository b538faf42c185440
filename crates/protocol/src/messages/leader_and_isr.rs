//! LeaderAndIsr (key 4), versions 0-5, flexible from 4.
//!
//! Controller to broker: which partitions the broker leads or follows.
//! v0-1 list every partition state with its topic name
//! (`ungrouped_partition_states`); v2+ group them by topic
//! (`topic_states`), and v5 adds topic ids. The response likewise lists
//! partition errors by name up to v4 and groups them by topic id from v5.
//! Fields of a nested struct that exist exactly where the struct does are
//! not annotated again.

use crate::message::message;
use crate::wire::Uuid;

message! {
    /// Tells a broker the leader, ISR and replicas of some partitions.
    pub struct LeaderAndIsrRequest {
        controller_id: i32,
        controller_epoch: i32,
        broker_epoch: i64 [versions 2..] = -1,
        /// Whether the request lists every topic the broker hosts (v5+).
        r#type: i8 [versions 5..],
        /// The partition states, each naming its topic (v0-1).
        ungrouped_partition_states: Vec<LeaderAndIsrPartitionState> [versions 0..=1],
        /// The partition states grouped by topic (v2+).
        topic_states: Vec<LeaderAndIsrTopicState> [versions 2..],
        live_leaders: Vec<LeaderAndIsrLiveLeader>,
    }

    /// The partition states of one topic (v2+).
    pub struct LeaderAndIsrTopicState {
        topic_name: String,
        topic_id: Uuid [versions 5..],
        partition_states: Vec<LeaderAndIsrPartitionState>,
    }

    /// One partition's leadership state.
    pub struct LeaderAndIsrPartitionState {
        /// Only in v0-1, where partitions are not grouped by topic.
        topic_name: String [versions 0..=1],
        partition_index: i32,
        controller_epoch: i32,
        leader: i32,
        leader_epoch: i32,
        isr: Vec<i32>,
        /// The partition state's ZooKeeper version (`ZkVersion` before
        /// Kafka 3.2 renamed it; same wire position).
        partition_epoch: i32,
        replicas: Vec<i32>,
        adding_replicas: Vec<i32> [versions 3..],
        removing_replicas: Vec<i32> [versions 3..],
        is_new: bool [versions 1..],
    }

    /// A broker that leads one of the partitions.
    pub struct LeaderAndIsrLiveLeader {
        broker_id: i32,
        host_name: String,
        port: i32,
    }

    /// Per-partition outcome of a LeaderAndIsr request.
    pub struct LeaderAndIsrResponse {
        error_code: i16,
        /// Partition errors, each naming its topic (v0-4).
        partition_errors: Vec<LeaderAndIsrPartitionError> [versions 0..=4],
        /// Partition errors grouped by topic id (v5+).
        topics: Vec<LeaderAndIsrTopicError> [versions 5..],
    }

    /// The partition errors of one topic (v5+).
    pub struct LeaderAndIsrTopicError {
        topic_id: Uuid,
        partition_errors: Vec<LeaderAndIsrPartitionError>,
    }

    /// The error for one partition.
    pub struct LeaderAndIsrPartitionError {
        /// Only in v0-4, where errors are not grouped by topic.
        topic_name: String [versions 0..=4],
        partition_index: i32,
        error_code: i16,
    }
}
