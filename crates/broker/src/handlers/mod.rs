//! Request handlers, one file per API, and the dispatch from a decoded request to its handler.
//!
//! A handler turns a typed request into a typed response; this module frames it. [`HANDLED`]
//! lists the APIs ApiVersions advertises: every API the protocol crate decodes. A request for
//! an API or version it does not decode closes the connection, which is what Kafka does with
//! a request it cannot parse.

mod alter_configs;
mod api_versions;
mod config_resources;
mod controlled_shutdown;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod elect_leaders;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
pub(crate) mod inter_broker;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod metadata;
mod offload;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod partition_outcomes;
mod partition_reassignments;
mod produce;
mod sasl_handshake;
mod sync_group;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use ferry_kafka_protocol::messages::{PartitionError, TopicPartitionErrors};
use ferry_kafka_protocol::{
    decode_request_bytes, encode_response, ApiKey, Encoded, ErrorCode, ProtocolError, RequestBody,
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
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::ListGroups,
    ApiKey::DescribeGroups,
    ApiKey::DeleteGroups,
    ApiKey::OffsetDelete,
    ApiKey::DeleteTopics,
    ApiKey::CreatePartitions,
    ApiKey::DescribeConfigs,
    ApiKey::AlterConfigs,
    ApiKey::DescribeLogDirs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::InitProducerId,
    ApiKey::OffsetForLeaderEpoch,
    ApiKey::DeleteRecords,
    ApiKey::SaslHandshake,
    ApiKey::DescribeCluster,
    ApiKey::LeaderAndIsr,
    ApiKey::StopReplica,
    ApiKey::UpdateMetadata,
    ApiKey::ControlledShutdown,
    ApiKey::ElectLeaders,
    ApiKey::AlterPartitionReassignments,
    ApiKey::ListPartitionReassignments,
];

/// Who sent a request, as group members are described (DescribeGroups).
pub struct ClientInfo {
    pub client_id: String,
    /// `/address`, the way Kafka prints a client's host.
    pub host: String,
}

