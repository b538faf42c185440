//! ListGroups (key 16), versions 0-4, flexible from 3.

use crate::message::message;

message! {
    /// Lists the groups this broker coordinates.
    pub struct ListGroupsRequest {
        states_filter: Vec<String> [versions 4..],
    }

    /// The groups.
    pub struct ListGroupsResponse {
        throttle_time_ms: i32 [versions 1..],
        error_code: i16,
        groups: Vec<ListedGroup>,
    }

    /// One group.
    pub struct ListedGroup {
        group_id: String,
        protocol_type: String,
        group_state: String [versions 4..],
    }
}
