//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong encoding or decoding Kafka protocol bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// The input ended before a value was complete.
    #[error("truncated input: needed {needed} more bytes while reading {what}, {remaining} left")]
    Truncated {
        what: &'static str,
        needed: usize,
        remaining: usize,
    },
    /// A length or count is negative (and not the null marker) or exceeds the bytes left.
    #[error("invalid length {len} for {what} ({remaining} bytes left)")]
    InvalidLength {
        what: &'static str,
        len: i64,
        remaining: usize,
    },
    /// A varint ran over its maximum width.
    #[error("varint too long while reading {what}")]
    VarintOverflow { what: &'static str },
    /// A string is not valid UTF-8.
    #[error("invalid UTF-8 in {what}")]
    InvalidUtf8 { what: &'static str },
    /// A null was read or written where this version does not allow one.
    #[error("null {field} is not allowed at version {version}")]
    NullNotAllowed { field: &'static str, version: i16 },
    /// A value is too large for its wire representation.
    #[error("{what} too long to encode ({len})")]
    TooLong { what: &'static str, len: usize },
    /// A record set in a file was given to an encoding that must come out as one buffer (a
    /// request, a tagged field): only responses the broker sends can carry file slices.
    #[error("a file record set cannot be encoded into a contiguous frame")]
    FileRecordsInContiguousFrame,
    /// The API key is not one this crate implements. The broker answers
    /// with `UNSUPPORTED_VERSION` (or closes the connection, as Kafka does).
    #[error("unsupported API key {api_key} (correlation id {correlation_id})")]
    UnsupportedApiKey { api_key: i16, correlation_id: i32 },
    /// The API is known but not at this version. The broker answers with
    /// `UNSUPPORTED_VERSION`; see `crate::request` for the ApiVersions rule.
    #[error(
        "unsupported version {api_version} of API key {api_key} (correlation id {correlation_id})"
    )]
    UnsupportedVersion {
        api_key: i16,
        api_version: i16,
        correlation_id: i32,
    },
    /// A message body failed to decode; carries which message and the cause.
    #[error("decoding {message} v{version}: {source}")]
    Message {
        message: &'static str,
        version: i16,
        #[source]
        source: Box<ProtocolError>,
    },
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, ProtocolError>;
