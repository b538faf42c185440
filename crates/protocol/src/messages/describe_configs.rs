//! DescribeConfigs (key 32), versions 0-4, flexible from 4.

use crate::message::message;

message! {
    /// Describes configs of topics or brokers.
    pub struct DescribeConfigsRequest {
        resources: Vec<DescribeConfigsResource>,
        include_synonyms: bool [versions 1..],
        include_documentation: bool [versions 3..],
    }

    /// One resource; null keys means all configs.
    pub struct DescribeConfigsResource {
        resource_type: i8,
        resource_name: String,
        configuration_keys: Option<Vec<String>> [nullable 0..],
    }

    /// The configs.
    pub struct DescribeConfigsResponse {
        throttle_time_ms: i32,
        results: Vec<DescribeConfigsResult>,
    }

    /// Configs of one resource.
    pub struct DescribeConfigsResult {
        error_code: i16,
        error_message: Option<String> [nullable 0..],
        resource_type: i8,
        resource_name: String,
        configs: Vec<DescribeConfigsResourceResult>,
    }

    /// One config.
    pub struct DescribeConfigsResourceResult {
        name: String,
        value: Option<String> [nullable 0..],
        read_only: bool,
        is_default: bool [versions 0..=0],
        config_source: i8 [versions 1..] = -1,
        is_sensitive: bool,
        synonyms: Vec<DescribeConfigsSynonym> [versions 1..],
        config_type: i8 [versions 3..],
        documentation: Option<String> [versions 3.., nullable 0..],
    }

    /// A synonym of a config.
    pub struct DescribeConfigsSynonym {
        name: String,
        value: Option<String> [nullable 0..],
        source: i8,
    }
}
