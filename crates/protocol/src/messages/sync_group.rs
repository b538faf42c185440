//! SyncGroup (key 14), versions 0-5, flexible from 4.

use bytes::Bytes;

use crate::message::message;

message! {
    /// Distributes (leader) or collects (followers) partition assignments.
    pub struct SyncGroupRequest {
        group_id: String,
        generation_id: i32,
        member_id: String,
        group_instance_id: Option<String> [versions 3.., nullable 3..],
        protocol_type: Option<String> [versions 5.., nullable 5..],
        protocol_name: Option<String> [versions 5.., nullable 5..],
        assignments: Vec<SyncGroupRequestAssignment>,
    }

    /// The leader's assignment for one member.
    pub struct SyncGroupRequestAssignment {
        member_id: String,
        assignment: Bytes,
    }

    /// This member's assignment.
    pub struct SyncGroupResponse {
        throttle_time_ms: i32 [versions 1..],
        error_code: i16,
        protocol_type: Option<String> [versions 5.., nullable 5..],
        protocol_name: Option<String> [versions 5.., nullable 5..],
        assignment: Bytes,
    }
}
