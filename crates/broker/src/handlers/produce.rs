//! Produce: append each partition's record set to its log as leader.
//!
//! Only the partition's leader appends (others answer NOT_LEADER_OR_FOLLOWER, and the client
//! refreshes its metadata); batches are stamped with the leader epoch. acks=1 is answered once
//! the leader has the batch; acks=-1 (all) once the high watermark has passed it, that is once
//! every ISR member has it (`crate::replica::delayed_produce`), or REQUEST_TIMED_OUT after the
//! request's timeout; an ISR smaller than `min.insync.replicas` refuses acks=all before
//! anything is written (NOT_ENOUGH_REPLICAS). acks=0 gets no response at all, as in Kafka.
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

use super::error_code;
use crate::broker::Broker;
use crate::producers::state::SequenceError;
use crate::producers::{AppendError, Appended};
use crate::replica::delayed_produce::{self, Awaited};
use crate::replica::LeaderError;
use crate::replicas::ReplicaError;

/// What the connection does after a produce request.
pub enum Reply {
    Respond(ProduceResponse),
    /// acks=all: answered once the ISR has every appended batch (see [`complete`]).
    Delayed(Delayed),
    /// acks=0 and every partition appended: no response.
    Silent,
    /// acks=0 and a partition failed: Kafka closes the connection, the only way to tell such a
    /// producer something went wrong (it then refreshes its metadata).
    Close,
}

/// An acks=all response waiting for the high watermarks of its partitions.
pub struct Delayed {
    response: ProduceResponse,
    /// (topic index, partition index in the response) and what to wait for.
    awaited: Vec<(usize, usize, Awaited)>,
    timeout_ms: i32,
}

/// Waits for every appended partition of an acks=all request (at most its timeout) and
/// answers; a partition not replicated in time, or whose leadership moved, gets its error.
pub async fn complete(delayed: Delayed) -> ProduceResponse {
    let Delayed {
        mut response,
        awaited,
        timeout_ms,
    } = delayed;
    let timeout = std::time::Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0));
    let deadline = tokio::time::Instant::now() + timeout;
    for (t, p, awaited) in awaited {
        if let Err(code) = delayed_produce::wait(awaited, deadline).await {
            if let Some(partition) = response
                .responses
                .get_mut(t)
                .and_then(|topic| topic.partition_responses.get_mut(p))
            {
                partition.error_code = code.code();
                partition.error_message =
                    Some(format!("not replicated to the ISR: {}", code.name()));
            }
        }
    }
    response
}

pub fn handle(broker: &Broker, request: ProduceRequest) -> Reply {
    // 0 (none), 1 (leader), -1 (all in-sync replicas) are the only valid values.
    if !matches!(request.acks, -1..=1) {
        return Reply::Respond(reject_all(request, ErrorCode::InvalidRequiredAcks));
    }
    let mut appended = false;
    let mut awaited = Vec::new();
    let responses: Vec<TopicProduceResponse> = request
        .topic_data
        .into_iter()
        .enumerate()
        .map(|(t, topic)| TopicProduceResponse {
            partition_responses: topic
                .partition_data
                .into_iter()
                .enumerate()
                .map(|(p, data)| {
                    let result = append(
                        broker,
                        &topic.name,
                        data.index,
                        request.acks,
                        data.records.as_deref(),
                    );
                    appended |= result.is_ok();
                    let (response, wait) = respond(data.index, result);
                    if let Some(wait) = wait.filter(|_| request.acks == -1) {
                        awaited.push((t, p, wait));
                    }
                    response
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
    let response = ProduceResponse {
        responses,
        ..Default::default()
    };
    match (request.acks, failed) {
        (0, false) => Reply::Silent,
        (0, true) => Reply::Close,
        _ if !awaited.is_empty() => Reply::Delayed(Delayed {
            response,
            awaited,
            timeout_ms: request.timeout_ms,
        }),
        _ => Reply::Respond(response),
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

/// What became of one partition's record set: how it was appended, the log start offset, and
/// what an acks=all answer waits for.
type Outcome = Result<(Appended, i64, Awaited), Refused>;

/// Why a partition's record set was not appended.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    #[error(transparent)]
    Leader(#[from] LeaderError),
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
    let exists = broker.metadata.partition(topic, partition).is_some();
    let leader = broker
        .replica_manager
        .leader(topic, partition, -1, exists)?;
    let leader_epoch = leader.leader_epoch();
    let log = &leader.log;
    if acks == -1 {
        let required = broker.min_insync_replicas(topic);
        let in_sync = i32::try_from(leader.isr_len()).unwrap_or(i32::MAX);
        if in_sync < required {
            return Err(Refused::NotEnoughReplicas { in_sync, required });
        }
    }
    let producers = broker
        .producers
        .partition(&TopicPartition::new(topic, partition), log);
    // The log rewrites offsets and the leader epoch in place, so it needs its own copy.
    let mut records = records.unwrap_or_default().to_vec();
    let appended = producers.append(log, &mut records, leader_epoch, now_ms())?;
    leader.appended_as_leader();
    if let Appended::New(info) = &appended {
        let messages = info.log_end_offset - info.base_offset;
        broker.counters.produced(topic, records.len(), messages);
    }
    let required = match appended {
        Appended::New(info) => info.log_end_offset,
        Appended::Duplicate(original) => original.last_offset + 1,
    };
    let awaited = Awaited {
        progress: leader.progress(),
        required,
        leader_epoch,
    };
    Ok((appended, log.log_start_offset(), awaited))
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

fn respond(index: i32, result: Outcome) -> (PartitionProduceResponse, Option<Awaited>) {
    match result {
        Ok((appended, log_start_offset, awaited)) => (
            PartitionProduceResponse {
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
            Some(awaited),
        ),
        Err(error) => {
            tracing::debug!(index, %error, "produce rejected");
            (
                PartitionProduceResponse {
                    index,
                    error_code: produce_error(&error).code(),
                    base_offset: -1,
                    record_errors: record_errors(&error),
                    error_message: Some(error.to_string()),
                    ..Default::default()
                },
                None,
            )
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
        Refused::Leader(error) => return error.code(),
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
