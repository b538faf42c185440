//! ApiVersions: the APIs and versions this broker answers.
//!
//! Built from [`super::HANDLED`] rather than every API the protocol crate can decode, so a
//! client never picks an API this broker would close the connection on. The response carries
//! no tagged fields beyond their defaults (the protocol crate omits defaults): librdkafka 2.0.2,
//! as in Debian's kcat, misreads ApiVersions responses with non-default tags.

use ferry_kafka_protocol::messages::api_versions::ApiVersionsResponse;
use ferry_kafka_protocol::ErrorCode;

use super::HANDLED;

fn response(error: ErrorCode) -> ApiVersionsResponse {
    ApiVersionsResponse::listing(HANDLED, error.code())
}

pub fn handle() -> ApiVersionsResponse {
    response(ErrorCode::None)
}

/// The v0 answer to an ApiVersions request at a version this broker does not know.
pub fn unsupported_version() -> ApiVersionsResponse {
    response(ErrorCode::UnsupportedVersion)
}
