//! LeaveGroup (key 13), versions 0-5, flexible from 4.

use crate::message::message;

message! {
    /// Leaves a group: one member (v0-2) or a batch (v3+).
    pub struct LeaveGroupRequest {
        group_id: String,
        member_id: String [versions 0..=2],
        members: Vec<MemberIdentity> [versions 3..],
    }

    /// A member leaving.
    pub struct MemberIdentity {
        member_id: String,
        group_instance_id: Option<String> [nullable 3..],
        reason: Option<String> [versions 5.., nullable 5..],
    }

    /// Outcome of leaving.
    pub struct LeaveGroupResponse {
        throttle_time_ms: i32 [versions 1..],
        error_code: i16,
        members: Vec<MemberResponse> [versions 3..],
    }

    /// Outcome for one member.
    pub struct MemberResponse {
        member_id: String,
        group_instance_id: Option<String> [nullable 3..],
        error_code: i16,
    }
}
