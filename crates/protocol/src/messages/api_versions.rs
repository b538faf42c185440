//! ApiVersions (key 18), versions 0-3, flexible from 3.
//!
//! The response is always sent with response header v0 (see
//! [`crate::ApiKey::response_header_version`]).

use crate::message::message;
use crate::ApiKey;

message! {
    /// Asks which APIs and versions the broker supports.
    pub struct ApiVersionsRequest {
        /// The client software's name (v3+).
        client_software_name: String [versions 3..],
        /// The client software's version (v3+).
        client_software_version: String [versions 3..],
    }

    /// The APIs and versions the broker supports.
    pub struct ApiVersionsResponse {
        error_code: i16,
        api_keys: Vec<ApiVersion>,
        throttle_time_ms: i32 [versions 1..],
        supported_features: Vec<SupportedFeatureKey> [versions 3.., tag 0],
        finalized_features_epoch: i64 [versions 3.., tag 1] = -1,
        finalized_features: Vec<FinalizedFeatureKey> [versions 3.., tag 2],
        zk_migration_ready: bool [versions 3.., tag 3],
    }

    /// One supported API.
    pub struct ApiVersion {
        api_key: i16,
        min_version: i16,
        max_version: i16,
    }

    /// A feature the broker supports.
    pub struct SupportedFeatureKey {
        name: String,
        min_version: i16,
        max_version: i16,
    }

    /// A cluster-wide finalized feature.
    pub struct FinalizedFeatureKey {
        name: String,
        max_version_level: i16,
        min_version_level: i16,
    }
}

impl ApiVersionsResponse {
    /// A response listing every API of [`ApiKey::ALL`] with `error_code`.
    pub fn supported(error_code: i16) -> Self {
        Self::listing(ApiKey::ALL, error_code)
    }

    /// A response listing `keys` (what a broker actually serves) with `error_code`.
    pub fn listing(keys: &[ApiKey], error_code: i16) -> Self {
        Self {
            error_code,
            api_keys: keys
                .iter()
                .map(|k| ApiVersion {
                    api_key: k.key(),
                    min_version: k.min_version(),
                    max_version: k.max_version(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }
}
