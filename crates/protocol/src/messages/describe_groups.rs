//! DescribeGroups (key 15), versions 0-5, flexible from 5.

use bytes::Bytes;

use crate::message::message;

message! {
    /// Describes groups and their members.
    pub struct DescribeGroupsRequest {
        groups: Vec<String>,
        include_authorized_operations: bool [versions 3..],
    }

    /// The groups.
    pub struct DescribeGroupsResponse {
        throttle_time_ms: i32 [versions 1..],
        groups: Vec<DescribedGroup>,
    }

    /// One group.
    pub struct DescribedGroup {
        error_code: i16,
        group_id: String,
        group_state: String,
        protocol_type: String,
        protocol_data: String,
        members: Vec<DescribedGroupMember>,
        authorized_operations: i32 [versions 3..] = i32::MIN,
    }

    /// One member.
    pub struct DescribedGroupMember {
        member_id: String,
        group_instance_id: Option<String> [versions 4.., nullable 4..],
        client_id: String,
        client_host: String,
        member_metadata: Bytes,
        member_assignment: Bytes,
    }
}
