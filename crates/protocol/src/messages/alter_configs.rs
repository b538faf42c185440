//! AlterConfigs (key 33), versions 0-2, flexible from 2.

use crate::message::message;
use crate::messages::{ConfigEntry, ResourceResult};

message! {
    /// Replaces the configs of resources.
    pub struct AlterConfigsRequest {
        resources: Vec<AlterConfigsResource>,
        validate_only: bool,
    }

    /// One resource and its new configs.
    pub struct AlterConfigsResource {
        resource_type: i8,
        resource_name: String,
        configs: Vec<ConfigEntry>,
    }

    /// Per-resource outcome.
    pub struct AlterConfigsResponse {
        throttle_time_ms: i32,
        responses: Vec<ResourceResult>,
    }
}