/// Why a request closes its connection instead of being answered.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("undecodable request: {0}")]
    Decode(#[source] ProtocolError),
    #[error("an acks=0 produce failed")]
    UnacknowledgedFailure,
    #[error("encoding the response: {0}")]
    Encode(#[source] ProtocolError),
    #[error("the request's blocking work failed: {0}")]
    Blocking(#[source] tokio::task::JoinError),
}

/// A request's answer: ready, or (an acks=all produce) to be completed once the ISR has the
/// records, after which it is encoded. `None` inside: no response is due (acks=0).
pub enum Answer {
    Now(Option<Encoded>),
    Later(LaterAnswer),
}

/// An answer that waits for something (an acks=all produce, for replication).
pub type LaterAnswer = Pin<Box<dyn Future<Output = Result<Option<Encoded>, HandleError>> + Send>>;

/// Handles one request frame (without its size prefix) from `peer`. Everything a request
/// changes is done before this returns; only an acks=all produce's wait for replication is
/// left in [`Answer::Later`], so the connection can read its next request meanwhile (its
/// appends stay in request order) while answers are still written in request order.
pub async fn handle(
    broker: &Arc<Broker>,
    frame: Bytes,
    peer: Option<SocketAddr>,
) -> Result<Answer, HandleError> {
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
                .map(|frame| Answer::Now(Some(frame)))
                .map_err(HandleError::Encode);
        }
        Err(error) => return Err(HandleError::Decode(error)),
    };
    let version = header.api_version;
    tracing::trace!(api = ?body.api_key(), version, "request");
    let client = ClientInfo {
        client_id: header.client_id.clone().unwrap_or_default(),
        host: peer.map_or_else(String::new, |p| format!("/{}", p.ip())),
    };
    let response: ResponseBody = match body {
        RequestBody::ApiVersions(_) => api_versions::handle().into(),
        RequestBody::Metadata(r) => metadata::handle(broker, r, version).await.into(),
        RequestBody::Produce(r) => {
            match offload::run(broker, offload::produce_is_quick(broker, &r), move |b| {
                produce::handle(b, r)
            })
            .await?
            {
                produce::Reply::Respond(response) => response.into(),
                produce::Reply::Delayed(delayed) => {
                    let correlation_id = header.correlation_id;
                    return Ok(Answer::Later(Box::pin(async move {
                        let response = produce::complete(delayed).await;
                        encode_response(correlation_id, version, &response.into())
                            .map(Some)
                            .map_err(HandleError::Encode)
                    })));
                }
                produce::Reply::Silent => return Ok(Answer::Now(None)),
                produce::Reply::Close => return Err(HandleError::UnacknowledgedFailure),
            }
        }
        RequestBody::Fetch(r) => fetch::handle(broker, r).await?.into(),
        RequestBody::ListOffsets(r) => list_offsets::handle(broker, r, version).into(),
        RequestBody::CreateTopics(r) => create_topics::handle(broker, r, version).await.into(),
        RequestBody::FindCoordinator(r) => {
            find_coordinator::handle(broker, r, version).await.into()
        }
        RequestBody::JoinGroup(r) => join_group::handle(broker, r, version, &client).await.into(),
        RequestBody::SyncGroup(r) => sync_group::handle(broker, r).await.into(),
        RequestBody::Heartbeat(r) => heartbeat::handle(broker, r).into(),
        RequestBody::LeaveGroup(r) => leave_group::handle(broker, r, version).into(),
        RequestBody::OffsetCommit(r) => offset_commit::handle(broker, r).await.into(),
        RequestBody::OffsetFetch(r) => offset_fetch::handle(broker, r, version).await.into(),
        RequestBody::ListGroups(r) => list_groups::handle(broker, r).into(),
        RequestBody::DescribeGroups(r) => describe_groups::handle(broker, r).into(),
        RequestBody::DeleteGroups(r) => delete_groups::handle(broker, r).into(),
        RequestBody::OffsetDelete(r) => offset_delete::handle(broker, r).into(),
        RequestBody::DeleteTopics(r) => delete_topics::handle(broker, r, version).await.into(),
        RequestBody::CreatePartitions(r) => create_partitions::handle(broker, r).await.into(),
        RequestBody::DescribeConfigs(r) => {
            describe_configs::handle(broker, r, version).await.into()
        }
        RequestBody::AlterConfigs(r) => alter_configs::handle(broker, r).await.into(),
        RequestBody::DescribeLogDirs(r) => describe_log_dirs::handle(broker, r).into(),
        RequestBody::IncrementalAlterConfigs(r) => {
            incremental_alter_configs::handle(broker, r).await.into()
        }
        RequestBody::InitProducerId(r) => init_producer_id::handle(broker, r).await.into(),
        RequestBody::OffsetForLeaderEpoch(r) => offset_for_leader_epoch::handle(broker, r).into(),
        RequestBody::DeleteRecords(r) => delete_records::handle(broker, r).into(),
        RequestBody::SaslHandshake(r) => sasl_handshake::handle(r).into(),
        RequestBody::DescribeCluster(r) => describe_cluster::handle(broker, r).await.into(),
        RequestBody::LeaderAndIsr(r) => inter_broker::leader_and_isr(broker, r, version)
            .await
            .into(),
        RequestBody::UpdateMetadata(r) => inter_broker::update_metadata(broker, r).into(),
        RequestBody::StopReplica(r) => inter_broker::stop_replica(broker, r).await.into(),
        RequestBody::ControlledShutdown(r) => controlled_shutdown::handle(broker, r).await.into(),
        RequestBody::ElectLeaders(r) => elect_leaders::handle(broker, r).await.into(),
        RequestBody::AlterPartitionReassignments(r) => {
            partition_reassignments::alter(broker, r).await.into()
        }
        RequestBody::ListPartitionReassignments(r) => {
            partition_reassignments::list(broker, r).await.into()
        }
    };
    encode_response(header.correlation_id, version, &response)
        .map(|frame| Answer::Now(Some(frame)))
        .map_err(HandleError::Encode)
}

/// The error code for a partition that could not be served (handlers map their own specific
/// cases first).
fn error_code(error: &ReplicaError) -> ErrorCode {
    match error {
        ReplicaError::Unknown(_) => ErrorCode::UnknownTopicOrPartition,
        ReplicaError::Log(LogError::OffsetOutOfRange { .. }) => ErrorCode::OffsetOutOfRange,
        // The leadership moved on while the request was being handled.
        ReplicaError::Log(LogError::StaleLeaderEpoch { .. }) => ErrorCode::NotLeaderOrFollower,
        ReplicaError::Log(_) => ErrorCode::KafkaStorageError,
        ReplicaError::Leader(error) => error.code(),
    }
}

/// Per-partition errors grouped by topic, consecutive entries of one topic sharing an entry
/// (OffsetCommit, OffsetDelete).
fn topic_partition_errors(
    items: impl IntoIterator<Item = (String, i32, ErrorCode)>,
) -> Vec<TopicPartitionErrors> {
    let mut topics: Vec<TopicPartitionErrors> = Vec::new();
    for (name, partition, error) in items {
        let entry = PartitionError {
            partition_index: partition,
            error_code: error.code(),
            ..Default::default()
        };
        match topics.last_mut() {
            Some(t) if t.name == name => t.partitions.push(entry),
            _ => topics.push(TopicPartitionErrors {
                name,
                partitions: vec![entry],
                ..Default::default()
            }),
        }
    }
    topics
}
