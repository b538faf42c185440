//! The Kafka wire protocol as plain Rust: pure, no I/O, no async.
//!
//! Used by the broker (and later a small client) to turn request frames
//! into typed messages and typed responses back into frames.
//!
//! # Layout
//! - [`primitives`]: bounds-checked [`primitives::Reader`], varints, length prefixes.
//! - [`wire`]: the [`wire::Wire`] trait every field type implements
//!   (integers, strings, bytes, arrays, their nullable and compact forms, UUIDs).
//! - [`tagged`]: tagged-field sections of flexible versions.
//! - `message!` (private): declares versioned structs; see `message.rs`.
//! - [`messages`]: one module per API, requests and responses.
//! - [`header`], [`api_key`], [`error_code`]: headers, the API table
//!   (supported and first flexible versions), Kafka's error codes.
//! - [`body`] and [`frame`]: [`RequestBody`]/[`ResponseBody`] keyed by API,
//!   and [`decode_request`] / [`encode_response`] for whole frames.
//! - [`out`] and [`records`]: where messages are encoded, as parts with large record sets
//!   spliced in by reference (a Fetch response's records may be a slice of a log file, sent
//!   with `sendfile`).
//!
//! # Use in the broker
//!
//! ```
//! use ferry_kafka_protocol::messages::ApiVersionsResponse;
//! use ferry_kafka_protocol::{
//!     api_versions_fallback, decode_request, encode_response, ApiKey, Encoded, ErrorCode,
//!     ProtocolError, RequestBody,
//! };
//!
//! /// Answers one frame (without its 4-byte size prefix); `None` closes the connection.
//! fn answer(frame: &[u8]) -> Option<Encoded> {
//!     match decode_request(frame) {
//!         Ok((header, RequestBody::ApiVersions(_))) => {
//!             let body = ApiVersionsResponse::supported(ErrorCode::None.code());
//!             encode_response(header.correlation_id, header.api_version, &body.into()).ok()
//!         }
//!         Ok((_header, _other)) => None, // dispatch to the handlers
//!         // Kafka's rule: ApiVersions at an unknown version gets a v0 answer.
//!         Err(ProtocolError::UnsupportedVersion { api_key, correlation_id, .. })
//!             if api_key == ApiKey::ApiVersions.key() =>
//!         {
//!             api_versions_fallback(correlation_id).ok()
//!         }
//!         Err(_) => None,
//!     }
//! }
//!
//! let frame = [0, 18, 0, 9, 0, 0, 0, 1, 0, 0]; // ApiVersions v9
//! let out = answer(&frame).unwrap();
//! // correlation id 1, UNSUPPORTED_VERSION
//! assert_eq!(&out.to_vec().unwrap()[..6], &[0, 0, 0, 1, 0, 35]);
//! ```
//!
//! # Invariants
//! - Decoding never panics and never allocates more than the input holds:
//!   every length and count is checked against the bytes left first.
//! - Byte fields, record sets included, are zero-copy slices of the frame
//!   ([`decode_request_bytes`]); record batches pass through untouched, and large ones are
//!   not copied into a response either.
//! - `decode(encode(m, v), v)` reproduces `m` for every field that exists at
//!   `v`; fields absent at `v` take their Kafka default. Unknown tagged
//!   fields are kept and re-encoded.
//! - Nulls are only accepted and produced where the version allows them;
//!   elsewhere encoding or decoding fails with [`ProtocolError::NullNotAllowed`].
//! - An unsupported API key or version is its own error, carrying the
//!   correlation id, so the broker can answer it (see [`frame`]).
//! - Absent fields are dropped silently on encode (Kafka's "ignorable");
//!   unknown tagged fields are normalized to ascending tag order.
//!
//! # Testing
//! Byte-exact vectors from real clients (librdkafka, sarama) in
//! `tests/vectors.rs`, and built by hand from Kafka's JSON schemas for the
//! inter-broker APIs in `tests/inter_broker.rs`; in `tests/properties.rs`, a fixed-point round trip
//! (`encode -> decode -> encode` gives the same bytes, every byte consumed)
//! for every request and response at every supported version, and
//! no-panic / re-decode properties for arbitrary and mutated frames. A
//! cargo-fuzz target lives in `crates/protocol/fuzz`.

pub mod api_key;
pub mod body;
pub mod error;
pub mod error_code;
pub mod frame;
pub mod header;
mod message;
pub mod messages;
pub mod out;
pub mod primitives;
pub mod records;
pub mod tagged;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
pub mod wire;

pub use api_key::ApiKey;
pub use body::{Message, Request, RequestBody, ResponseBody};
pub use error::{ProtocolError, Result};
pub use error_code::ErrorCode;
pub use frame::{
    api_versions_fallback, decode_request, decode_request_bytes, decode_response, encode_request,
    encode_request_parts, encode_response,
};
pub use header::{RequestHeader, ResponseHeader};
pub use out::{Encoded, Out, Part};
pub use records::{FileSlice, Records};
pub use wire::Uuid;
