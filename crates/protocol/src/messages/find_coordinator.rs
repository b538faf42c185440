//! FindCoordinator (key 10), versions 0-4, flexible from 3.

use crate::message::message;

message! {
    /// Asks which broker coordinates a group (key type 0) or transaction (1).
    pub struct FindCoordinatorRequest {
        key: String [versions 0..=3],
        key_type: i8 [versions 1..],
        coordinator_keys: Vec<String> [versions 4..],
    }

    /// The coordinator (v0-3) or coordinators (v4+).
    pub struct FindCoordinatorResponse {
        throttle_time_ms: i32 [versions 1..],
        error_code: i16 [versions 0..=3],
        error_message: Option<String> [versions 1..=3, nullable 1..=3],
        node_id: i32 [versions 0..=3],
        host: String [versions 0..=3],
        port: i32 [versions 0..=3],
        coordinators: Vec<Coordinator> [versions 4..],
    }

    /// The coordinator for one key (v4+).
    pub struct Coordinator {
        key: String,
        node_id: i32,
        host: String,
        port: i32,
        error_code: i16,
        error_message: Option<String> [nullable 4..],
    }
}
