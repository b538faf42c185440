//! FindCoordinator: a group's coordinator is the leader of its `__consumer_offsets` partition
//! (Kafka's `abs(hash(group)) % partitions`), as the controller last published it; the topic
//! is created on the first lookup, as Kafka does. Without a leader the answer is
//! COORDINATOR_NOT_AVAILABLE, and clients retry.
//!
//! Transactions (key type 1) have no coordinator here: the answer is
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED with a message saying so, the code InitProducerId also
//! gives a transactional id. Clients treat it as fatal and report it at once (librdkafka's
//! init_transactions fails with it); COORDINATOR_NOT_AVAILABLE would have them retry until their
//! own timeout and then report only the timeout.

use ferry_kafka_protocol::messages::find_coordinator::{
    Coordinator, FindCoordinatorRequest, FindCoordinatorResponse,
};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;

const GROUP: i8 = 0;
const TRANSACTION: i8 = 1;

pub async fn handle(
    broker: &Broker,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    if version >= 4 {
        let mut coordinators = Vec::with_capacity(request.coordinator_keys.len());
        for key in request.coordinator_keys {
            coordinators.push(answer(broker, key, request.key_type).await);
        }
        return FindCoordinatorResponse {
            coordinators,
            ..Default::default()
        };
    }
    let c = answer(broker, request.key, request.key_type).await;
    FindCoordinatorResponse {
        error_code: c.error_code,
        error_message: c.error_message,
        node_id: c.node_id,
        host: c.host,
        port: c.port,
        ..Default::default()
    }
}

async fn answer(broker: &Broker, key: String, key_type: i8) -> Coordinator {
    let (code, message) = match key_type {
        GROUP => match broker.groups.ensure_offsets_topic(broker).await {
            Ok(partitions) => {
                let partition = crate::groups::partition_for(&key, partitions);
                let leader = broker
                    .metadata
                    .partition(crate::groups::OFFSETS_TOPIC, partition)
                    .and_then(|p| broker.metadata.broker(p.leader));
                match leader {
                    Some(b) => {
                        return Coordinator {
                            key,
                            node_id: b.id,
                            host: b.host,
                            port: b.port,
                            ..Default::default()
                        }
                    }
                    None => (
                        ErrorCode::CoordinatorNotAvailable,
                        format!(
                            "no leader for {} partition {partition} yet",
                            crate::groups::OFFSETS_TOPIC
                        ),
                    ),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "no group coordinator: offsets topic unavailable");
                (ErrorCode::CoordinatorNotAvailable, error.to_string())
            }
        },
        TRANSACTION => (
            ErrorCode::TransactionalIdAuthorizationFailed,
            "this broker does not run a transaction coordinator".to_string(),
        ),
        other => (
            ErrorCode::InvalidRequest,
            format!("unknown coordinator key type {other}"),
        ),
    };
    Coordinator {
        key,
        node_id: -1,
        host: String::new(),
        port: -1,
        error_code: code.code(),
        error_message: Some(message),
        ..Default::default()
    }
}
