//! JoinGroup (key 11), versions 0-9, flexible from 6.

use bytes::Bytes;

use crate::message::message;

message! {
    /// Joins a consumer group (classic rebalance protocol).
    pub struct JoinGroupRequest {
        group_id: String,
        session_timeout_ms: i32,
        rebalance_timeout_ms: i32 [versions 1..] = -1,
        member_id: String,
        group_instance_id: Option<String> [versions 5.., nullable 5..],
        protocol_type: String,
        protocols: Vec<JoinGroupRequestProtocol>,
        reason: Option<String> [versions 8.., nullable 8..],
    }

    /// A protocol (assignor) the member supports.
    pub struct JoinGroupRequestProtocol {
        name: String,
        metadata: Bytes,
    }

    /// The generation the member joined.
    pub struct JoinGroupResponse {
        throttle_time_ms: i32 [versions 2..],
        error_code: i16,
        generation_id: i32 = -1,
        protocol_type: Option<String> [versions 7.., nullable 7..],
        protocol_name: Option<String> [nullable 7..] = Some(String::new()),
        leader: String,
        skip_assignment: bool [versions 9..],
        member_id: String,
        members: Vec<JoinGroupResponseMember>,
    }

    /// A group member (sent to the leader only).
    pub struct JoinGroupResponseMember {
        member_id: String,
        group_instance_id: Option<String> [versions 5.., nullable 5..],
        metadata: Bytes,
    }
}
