//! CreatePartitions: raises topics' partition counts (never lowers them), optionally with
//! explicit replica lists that must name this broker; `validate_only` checks without writing.

use std::collections::BTreeSet;

use ferry_kafka_protocol::messages::create_partitions::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreatePartitionsTopicResult,
};
use ferry_kafka_protocol::ErrorCode;

use crate::admin::PartitionsError;
use crate::broker::Broker;

pub async fn handle(broker: &Broker, request: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let mut seen = BTreeSet::new();
    let duplicated: BTreeSet<String> = request
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.clone()))
        .map(|t| t.name.clone())
        .collect();
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let outcome = if duplicated.contains(&topic.name) {
            Err((
                ErrorCode::InvalidRequest,
                "Duplicate topic in request.".to_string(),
            ))
        } else {
            let assignments: Option<Vec<Vec<i32>>> = topic
                .assignments
                .map(|list| list.into_iter().map(|a| a.broker_ids).collect());
            broker
                .create_partitions(
                    &topic.name,
                    topic.count,
                    assignments.as_deref(),
                    request.validate_only,
                )
                .await
                .map_err(|error| (code(&error), error_text(&error)))
        };
        let (error, message) = match outcome {
            Ok(()) => (ErrorCode::None, None),
            Err((code, message)) => (code, Some(message)),
        };
        results.push(CreatePartitionsTopicResult {
            name: topic.name,
            error_code: error.code(),
            error_message: message,
            ..Default::default()
        });
    }
    CreatePartitionsResponse {
        results,
        ..Default::default()
    }
}

/// The message with its causes, for the client.
fn error_text(error: &PartitionsError) -> String {
    match error {
        PartitionsError::Zk(source) => format!("{error}: {source}"),
        _ => error.to_string(),
    }
}

fn code(error: &PartitionsError) -> ErrorCode {
    match error {
        PartitionsError::UnknownTopic(_) => ErrorCode::UnknownTopicOrPartition,
        PartitionsError::MarkedForDeletion(_) => ErrorCode::InvalidTopicException,
        PartitionsError::InvalidPartitions(_) => ErrorCode::InvalidPartitions,
        PartitionsError::InvalidReplicaAssignment(_) => ErrorCode::InvalidReplicaAssignment,
        PartitionsError::InvalidReplicationFactor(_) => ErrorCode::InvalidReplicationFactor,
        PartitionsError::Zk(_) | PartitionsError::Contended(_) => ErrorCode::UnknownServerError,
    }
}
