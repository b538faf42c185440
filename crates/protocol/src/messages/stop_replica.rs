//! StopReplica (key 5), versions 0-3, flexible from 2.
//!
//! Controller to broker: stop replicating (and maybe delete) partitions.
//! The partitions are listed three ways: v0 one entry per partition
//! (`ungrouped_partitions`), v1-2 partition indexes per topic (`topics`),
//! v3 per-partition states with leader epoch and delete flag per topic
//! (`topic_states`, replacing the request-wide `delete_partitions`).
//! Fields of a nested struct that exist exactly where the struct does are
//! not annotated again.

use crate::message::message;

message! {
    /// Tells a broker to stop replicas of some partitions.
    pub struct StopReplicaRequest {
        controller_id: i32,
        controller_epoch: i32,
        broker_epoch: i64 [versions 1..] = -1,
        /// Whether the partitions are to be deleted (v0-2; per partition from v3).
        delete_partitions: bool [versions 0..=2],
        /// The partitions, each naming its topic (v0).
        ungrouped_partitions: Vec<StopReplicaPartitionV0> [versions 0..=0],
        /// The partitions grouped by topic (v1-2).
        topics: Vec<StopReplicaTopicV1> [versions 1..=2],
        /// The partition states grouped by topic (v3+).
        topic_states: Vec<StopReplicaTopicState> [versions 3..],
    }

    /// One partition to stop (v0).
    pub struct StopReplicaPartitionV0 {
        topic_name: String,
        partition_index: i32,
    }

    /// The partitions of one topic to stop (v1-2).
    pub struct StopReplicaTopicV1 {
        name: String,
        partition_indexes: Vec<i32>,
    }

    /// The partitions of one topic to stop (v3+).
    pub struct StopReplicaTopicState {
        topic_name: String,
        partition_states: Vec<StopReplicaPartitionState>,
    }

    /// One partition to stop, with the leader epoch the controller knows (v3+).
    pub struct StopReplicaPartitionState {
        partition_index: i32,
        leader_epoch: i32 = -1,
        delete_partition: bool,
    }

    /// Per-partition outcome of a StopReplica request.
    pub struct StopReplicaResponse {
        error_code: i16,
        partition_errors: Vec<StopReplicaPartitionError>,
    }

    /// The error for one partition.
    pub struct StopReplicaPartitionError {
        topic_name: String,
        partition_index: i32,
        error_code: i16,
    }
}
