//! Fetch: read each partition from its leader's log, long-polling until `min_bytes` are there
//! or `max_wait_ms` passes.
//!
//! Consumers (replica id -1) read up to the high watermark only, so they never see a record
//! a leader change could take back. Followers (replica id = their broker id) read up to the
//! log end; their fetch offset tells the leader how far they have replicated, which moves the
//! high watermark and may bring them back into the ISR (`crate::replica`). Both name the
//! leader epoch they believe in (v9+): a stale one is FENCED_LEADER_EPOCH, a newer one
//! UNKNOWN_LEADER_EPOCH, and a broker that does not lead the partition answers
//! NOT_LEADER_OR_FOLLOWER. Fetch sessions (KIP-227) are
//! declined by answering with session id 0, which tells the client to send full fetch
//! requests; that is always correct. Limits: `partition_max_bytes` per partition and
//! `max_bytes` over the response, except that the first non-empty partition returns at least
//! one whole batch (as in Kafka) so that a batch larger than the limits still makes progress.
//!
//! A follower that keeps up asks for what was appended since its last fetch: when that is
//! within its limits (and not tiny), the answer carries it as a slice of the segment file,
//! which the connection sends with `sendfile` (Kafka's zero-copy transfer), so replicating a
//! record costs the leader no copy of it. Reads that must be cut to the limits, and consumers'
//! reads (cut at the high watermark), are copied.

use std::sync::Arc;
use std::time::Duration;

use ferry_kafka_protocol::messages::fetch::{
    FetchPartitionData, FetchRequest, FetchResponse, FetchableTopicResponse,
};
use ferry_kafka_protocol::{FileSlice, Records};

use super::{error_code, offload, HandleError};
use crate::broker::Broker;
use crate::replica::partition::{IsrChange, Partition};

/// The least a follower's read is sent as a file slice: a slice takes three writes (the fields
/// before it, the `sendfile`, the fields after it) where a copied read takes one, which only
/// pays off for larger reads.
const FILE_SLICE_MIN: usize = 32 << 10;

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
        let read = read_offloaded(broker, &request).await?;
        let bytes = read.bytes;
        let enough = bytes >= usize::try_from(request.min_bytes).unwrap_or(0) && bytes > 0;
        // As in Kafka, a partition error is answered at once: waiting would not fix it.
        let failed = read
            .responses
            .iter()
            .flat_map(|t| &t.partitions)
            .any(|p| p.error_code != 0);
        let now = tokio::time::Instant::now();
        if enough || failed || request.min_bytes <= 0 || now >= deadline {
            return Ok(answer(broker, &request, read));
        }
        if tokio::time::timeout_at(deadline, appended).await.is_err() {
            // Timed out: one last read, as the deadline may have passed just as data came.
            let read = read_offloaded(broker, &request).await?;
            return Ok(answer(broker, &request, read));
        }
    }
}

/// The response to a fetch from what it read, counted in the traffic metrics (to a follower
/// or a consumer) as Kafka counts BytesOutPerSec when it builds the response.
fn answer(broker: &Broker, request: &FetchRequest, read: Read) -> FetchResponse {
    let replication = request.replica_id >= 0;
    for (topic, bytes) in read.sent.iter().filter(|(_, n)| *n > 0) {
        broker.counters.fetched(topic, *bytes, replication);
    }
    FetchResponse {
        session_id: 0,
        responses: read.responses,
        ..Default::default()
    }
}

/// [`read_all`], on the blocking pool unless every log is open (see `offload`).
async fn read_offloaded(
    broker: &Arc<Broker>,
    request: &Arc<FetchRequest>,
) -> Result<Read, HandleError> {
    let quick = offload::fetch_is_quick(broker, request);
    let request = Arc::clone(request);
    let mut read = offload::run(broker, quick, move |b| read_all(b, &request)).await?;
    if read.high_watermark_moved {
        broker.replicas.notify_appended();
    }
    for (partition, change) in std::mem::take(&mut read.isr_changes) {
        crate::replica::isr::spawn_write(broker, partition, change);
    }
    Ok(read)
}

