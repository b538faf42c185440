//! AlterPartitionReassignments (key 45) and ListPartitionReassignments (key 46), version 0,
//! flexible (KIP-455): kafka-reassign-partitions.sh's `--bootstrap-server` form and admin
//! clients start, cancel and list reassignments with these instead of writing
//! `/admin/reassign_partitions`. Both go to the controller.

use crate::message::message;

message! {
    /// The partitions to move (replicas: the target) or whose move to cancel (replicas: null).
    pub struct AlterPartitionReassignmentsRequest {
        timeout_ms: i32 = 60000,
        topics: Vec<ReassignableTopic>,
    }

    /// Partitions of one topic.
    pub struct ReassignableTopic {
        name: String,
        partitions: Vec<ReassignablePartition>,
    }

    /// One partition's target replicas, or null to cancel its reassignment.
    pub struct ReassignablePartition {
        partition_index: i32,
        replicas: Option<Vec<i32>> [nullable 0..],
    }

    /// Whether each partition's change was accepted.
    pub struct AlterPartitionReassignmentsResponse {
        throttle_time_ms: i32,
        error_code: i16,
        error_message: Option<String> [nullable 0..],
        responses: Vec<ReassignableTopicResponse>,
    }

    /// Outcomes for one topic.
    pub struct ReassignableTopicResponse {
        name: String,
        partitions: Vec<ReassignablePartitionResponse>,
    }

    /// Outcome for one partition.
    pub struct ReassignablePartitionResponse {
        partition_index: i32,
        error_code: i16,
        error_message: Option<String> [nullable 0..],
    }

    /// The reassignments to list (null: every one in progress).
    pub struct ListPartitionReassignmentsRequest {
        timeout_ms: i32 = 60000,
        topics: Option<Vec<ListPartitionReassignmentsTopics>> [nullable 0..],
    }

    /// Partitions of one topic.
    pub struct ListPartitionReassignmentsTopics {
        name: String,
        partition_indexes: Vec<i32>,
    }

    /// The reassignments in progress among those asked for.
    pub struct ListPartitionReassignmentsResponse {
        throttle_time_ms: i32,
        error_code: i16,
        error_message: Option<String> [nullable 0..],
        topics: Vec<OngoingTopicReassignment>,
    }

    /// Reassignments of one topic.
    pub struct OngoingTopicReassignment {
        name: String,
        partitions: Vec<OngoingPartitionReassignment>,
    }

    /// A partition being moved: its replicas now (old and new), those being added and those
    /// to be removed.
    pub struct OngoingPartitionReassignment {
        partition_index: i32,
        replicas: Vec<i32>,
        adding_replicas: Vec<i32>,
        removing_replicas: Vec<i32>,
    }
}
