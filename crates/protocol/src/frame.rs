//! Whole frames: header plus body, as the broker reads and writes them.
//!
//! A frame here is what follows Kafka's 4-byte big-endian size prefix;
//! the connection layer strips and adds that prefix (and enforces
//! `socket.request.max.bytes` before a frame is ever buffered).
//!
//! # Answering unsupported requests
//!
//! [`decode_request`] fails with [`ProtocolError::UnsupportedApiKey`] or
//! [`ProtocolError::UnsupportedVersion`] (both carry the correlation id)
//! before reading anything past the fixed header prefix. Kafka's rule,
//! which clients depend on: an **ApiVersions** request at a version the
//! broker does not support gets an ApiVersions **v0** response (header v0)
//! with error `UNSUPPORTED_VERSION` and the full list of supported APIs,
//! so the client can retry at a version both sides know; build it with
//! [`api_versions_fallback`]. For other APIs Kafka closes the connection
//! (the client negotiated versions first, so this is a client bug). An
//! ApiVersions request at a supported version whose body does not decode
//! gets Kafka's `INVALID_REQUEST` in an ApiVersions response.

use bytes::{Bytes, BytesMut};

use crate::body::{RequestBody, ResponseBody};
use crate::error::{ProtocolError, Result};
use crate::error_code::ErrorCode;
use crate::header::{RequestHeader, ResponseHeader};
use crate::messages::ApiVersionsResponse;
use crate::out::{Encoded, Out};
use crate::primitives::Reader;
use crate::ApiKey;

/// Decodes a request frame (copying it once; see [`decode_request_bytes`]).
pub fn decode_request(frame: &[u8]) -> Result<(RequestHeader, RequestBody)> {
    decode_request_bytes(Bytes::copy_from_slice(frame))
}

/// Decodes a request frame without copying: record sets in the body are
/// slices of `frame`. Trailing bytes after the body are ignored, as Kafka
/// does.
pub fn decode_request_bytes(frame: Bytes) -> Result<(RequestHeader, RequestBody)> {
    let mut r = Reader::new(frame);
    let prefix = RequestHeader::read_prefix(&mut r.clone())?;
    let api = ApiKey::from_key(prefix.api_key).ok_or(ProtocolError::UnsupportedApiKey {
        api_key: prefix.api_key,
        correlation_id: prefix.correlation_id,
    })?;
    let version = prefix.api_version;
    if !api.supports(version) {
        return Err(ProtocolError::UnsupportedVersion {
            api_key: prefix.api_key,
            api_version: version,
            correlation_id: prefix.correlation_id,
        });
    }
    let header = RequestHeader::read(&mut r, api.request_header_version(version))?;
    let body = RequestBody::decode(api, &mut r, version)?;
    Ok((header, body))
}

/// Encodes a request frame (header at the version the API requires).
/// `header.api_key` is set from the body.
pub fn encode_request(header: &RequestHeader, body: &RequestBody) -> Result<BytesMut> {
    let mut buf = Out::contiguous();
    write_request(&mut buf, header, body)?;
    Ok(buf.into_contiguous())
}

/// [`encode_request`], with large bytes fields (a Produce request's records) spliced in
/// rather than copied (see [`Out`]), for a client that writes frames as parts.
pub fn encode_request_parts(header: &RequestHeader, body: &RequestBody) -> Result<Encoded> {
    let mut buf = Out::spliced(FIELDS_ROOM);
    write_request(&mut buf, header, body)?;
    Ok(buf.finish())
}

fn write_request(buf: &mut Out, header: &RequestHeader, body: &RequestBody) -> Result<()> {
    let api = body.api_key();
    let mut header = header.clone();
    header.api_key = api.key();
    header.write(buf, api.request_header_version(header.api_version))?;
    body.encode(header.api_version, buf)
}

/// Encodes a response frame to a request of `api_version`, with the
/// response header version the API requires; large record sets are spliced in, not copied
/// (see [`Out`]).
pub fn encode_response(
    correlation_id: i32,
    api_version: i16,
    body: &ResponseBody,
) -> Result<Encoded> {
    let api = body.api_key();
    let mut buf = Out::spliced(FIELDS_ROOM + records_len(body));
    ResponseHeader {
        correlation_id,
        ..Default::default()
    }
    .write(&mut buf, api.response_header_version(api_version));
    body.encode(api_version, &mut buf)?;
    Ok(buf.finish())
}

/// Room for a frame's fields besides its spliced record sets (most frames fit in it whole).
const FIELDS_ROOM: usize = 1024;

/// The room a response's record sets (a Fetch answer's) take in its buffer, so that it is
/// allocated once instead of growing, and copied, as they are written into it.
fn records_len(body: &ResponseBody) -> usize {
    match body {
        ResponseBody::Fetch(fetch) => fetch
            .responses
            .iter()
            .flat_map(|t| &t.partitions)
            .map(|p| 64 + p.records.as_ref().map_or(0, crate::out::copied_len))
            .sum(),
        _ => 0,
    }
}

/// Decodes a response frame to a request of `api` at `api_version`.
pub fn decode_response(
    api: ApiKey,
    api_version: i16,
    frame: Bytes,
) -> Result<(ResponseHeader, ResponseBody)> {
    let mut r = Reader::new(frame);
    let header = ResponseHeader::read(&mut r, api.response_header_version(api_version))?;
    let body = ResponseBody::decode(api, &mut r, api_version)?;
    Ok((header, body))
}

/// The answer to an ApiVersions request at an unsupported version: a v0
/// response with `UNSUPPORTED_VERSION` and every supported API.
pub fn api_versions_fallback(correlation_id: i32) -> Result<Encoded> {
    let body = ApiVersionsResponse::supported(ErrorCode::UnsupportedVersion.code());
    encode_response(correlation_id, 0, &body.into())
}
