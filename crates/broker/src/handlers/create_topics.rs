//! CreateTopics: validate (name, partitions, replicas, configs), write the topic's assignment
//! and config overrides to ZooKeeper, and wait (bounded) until the controller has elected its
//! leaders. v5+ answers list the topic's resulting configs.
//!
//! Replicas are placed over the live brokers as Kafka places them, or as the request's
//! explicit assignment says (every broker named must be live, INVALID_REPLICA_ASSIGNMENT
//! otherwise); a replication factor above the number of live brokers is
//! INVALID_REPLICATION_FACTOR. -1 means the broker's default.

use std::collections::BTreeMap;

use ferry_kafka_protocol::messages::create_topics::{
    CreatableTopic, CreatableTopicConfigs, CreatableTopicResult, CreateTopicsRequest,
    CreateTopicsResponse,
};
use ferry_kafka_protocol::ErrorCode;

use crate::admin::check_log_config;
use crate::broker::Broker;
use crate::topic_config::describe::describe_topic;
use crate::topic_config::{validate_overrides, EffectiveConfig};
use crate::zk::{validate_topic_name, ZkError};

pub async fn handle(
    broker: &Broker,
    request: CreateTopicsRequest,
    version: i16,
) -> CreateTopicsResponse {
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let result = create(broker, &topic, request.validate_only).await;
        let (error, message, partitions, rf, configs) = match result {
            Ok((partitions, rf, overrides)) => {
                let configs = describe_topic(&broker.config.topic_defaults, &overrides, None)
                    .into_iter()
                    .map(|d| CreatableTopicConfigs {
                        name: d.name,
                        value: d.value,
                        read_only: d.read_only,
                        config_source: d.source as i8,
                        is_sensitive: d.sensitive,
                        ..Default::default()
                    })
                    .collect();
                (ErrorCode::None, None, partitions, rf, configs)
            }
            Err((code, message)) => (code, Some(message), -1, -1, Vec::new()),
        };
        topics.push(CreatableTopicResult {
            name: topic.name,
            error_code: error.code(),
            error_message: message,
            num_partitions: partitions,
            replication_factor: rf,
            configs: (version >= 5).then_some(configs),
            ..Default::default()
        });
    }
    CreateTopicsResponse {
        topics,
        ..Default::default()
    }
}

type Refusal = (ErrorCode, String);

async fn create(
    broker: &Broker,
    topic: &CreatableTopic,
    validate_only: bool,
) -> Result<(i32, i16, BTreeMap<String, String>), Refusal> {
    let name = &topic.name;
    validate_topic_name(name).map_err(|e| (ErrorCode::InvalidTopicException, e.to_string()))?;
    let live = broker.live_broker_ids().await.map_err(refusal)?;
    let explicit = explicit_assignment(topic, &live)?;
    let partitions = match (topic.num_partitions, topic.assignments.len()) {
        (-1, 0) => broker.config.num_partitions,
        (-1, n) => i32::try_from(n).unwrap_or(i32::MAX),
        (n, _) => n,
    };
    if partitions < 1 {
        return Err((
            ErrorCode::InvalidPartitions,
            "partitions must be >= 1".to_string(),
        ));
    }
    check_partition_count(broker, partitions)?;
    let rf = match topic.replication_factor {
        -1 => broker.config.default_replication_factor,
        n => n,
    };
    if explicit.is_none() && (rf < 1 || usize::try_from(rf).unwrap_or(0) > live.len()) {
        let msg = format!(
            "Replication factor: {rf} larger than available brokers: {}.",
            live.len()
        );
        return Err((ErrorCode::InvalidReplicationFactor, msg));
    }
    let overrides = overrides(broker, topic)?;
    if broker.replicas.partitions(name).is_some() {
        return Err((
            ErrorCode::TopicAlreadyExists,
            format!("topic {name} already exists"),
        ));
    }
    if !validate_only {
        match explicit {
            Some(assignment) => {
                broker
                    .create_topic_assigned(name, assignment, &overrides)
                    .await
            }
            None => {
                broker
                    .create_topic_with_config(name, partitions, i32::from(rf), &overrides)
                    .await
            }
        }
        .map_err(refusal)?;
    }
    Ok((partitions, rf, overrides))
}

