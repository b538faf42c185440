//! Heartbeat (key 12), versions 0-4, flexible from 4.

use crate::message::message;

message! {
    /// Keeps a group membership alive.
    pub struct HeartbeatRequest {
        group_id: String,
        generation_id: i32,
        member_id: String,
        group_instance_id: Option<String> [versions 3.., nullable 3..],
    }

    /// Whether the member should rejoin.
    pub struct HeartbeatResponse {
        throttle_time_ms: i32 [versions 1..],
        error_code: i16,
    }
}
