//! Fetch: read each partition from its log up to the high watermark, long-polling until
//! `min_bytes` are there or `max_wait_ms` passes.
//!
//! On one broker the high watermark is the log end offset. Fetch sessions (KIP-227) are
//! declined by answering with session id 0, which tells the client to send full fetch
//! requests; that is always correct. Limits: `partition_max_bytes` per partition and
//! `max_bytes` over the response, except that the first non-empty partition returns at least
//! one whole batch (as in Kafka) so that a batch larger than the limits still makes progress.

use std::sync::Arc;
use std::time::Duration;

use ferry_kafka_protocol::messages::fetch::{
    FetchPartitionData, FetchRequest, FetchResponse, FetchableTopicResponse,
};

use super::{error_code, offload, HandleError};
use crate::broker::Broker;

/// The longest a fetch may wait, whatever it asks for: keeps a bogus max_wait_ms from pinning
/// a connection.
const MAX_WAIT: Duration = Duration::from_secs(30);

pub async fn handle(
    broker: &Arc<Broker>,
    request: FetchRequest,
) -> Result<FetchResponse, HandleError> {
    let wait = Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0)).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let request = Arc::new(request);
    loop {
        // Registered before reading, so an append between the read and the wait still wakes us.
        let appended = broker.replicas.appended().notified();
        tokio::pin!(appended);
        appended.as_mut().enable();
        let (responses, bytes) = read_offloaded(broker, &request).await?;
        let enough = bytes >= usize::try_from(request.min_bytes).unwrap_or(0) && bytes > 0;
        // As in Kafka, a partition error is answered at once: waiting would not fix it.
        let failed = responses
            .iter()
            .flat_map(|t| &t.partitions)
            .any(|p| p.error_code != 0);
        let now = tokio::time::Instant::now();
        if enough || failed || request.min_bytes <= 0 || now >= deadline {
            return Ok(FetchResponse {
                session_id: 0,
                responses,
                ..Default::default()
            });
        }
        if tokio::time::timeout_at(deadline, appended).await.is_err() {
            // Timed out: one last read, as the deadline may have passed just as data came.
            let (responses, _) = read_offloaded(broker, &request).await?;
            return Ok(FetchResponse {
                responses,
                ..Default::default()
            });
        }
    }
}

/// [`read_all`], on the blocking pool unless every log is open (see `offload`).
async fn read_offloaded(
    broker: &Arc<Broker>,
    request: &Arc<FetchRequest>,
) -> Result<(Vec<FetchableTopicResponse>, usize), HandleError> {
    let quick = offload::fetch_is_quick(broker, request);
    let request = Arc::clone(request);
    offload::run(broker, quick, move |b| read_all(b, &request)).await
}

/// Reads every requested partition; returns the responses and the record bytes they hold.
fn read_all(broker: &Broker, request: &FetchRequest) -> (Vec<FetchableTopicResponse>, usize) {
    let mut budget = usize::try_from(request.max_bytes).unwrap_or(0);
    let mut total = 0;
    let responses = request
        .topics
        .iter()
        .map(|topic| FetchableTopicResponse {
            topic: topic.topic.clone(),
            partitions: topic
                .partitions
                .iter()
                .map(|p| {
                    let limit = usize::try_from(p.partition_max_bytes)
                        .unwrap_or(0)
                        .min(budget);
                    let data = read_one(
                        broker,
                        &topic.topic,
                        p.partition,
                        p.fetch_offset,
                        limit,
                        total == 0,
                    );
                    let n = data.records.as_ref().map_or(0, |r| r.len());
                    budget = budget.saturating_sub(n);
                    total += n;
                    data
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    (responses, total)
}

fn read_one(
    broker: &Broker,
    topic: &str,
    partition: i32,
    offset: i64,
    limit: usize,
    first: bool,
) -> FetchPartitionData {
    let result = broker.replicas.log(topic, partition).and_then(|log| {
        let hw = log.log_end_offset();
        // The log returns at least one batch whatever the limit; only the first partition
        // with data is entitled to overshoot.
        if limit == 0 && !first {
            return Ok((Vec::new(), log.log_start_offset(), hw));
        }
        let mut read = log.read(offset, limit, Some(hw))?;
        if !first && read.records.len() > limit {
            read.records.clear();
        }
        Ok((read.records, read.log_start_offset, hw))
    });
    match result {
        Ok((records, log_start_offset, high_watermark)) => FetchPartitionData {
            partition_index: partition,
            high_watermark,
            last_stable_offset: high_watermark,
            log_start_offset,
            records: Some(records.into()),
            ..Default::default()
        },
        Err(error) => FetchPartitionData {
            partition_index: partition,
            error_code: error_code(&error).code(),
            high_watermark: -1,
            records: Some(Default::default()),
            ..Default::default()
        },
    }
}
