//! IncrementalAlterConfigs (key 44), versions 0-1, flexible from 1.

use crate::message::message;
use crate::messages::ResourceResult;

message! {
    /// Sets, deletes, appends to or subtracts from configs.
    pub struct IncrementalAlterConfigsRequest {
        resources: Vec<IncrementalAlterConfigsResource>,
        validate_only: bool,
    }

    /// One resource and its changes.
    pub struct IncrementalAlterConfigsResource {
        resource_type: i8,
        resource_name: String,
        configs: Vec<AlterableConfig>,
    }

    /// One change: operation 0 set, 1 delete, 2 append, 3 subtract.
    pub struct AlterableConfig {
        name: String,
        config_operation: i8,
        value: Option<String> [nullable 0..],
    }

    /// Per-resource outcome.
    pub struct IncrementalAlterConfigsResponse {
        throttle_time_ms: i32,
        responses: Vec<ResourceResult>,
    }
}
