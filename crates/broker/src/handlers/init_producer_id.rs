//! InitProducerId: a producer id and epoch for an idempotent producer.
//!
//! - No transactional id, no producer id: a fresh id from this broker's ZooKeeper block
//!   (`crate::producers::ids`), epoch 0.
//! - No transactional id, the producer's current id and epoch (v3+, KIP-360: the client asks
//!   again after it lost track of its sequences): the same id with the epoch bumped, which
//!   fences any batch still in flight under the old epoch and restarts sequences at 0. When the
//!   epoch cannot grow any more a fresh id with epoch 0 is handed out instead. (Kafka's
//!   coordinator answers an idempotent re-init with a fresh id; a bumped epoch fences the old
//!   one just the same and keeps the producer's identity, as it does for transactional ids.)
//! - A producer id without an epoch or the other way round: INVALID_REQUEST, as Kafka.
//! - A transactional id: this broker has no transaction coordinator and does not advertise
//!   the transactional APIs (AddPartitionsToTxn, EndTxn, ...). It answers
//!   TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which every client treats as fatal for a
//!   transactional producer and reports at once (librdkafka: "Transactional Id authorization
//!   failed"), rather than COORDINATOR_NOT_AVAILABLE, which clients would retry until their
//!   timeout. An empty transactional id is INVALID_REQUEST, as in Kafka.
//! - ZooKeeper unreachable while a new id block is needed: COORDINATOR_NOT_AVAILABLE, which
//!   clients retry.

use ferry_kafka_protocol::messages::init_producer_id::{
    InitProducerIdRequest, InitProducerIdResponse,
};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;

/// What to answer, before any id is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Refuse(ErrorCode),
    /// A fresh producer id, epoch 0.
    Allocate,
    /// The same id, this epoch.
    Bump {
        producer_id: i64,
        epoch: i16,
    },
}

fn plan(request: &InitProducerIdRequest) -> Plan {
    match request.transactional_id.as_deref() {
        Some("") => return Plan::Refuse(ErrorCode::InvalidRequest),
        Some(_) => return Plan::Refuse(ErrorCode::TransactionalIdAuthorizationFailed),
        None => {}
    }
    match (request.producer_id, request.producer_epoch) {
        (-1, -1) => Plan::Allocate,
        (id, epoch) if id < 0 || epoch < 0 => Plan::Refuse(ErrorCode::InvalidRequest),
        // Kafka keeps the last epoch value (i16::MAX) unused, as a marker of exhaustion.
        (_, epoch) if epoch >= i16::MAX - 1 => Plan::Allocate,
        (producer_id, epoch) => Plan::Bump {
            producer_id,
            epoch: epoch + 1,
        },
    }
}

pub async fn handle(broker: &Broker, request: InitProducerIdRequest) -> InitProducerIdResponse {
    let (producer_id, producer_epoch) = match plan(&request) {
        Plan::Refuse(error) => return refuse(error),
        Plan::Bump { producer_id, epoch } => (producer_id, epoch),
        Plan::Allocate => match broker
            .producer_ids
            .next(&broker.zk.get(), broker.id())
            .await
        {
            Ok(id) => (id, 0),
            Err(error) => {
                tracing::warn!(%error, "no producer id block from ZooKeeper");
                return refuse(ErrorCode::CoordinatorNotAvailable);
            }
        },
    };
    tracing::debug!(producer_id, producer_epoch, "producer id handed out");
    InitProducerIdResponse {
        producer_id,
        producer_epoch,
        ..Default::default()
    }
}

fn refuse(error: ErrorCode) -> InitProducerIdResponse {
    InitProducerIdResponse {
        error_code: error.code(),
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(txn: Option<&str>, producer_id: i64, producer_epoch: i16) -> InitProducerIdRequest {
        InitProducerIdRequest {
            transactional_id: txn.map(str::to_string),
            transaction_timeout_ms: 60_000,
            producer_id,
            producer_epoch,
            ..Default::default()
        }
    }

    #[test]
    fn plans() {
        assert_eq!(plan(&request(None, -1, -1)), Plan::Allocate);
        assert_eq!(
            plan(&request(None, 17, 3)),
            Plan::Bump {
                producer_id: 17,
                epoch: 4
            }
        );
        assert_eq!(plan(&request(None, 17, i16::MAX - 1)), Plan::Allocate);
        assert_eq!(
            plan(&request(None, 17, -1)),
            Plan::Refuse(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            plan(&request(None, -1, 0)),
            Plan::Refuse(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            plan(&request(Some("txn"), -1, -1)),
            Plan::Refuse(ErrorCode::TransactionalIdAuthorizationFailed)
        );
        assert_eq!(
            plan(&request(Some(""), -1, -1)),
            Plan::Refuse(ErrorCode::InvalidRequest)
        );
    }
}
