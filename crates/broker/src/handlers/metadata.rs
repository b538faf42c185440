//! Metadata: this broker, the cluster id and controller, and the topics asked for.
//!
//! Every partition is led by this broker with replicas and ISR = [this broker]: with one broker
//! that is what the controller would have written. Unknown topics are created when
//! `auto.create.topics.enable` is on and the client allows it, as Kafka 2.x does; the response
//! then says LEADER_NOT_AVAILABLE for them once, like Kafka, and clients retry.

use ferry_kafka_protocol::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition,
    MetadataResponseTopic,
};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::zk::{is_internal, validate_topic_name, ZkError};

pub async fn handle(broker: &Broker, request: MetadataRequest, version: i16) -> MetadataResponse {
    let names: Vec<String> = match request.topics {
        // null (or, in v0, empty) = every topic
        None => broker.replicas.topics().into_keys().collect(),
        Some(topics) if version == 0 && topics.is_empty() => {
            broker.replicas.topics().into_keys().collect()
        }
        Some(topics) => topics.into_iter().filter_map(|t| t.name).collect(),
    };
    let mut topics = Vec::with_capacity(names.len());
    for name in names {
        let topic = match broker.replicas.partitions(&name) {
            Some(count) => describe(broker, &name, count),
            // Internal topics are made by their coordinator with their own settings
            // (`__consumer_offsets`: compacted, offsets.topic.num.partitions), never by
            // auto-creation.
            None if broker.config.auto_create_topics
                && request.allow_auto_topic_creation
                && !is_internal(&name) =>
            {
                let num = broker.config.num_partitions;
                match broker.create_topic(&name, num).await {
                    // Kafka answers LEADER_NOT_AVAILABLE the first time; we have the leader
                    // already, so answer with the partitions straight away.
                    Ok(()) => describe(broker, &name, num),
                    Err(ZkError::TopicExists { .. }) => {
                        error_topic(&name, ErrorCode::LeaderNotAvailable)
                    }
                    Err(error) => {
                        tracing::warn!(topic = %name, %error, "auto-creating topic failed");
                        let code = match validate_topic_name(&name) {
                            Err(_) => ErrorCode::InvalidTopicException,
                            Ok(()) => ErrorCode::UnknownTopicOrPartition,
                        };
                        error_topic(&name, code)
                    }
                }
            }
            None => error_topic(&name, ErrorCode::UnknownTopicOrPartition),
        };
        topics.push(topic);
    }
    let adv = &broker.config.advertised;
    MetadataResponse {
        brokers: vec![MetadataResponseBroker {
            node_id: broker.id(),
            host: adv.host.clone(),
            port: i32::from(adv.port),
            ..Default::default()
        }],
        cluster_id: Some(broker.cluster_id.clone()),
        controller_id: broker.controller_id(),
        cluster_authorized_operations: super::describe_cluster::cluster_authorized_operations(
            request.include_cluster_authorized_operations,
        ),
        topics,
        ..Default::default()
    }
}

fn describe(broker: &Broker, name: &str, partitions: i32) -> MetadataResponseTopic {
    let me = vec![broker.id()];
    MetadataResponseTopic {
        name: Some(name.to_string()),
        is_internal: is_internal(name),
        partitions: (0..partitions)
            .map(|p| MetadataResponsePartition {
                partition_index: p,
                leader_id: broker.id(),
                leader_epoch: 0,
                replica_nodes: me.clone(),
                isr_nodes: me.clone(),
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