/// The request's own replica lists, checked against the live brokers.
fn explicit_assignment(
    topic: &CreatableTopic,
    live: &[i32],
) -> Result<Option<BTreeMap<i32, Vec<i32>>>, Refusal> {
    if topic.assignments.is_empty() {
        return Ok(None);
    }
    let invalid = |msg: String| (ErrorCode::InvalidReplicaAssignment, msg);
    let mut out = BTreeMap::new();
    for a in &topic.assignments {
        if a.broker_ids.is_empty() {
            return Err(invalid(format!(
                "partition {} has no replicas",
                a.partition_index
            )));
        }
        let unknown: Vec<i32> = a
            .broker_ids
            .iter()
            .copied()
            .filter(|b| !live.contains(b))
            .collect();
        if !unknown.is_empty() {
            return Err(invalid(format!(
                "Unknown broker(s) in replica assignment: {unknown:?}."
            )));
        }
        let mut unique = a.broker_ids.clone();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != a.broker_ids.len() {
            return Err(invalid(format!(
                "Duplicate replica assignment found: {:?}",
                a.broker_ids
            )));
        }
        out.insert(a.partition_index, a.broker_ids.clone());
    }
    let expected: Vec<i32> = (0..i32::try_from(out.len()).unwrap_or(i32::MAX)).collect();
    if out.keys().copied().collect::<Vec<_>>() != expected {
        return Err(invalid(
            "partitions must be numbered from 0 without gaps".to_string(),
        ));
    }
    Ok(Some(out))
}

/// `ferry.max.partitions.per.topic`: a topic's partitions are znodes and log directories
/// created in one request; past some thousands that request would overwhelm ZooKeeper.
pub(super) fn check_partition_count(broker: &Broker, partitions: i32) -> Result<(), Refusal> {
    let max = broker.config.max_partitions_per_topic;
    if partitions > max {
        return Err((
            ErrorCode::InvalidPartitions,
            format!("{partitions} partitions requested, at most {max} per topic (ferry.max.partitions.per.topic)"),
        ));
    }
    Ok(())
}

/// The topic's config overrides, checked as AlterConfigs checks them.
fn overrides(broker: &Broker, topic: &CreatableTopic) -> Result<BTreeMap<String, String>, Refusal> {
    let mut overrides = BTreeMap::new();
    for entry in &topic.configs {
        let Some(value) = &entry.value else {
            let msg = format!("Null value not supported for topic configs: {}", entry.name);
            return Err((ErrorCode::InvalidConfig, msg));
        };
        overrides.insert(entry.name.clone(), value.clone());
    }
    let invalid = |message: String| (ErrorCode::InvalidConfig, message);
    validate_overrides(&overrides).map_err(|e| invalid(e.0))?;
    let effective = EffectiveConfig::resolve(&broker.config.topic_defaults, &overrides);
    check_log_config(&effective).map_err(|e| invalid(e.to_string()))?;
    Ok(overrides)
}

fn refusal(error: ZkError) -> Refusal {
    let code = match &error {
        ZkError::InvalidTopic { .. } => ErrorCode::InvalidTopicException,
        ZkError::TopicExists { .. } => ErrorCode::TopicAlreadyExists,
        ZkError::InvalidPartitions { .. } | ZkError::TooLarge { .. } => {
            ErrorCode::InvalidPartitions
        }
        ZkError::InvalidReplicaAssignment { .. } => ErrorCode::InvalidReplicaAssignment,
        _ => ErrorCode::UnknownServerError,
    };
    (code, error.to_string())
}
