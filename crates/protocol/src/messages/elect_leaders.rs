//! ElectLeaders (key 43), versions 0-2, flexible from 2.
//!
//! An admin client (kafka-leader-election.sh, `ferry leader-election`) asks the controller to
//! elect partitions' leaders: the preferred replica (type 0), or any live replica when no
//! in-sync one is left (type 1, "unclean"). v0 has no election type and means preferred.

use crate::message::message;

message! {
    /// The partitions whose leaders to elect (null: every partition).
    pub struct ElectLeadersRequest {
        election_type: i8 [versions 1..],
        topic_partitions: Option<Vec<ElectLeadersTopicPartitions>> [nullable 0..],
        timeout_ms: i32 = 60000,
    }

    /// Partitions of one topic.
    pub struct ElectLeadersTopicPartitions {
        topic: String,
        partition_id: Vec<i32>,
    }

    /// The outcome per partition (on an all-partitions request, only the partitions that had
    /// an election or failed).
    pub struct ElectLeadersResponse {
        throttle_time_ms: i32,
        error_code: i16 [versions 1..],
        replica_election_results: Vec<ReplicaElectionResult>,
    }

    /// The outcomes for one topic.
    pub struct ReplicaElectionResult {
        topic: String,
        partition_result: Vec<ElectLeadersPartitionResult>,
    }

    /// The outcome for one partition: ELECTION_NOT_NEEDED when its leader already is the one
    /// the election would choose.
    pub struct ElectLeadersPartitionResult {
        partition_id: i32,
        error_code: i16,
        error_message: Option<String> [nullable 0..],
    }
}
