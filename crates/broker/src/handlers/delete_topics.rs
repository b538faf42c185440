//! DeleteTopics: each topic is marked under `/admin/delete_topics` and, this broker being the
//! controller, deleted at once; the answer waits (up to the request's timeout) until the
//! topic is gone. v6 names topics by id too; this broker keeps no topic ids in its answers,
//! so a topic named only by id is UNKNOWN_TOPIC_ID.

use std::time::Duration;

use ferry_kafka_protocol::messages::delete_topics::{
    DeletableTopicResult, DeleteTopicsRequest, DeleteTopicsResponse,
};
use ferry_kafka_protocol::wire::Uuid;
use ferry_kafka_protocol::ErrorCode;

use crate::admin::DeleteError;
use crate::broker::Broker;

pub async fn handle(
    broker: &Broker,
    request: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    let timeout = Duration::from_millis(u64::try_from(request.timeout_ms).unwrap_or(0));
    let topics: Vec<(Option<String>, Uuid)> = if version >= 6 {
        request
            .topics
            .into_iter()
            .map(|t| (t.name, t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .into_iter()
            .map(|name| (Some(name), Uuid::default()))
            .collect()
    };
    let mut responses = Vec::with_capacity(topics.len());
    for (name, topic_id) in topics {
        let outcome = match &name {
            None => Err((
                ErrorCode::UnknownTopicId,
                "topics are deleted by name".to_string(),
            )),
            Some(name) => broker
                .delete_topic(name, timeout)
                .await
                .map_err(|error| (code(&error), error.to_string())),
        };
        let (error, message) = match outcome {
            Ok(()) => (ErrorCode::None, None),
            Err((code, message)) => (code, Some(message)),
        };
        responses.push(DeletableTopicResult {
            name,
            topic_id,
            error_code: error.code(),
            error_message: message,
            ..Default::default()
        });
    }
    DeleteTopicsResponse {
        responses,
        ..Default::default()
    }
}

fn code(error: &DeleteError) -> ErrorCode {
    match error {
        DeleteError::Disabled => ErrorCode::TopicDeletionDisabled,
        DeleteError::UnknownTopic(_) => ErrorCode::UnknownTopicOrPartition,
        DeleteError::TimedOut(_) => ErrorCode::RequestTimedOut,
        DeleteError::Zk(_) => ErrorCode::UnknownServerError,
    }
}
