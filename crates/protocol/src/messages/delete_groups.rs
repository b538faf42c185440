//! DeleteGroups (key 42), versions 0-2, flexible from 2.

use crate::message::message;

message! {
    /// Deletes empty groups.
    pub struct DeleteGroupsRequest {
        groups_names: Vec<String>,
    }

    /// Per-group outcome.
    pub struct DeleteGroupsResponse {
        throttle_time_ms: i32,
        results: Vec<DeletableGroupResult>,
    }

    /// Outcome for one group.
    pub struct DeletableGroupResult {
        group_id: String,
        error_code: i16,
    }
}