/// What one pass over the requested partitions read, and what a follower's progress changed.
#[derive(Default)]
struct Read {
    responses: Vec<FetchableTopicResponse>,
    bytes: usize,
    /// Bytes read per topic (for the traffic counters, once answered).
    sent: Vec<(String, usize)>,
    high_watermark_moved: bool,
    isr_changes: Vec<(Arc<Partition>, IsrChange)>,
}

/// Reads every requested partition.
fn read_all(broker: &Broker, request: &FetchRequest) -> Read {
    let mut out = Read::default();
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
                        Asked {
                            replica_id: request.replica_id,
                            topic: &topic.topic,
                            partition: p.partition,
                            leader_epoch: p.current_leader_epoch,
                            offset: p.fetch_offset,
                        },
                        limit,
                        total == 0,
                        &mut out,
                    );
                    let n = data.records.as_ref().map_or(0, |r| r.len());
                    out.sent.push((topic.topic.clone(), n));
                    budget = budget.saturating_sub(n);
                    total += n;
                    data
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    out.responses = responses;
    out.bytes = total;
    out
}

/// One partition of a fetch.
struct Asked<'a> {
    replica_id: i32,
    topic: &'a str,
    partition: i32,
    leader_epoch: i32,
    offset: i64,
}

fn read_one(
    broker: &Broker,
    asked: Asked<'_>,
    limit: usize,
    first: bool,
    out: &mut Read,
) -> FetchPartitionData {
    let partition = asked.partition;
    let exists = broker.metadata.partition(asked.topic, partition).is_some();
    let leader =
        match broker
            .replica_manager
            .leader(asked.topic, partition, asked.leader_epoch, exists)
        {
            Ok(leader) => leader,
            Err(error) => {
                return FetchPartitionData {
                    partition_index: partition,
                    error_code: error.code().code(),
                    high_watermark: -1,
                    records: Some(Default::default()),
                    ..Default::default()
                }
            }
        };
    // A follower's fetch offset is how far it has replicated: recorded before reading, so the
    // high watermark in this answer already counts it.
    let max_offset = if asked.replica_id >= 0 {
        match leader.follower_fetched(asked.replica_id, asked.offset, crate::replica::now_ms()) {
            Ok(fetched) => {
                out.high_watermark_moved |= fetched.high_watermark_moved;
                if let Some(change) = fetched.isr_change {
                    out.isr_changes.push((leader.clone(), change));
                }
            }
            Err(error) => tracing::debug!(replica = asked.replica_id, %error, "follower fetch"),
        }
        None
    } else {
        Some(leader.high_watermark())
    };
    let log = &leader.log;
    let hw = leader.high_watermark();
    let result = (|| {
        // The log returns at least one batch whatever the limit; only the first partition
        // with data is entitled to overshoot.
        if limit == 0 && !first {
            return Ok((Records::default(), log.log_start_offset(), hw));
        }
        // A follower keeping up gets what was appended since its last fetch straight from
        // the segment file (sendfile); anything to cut to the limits is read and copied.
        if max_offset.is_none() {
            if let Some(slice) = log.read_file_slice(asked.offset, FILE_SLICE_MIN, limit)? {
                let records = Records::File(FileSlice {
                    file: slice.file,
                    position: slice.position,
                    len: slice.len,
                });
                return Ok((records, slice.log_start_offset, hw));
            }
        }
        let mut read = log.read(asked.offset, limit, max_offset)?;
        if !first && read.records.len() > limit {
            read.records.clear();
        }
        Ok((read.records.into(), read.log_start_offset, hw))
    })();
    match result {
        Ok((records, log_start_offset, high_watermark)) => FetchPartitionData {
            partition_index: partition,
            high_watermark,
            last_stable_offset: high_watermark,
            log_start_offset,
            records: Some(records),
            ..Default::default()
        },
        Err(error) => FetchPartitionData {
            partition_index: partition,
            error_code: error_code(&crate::replicas::ReplicaError::Log(error)).code(),
            high_watermark: -1,
            records: Some(Default::default()),
            ..Default::default()
        },
    }
}
