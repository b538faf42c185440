//! Request handlers, one file per API, and the dispatch from a decoded request to its handler.
//!
//! A handler turns a typed request into a typed response; this module frames it. Only the APIs
//! listed in [`HANDLED`] are advertised by ApiVersions; a request for another API (or a
//! request that does not decode) closes the connection, which is what Kafka does with a
//! request it cannot parse.

mod api_versions;
mod create_topics;
mod delete_records;
mod describe_cluster;
mod fetch;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod offset_for_leader_epoch;
mod produce;
mod sasl_handshake;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferry_kafka_protocol::{
    decode_request_bytes, encode_response, ApiKey, ErrorCode, ProtocolError, RequestBody,
    ResponseBody,
};
use ferry_log::LogError;

use crate::broker::Broker;
use crate::replicas::ReplicaError;

/// The APIs this broker answers, each at every version the protocol crate supports.
pub const HANDLED: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::ApiVersions,
    ApiKey::CreateTopics,
    ApiKey::InitProducerId,
    ApiKey::OffsetForLeaderEpoch,
    ApiKey::DeleteRecords,
    ApiKey::SaslHandshake,
    ApiKey::DescribeCluster,
];

/// The leader epoch of every partition: this broker is the only replica and partitions are
/// created at epoch 0 (their state in ZooKeeper says so) and never re-elected. Produce stamps
/// it on batches, OffsetForLeaderEpoch checks clients' `current_leader_epoch` against it.
pub(crate) const LEADER_EPOCH: i32 = 0;

/// Why a request closes its connection instead of being answered.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("undecodable request: {0}")]
    Decode(#[source] ProtocolError),
    #[error("unhandled API {0}")]
    Unhandled(&'static str),
    #[error("an acks=0 produce failed")]
    UnacknowledgedFailure,
    #[error("encoding the response: {0}")]
    Encode(#[source] ProtocolError),
    #[error("the request's blocking work failed: {0}")]
    Blocking(#[source] tokio::task::JoinError),
}

/// Answers one request frame (without its size prefix). `Ok(None)`: no response is due.
pub async fn handle(broker: &Arc<Broker>, frame: Bytes) -> Result<Option<BytesMut>, HandleError> {
    let (header, body) = match decode_request_bytes(frame) {
        Ok(decoded) => decoded,
        // Kafka's rule: ApiVersions at an unknown version gets a v0 answer so that the client
        // can pick a version both sides know.
        Err(ProtocolError::UnsupportedVersion {
            api_key,
            correlation_id,
            ..
        }) if api_key == ApiKey::ApiVersions.key() => {
            let body = api_versions::unsupported_version();
            return encode_response(correlation_id, 0, &body.into())
                .map(Some)
                .map_err(HandleError::Encode);
        }
        Err(error) => return Err(HandleError::Decode(error)),
    };
    let version = header.api_version;
    tracing::trace!(api = ?body.api_key(), version, "request");
    let response: ResponseBody = match body {
        RequestBody::ApiVersions(_) => api_versions::handle().into(),
        RequestBody::Metadata(r) => metadata::handle(broker, r, version).await.into(),
        RequestBody::Produce(r) => match blocking(broker, move |b| produce::handle(b, r)).await? {
            produce::Reply::Respond(response) => response.into(),
            produce::Reply::Silent => return Ok(None),
            produce::Reply::Close => return Err(HandleError::UnacknowledgedFailure),
        },
        RequestBody::Fetch(r) => fetch::handle(broker, r).await?.into(),
        RequestBody::ListOffsets(r) => list_offsets::handle(broker, r, version).into(),
        RequestBody::CreateTopics(r) => create_topics::handle(broker, r, version).await.into(),
        RequestBody::InitProducerId(r) => init_producer_id::handle(broker, r).await.into(),
        RequestBody::OffsetForLeaderEpoch(r) => offset_for_leader_epoch::handle(broker, r).into(),
        RequestBody::DeleteRecords(r) => delete_records::handle(broker, r).into(),
        RequestBody::SaslHandshake(r) => sasl_handshake::handle(r).into(),
        RequestBody::DescribeCluster(r) => describe_cluster::handle(broker, r).await.into(),
        other => return Err(HandleError::Unhandled(other.api_key().name())),
    };
    encode_response(header.correlation_id, version, &response)
        .map(Some)
        .map_err(HandleError::Encode)
}

/// Runs `work` on tokio's blocking pool: appends and reads are file I/O that may block (a
/// flush under `flush.messages`, opening or replaying a log, a cold page cache), and on the
/// async workers they would stall every other connection meanwhile.
async fn blocking<T, F>(broker: &Arc<Broker>, work: F) -> Result<T, HandleError>
where
    T: Send + 'static,
    F: FnOnce(&Broker) -> T + Send + 'static,
{
    let broker = Arc::clone(broker);
    tokio::task::spawn_blocking(move || work(&broker))
        .await
        .map_err(HandleError::Blocking)
}

/// The error code for a partition that could not be served (handlers map their own specific
/// cases first).
fn error_code(error: &ReplicaError) -> ErrorCode {
    match error {
        ReplicaError::Unknown(_) => ErrorCode::UnknownTopicOrPartition,
        ReplicaError::Log(LogError::OffsetOutOfRange { .. }) => ErrorCode::OffsetOutOfRange,
        ReplicaError::Log(_) => ErrorCode::KafkaStorageError,
    }
}
