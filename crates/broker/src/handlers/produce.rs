//! Produce: append each partition's record set to its log as leader.
//!
//! On one broker acks=1 and acks=-1 (all) differ only in `min.insync.replicas`: the ISR is
//! this broker, so the append is acknowledged once it is in the log, unless acks=all asks for
//! more in-sync replicas than there are (NOT_ENOUGH_REPLICAS, nothing written). acks=0 gets no response at all, as in Kafka.
//! Validation is the log's: a batch with a bad CRC is CORRUPT_MESSAGE, one over
//! `message.max.bytes` MESSAGE_TOO_LARGE, one whose records do not parse (or lack the key a
//! compacted topic needs) INVALID_RECORD naming the record, and nothing of a rejected partition
//! is written.
//!
//! Idempotent batches (with a producer id) are checked against the partition's producer state
//! (`crate::producers`): a retry of a recent batch is answered with its original base offset
//! and not written again; a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER and a fenced epoch
//! INVALID_PRODUCER_EPOCH.

use ferry_kafka_protocol::messages::produce::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, ProduceRequest, ProduceResponse,
    TopicProduceResponse,
};
use ferry_kafka_protocol::ErrorCode;
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_log::{BatchError, LogError, TopicPartition};

use super::{error_code, LEADER_EPOCH};
use crate::broker::Broker;
use crate::producers::state::SequenceError;
use crate::producers::{AppendError, Appended};
use crate::replicas::ReplicaError;

/// What the connection does after a produce request.
pub enum Reply {
    Respond(ProduceResponse),
    /// acks=0 and every partition appended: no response.
    Silent,
    /// acks=0 and a partition failed: Kafka closes the connection, the only way to tell such a
    /// producer something went wrong (it then refreshes its metadata).
    Close,
}

pub fn handle(broker: &Broker, request: ProduceRequest) -> Reply {
    // 0 (none), 1 (leader), -1 (all in-sync replicas) are the only valid values.
    if !matches!(request.acks, -1..=1) {
        return Reply::Respond(reject_all(request, ErrorCode::InvalidRequiredAcks));
    }
    let mut appended = false;
    let responses: Vec<TopicProduceResponse> = request
        .topic_data
        .into_iter()
        .map(|topic| TopicProduceResponse {
            partition_responses: topic
                .partition_data
                .into_iter()
                .map(|data| {
                    let result = append(
                        broker,
                        &topic.name,
                        data.index,
                        request.acks,
                        data.records.as_deref(),
                    );
                    appended |= result.is_ok();
                    respond(data.index, result)
                })
                .collect(),
            name: topic.name,
            ..Default::default()
        })
        .collect();
    if appended {
        broker.replicas.notify_appended();
    }
    let failed = responses
        .iter()
        .flat_map(|t| &t.partition_responses)
        .any(|p| p.error_code != 0);
    match (request.acks, failed) {
        (0, false) => Reply::Silent,
        (0, true) => Reply::Close,
        _ => Reply::Respond(ProduceResponse {
            responses,
            ..Default::default()
        }),
    }
}

/// Every partition answered with `error`, nothing appended.
fn reject_all(request: ProduceRequest, error: ErrorCode) -> ProduceResponse {
    let responses = request
        .topic_data
        .into_iter()
        .map(|topic| TopicProduceResponse {
            name: topic.name,
            partition_responses: topic
                .partition_data
                .iter()
                .map(|data| PartitionProduceResponse {
                    index: data.index,
                    error_code: error.code(),
                    base_offset: -1,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    ProduceResponse {
        responses,
        ..Default::default()
    }
}

/// What became of one partition's record set.
type Outcome = Result<(Appended, i64), Refused>;

/// Why a partition's record set was not appended.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    /// acks=all with fewer in-sync replicas than the topic's `min.insync.replicas`: refused
    /// before anything is written, as Kafka does.
    #[error("{in_sync} in-sync replicas, min.insync.replicas is {required}")]
    NotEnoughReplicas { in_sync: i32, required: i32 },
}

impl From<AppendError> for Refused {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Log(e) => Refused::Replica(ReplicaError::Log(e)),
            AppendError::Sequence(e) => Refused::Sequence(e),
        }
    }
}

fn append(
    broker: &Broker,
    topic: &str,
    partition: i32,
    acks: i16,
    records: Option<&[u8]>,
) -> Outcome {
    let log = broker.replicas.log(topic, partition)?;
    if acks == -1 {
        let required = broker.min_insync_replicas(topic);
        let in_sync = broker.replicas.in_sync_replica_count(topic, partition);
        if in_sync < required {
            return Err(Refused::NotEnoughReplicas { in_sync, required });
        }
    }
    let producers = broker
        .producers
        .partition(&TopicPartition::new(topic, partition), &log);
    // The log rewrites offsets and the leader epoch in place, so it needs its own copy.
    let mut records = records.unwrap_or_default().to_vec();
    let appended = producers.append(&log, &mut records, LEADER_EPOCH, now_ms())?;
    Ok((appended, log.log_start_offset()))
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

fn respond(index: i32, result: Outcome) -> PartitionProduceResponse {
    match result {
        Ok((appended, log_start_offset)) => PartitionProduceResponse {
            index,
            // A duplicate is answered as its first append was, as Kafka does: the client
            // then counts the batch as delivered at its original offsets.
            base_offset: match appended {
                Appended::New(info) => info.base_offset,
                Appended::Duplicate(original) => original.first_offset,
            },
            log_start_offset,
            ..Default::default()
        },
        Err(error) => {
            tracing::debug!(index, %error, "produce rejected");
            PartitionProduceResponse {
                index,
                error_code: produce_error(&error).code(),
                base_offset: -1,
                record_errors: record_errors(&error),
                error_message: Some(error.to_string()),
                ..Default::default()
            }
        }
    }
}

/// The record at fault, for INVALID_RECORD answers (KIP-467): clients name it to the user.
fn record_errors(error: &Refused) -> Vec<BatchIndexAndErrorMessage> {
    match error {
        Refused::Replica(ReplicaError::Log(LogError::InvalidBatch(
            BatchError::InvalidRecord {
                record: Some(index),
                reason,
                ..
            },
        ))) => vec![BatchIndexAndErrorMessage {
            batch_index: *index,
            batch_index_error_message: Some(reason.clone()),
            ..Default::default()
        }],
        _ => Vec::new(),
    }
}

fn produce_error(error: &Refused) -> ErrorCode {
    let error = match error {
        Refused::Sequence(SequenceError::StaleEpoch { .. }) => {
            return ErrorCode::InvalidProducerEpoch
        }
        Refused::Sequence(SequenceError::OutOfOrder { .. }) => {
            return ErrorCode::OutOfOrderSequenceNumber
        }
        Refused::NotEnoughReplicas { .. } => return ErrorCode::NotEnoughReplicas,
        Refused::Replica(error) => error,
    };
    match error {
        ReplicaError::Log(LogError::InvalidBatch(BatchError::TooLarge { .. })) => {
            ErrorCode::MessageTooLarge
        }
        ReplicaError::Log(LogError::InvalidBatch(
            BatchError::Empty | BatchError::InvalidRecord { .. },
        )) => ErrorCode::InvalidRecord,
        ReplicaError::Log(LogError::InvalidBatch(_)) => ErrorCode::CorruptMessage,
        other => error_code(other),
    }
}
