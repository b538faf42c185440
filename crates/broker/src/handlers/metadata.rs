//! Metadata: the live brokers, the cluster id and controller, and the topics asked for, each
//! partition with its leader, replicas, ISR and offline replicas, all as the controller last
//! published them (`crate::metadata_cache`). Unknown topics are created when
//! `auto.create.topics.enable` is on and the client allows it, as Kafka 2.x does; until the
//! controller has elected their leaders they are answered LEADER_NOT_AVAILABLE, and clients
//! retry.

use ferry_kafka_protocol::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition,
    MetadataResponseTopic,
};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::metadata_cache::PartitionInfo;
use crate::zk::{is_internal, validate_topic_name, ZkError};

/// How long a broker that has not heard from the controller yet (just started) holds a
/// Metadata request, rather than describe an empty cluster.
const FIRST_METADATA_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn handle(broker: &Broker, request: MetadataRequest, version: i16) -> MetadataResponse {
    broker
        .metadata
        .wait_for_broker(broker.id(), FIRST_METADATA_WAIT)
        .await;
    let names: Vec<String> = match request.topics {
        // null (or, in v0, empty) = every topic
        None => broker.metadata.topic_names(),
        Some(topics) if version == 0 && topics.is_empty() => broker.metadata.topic_names(),
        Some(topics) => topics.into_iter().filter_map(|t| t.name).collect(),
    };
    let mut topics = Vec::with_capacity(names.len());
    for name in names {
        let topic = match broker.metadata.topic(&name) {
            Some(partitions) => describe(&name, partitions),
            // Internal topics are made by their coordinator with their own settings
            // (`__consumer_offsets`: compacted, offsets.topic.num.partitions), never by
            // auto-creation.
            None if broker.config.auto_create_topics
                && request.allow_auto_topic_creation
                && !is_internal(&name) =>
            {
                auto_create(broker, &name).await
            }
            None => error_topic(&name, ErrorCode::UnknownTopicOrPartition),
        };
        topics.push(topic);
    }
    MetadataResponse {
        brokers: broker
            .metadata
            .live_brokers()
            .into_iter()
            .map(|b| MetadataResponseBroker {
                node_id: b.id,
                host: b.host,
                port: b.port,
                rack: b.rack,
                ..Default::default()
            })
            .collect(),
        cluster_id: Some(broker.cluster_id.clone()),
        controller_id: broker.metadata.controller_id(),
        cluster_authorized_operations: super::describe_cluster::cluster_authorized_operations(
            request.include_cluster_authorized_operations,
        ),
        topics,
        ..Default::default()
    }
}

async fn auto_create(broker: &Broker, name: &str) -> MetadataResponseTopic {
    let num = broker.config.num_partitions;
    match broker.create_topic(name, num).await {
        // Answered with its partitions at once when the controller was quick enough.
        Ok(()) => match broker.metadata.topic(name) {
            Some(partitions) => describe(name, partitions),
            None => error_topic(name, ErrorCode::LeaderNotAvailable),
        },
        Err(ZkError::TopicExists { .. }) => error_topic(name, ErrorCode::LeaderNotAvailable),
        Err(error) => {
            tracing::warn!(topic = %name, %error, "auto-creating topic failed");
            let code = match validate_topic_name(name) {
                Err(_) => ErrorCode::InvalidTopicException,
                Ok(()) => ErrorCode::UnknownTopicOrPartition,
            };
            error_topic(name, code)
        }
    }
}

fn describe(
    name: &str,
    partitions: std::collections::BTreeMap<i32, PartitionInfo>,
) -> MetadataResponseTopic {
    MetadataResponseTopic {
        name: Some(name.to_string()),
        is_internal: is_internal(name),
        partitions: partitions
            .into_iter()
            .map(|(p, info)| MetadataResponsePartition {
                // Kafka's answer for a partition without a live leader.
                error_code: if info.leader < 0 {
                    ErrorCode::LeaderNotAvailable.code()
                } else {
                    0
                },
                partition_index: p,
                leader_id: info.leader,
                leader_epoch: info.leader_epoch,
                replica_nodes: info.replicas,
                isr_nodes: info.isr,
                offline_replicas: info.offline_replicas,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn error_topic(name: &str, error: ErrorCode) -> MetadataResponseTopic {
    MetadataResponseTopic {
        error_code: error.code(),
        name: Some(name.to_string()),
        ..Default::default()
    }
}
