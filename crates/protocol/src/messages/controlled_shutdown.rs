//! ControlledShutdown (key 7), versions 1-3, flexible from 3.
//!
//! Broker to controller: asks to move leadership away before shutting
//! down. v0 is not supported: its request header has no client id, unlike
//! every other request (v1 is otherwise the same as v0).

use crate::message::message;

message! {
    /// Asks the controller to move the broker's leaderships elsewhere.
    pub struct ControlledShutdownRequest {
        broker_id: i32,
        broker_epoch: i64 [versions 2..] = -1,
    }

    /// The partitions the broker still leads.
    pub struct ControlledShutdownResponse {
        error_code: i16,
        remaining_partitions: Vec<RemainingPartition>,
    }

    /// A partition the broker still leads.
    pub struct RemainingPartition {
        topic_name: String,
        partition_index: i32,
    }
}
