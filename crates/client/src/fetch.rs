//! Fetching one partition and decoding the record batches it returns.

use bytes::Bytes;
use ferry_kafka_protocol::messages::fetch::{FetchPartition, FetchTopic};
use ferry_kafka_protocol::messages::FetchRequest;
use ferry_log::{decompressed_records, BatchIter, RecordIter};

use crate::connection::Connection;
use crate::error::{check, ClientError, Result};

/// A consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub offset: i64,
    pub timestamp: i64,
    /// True if the timestamp was set by the broker (LogAppendTime).
    pub log_append_time: bool,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(Bytes, Option<Bytes>)>,
}

/// What a fetch of one partition returned.
#[derive(Debug, Clone, Default)]
pub struct FetchResult {
    pub high_watermark: i64,
    pub log_start_offset: i64,
    pub records: Vec<ConsumerRecord>,
    /// Bytes of record batches received (for throughput figures).
    pub bytes: usize,
    /// Where the next fetch starts: after the last whole batch received.
    pub next_offset: i64,
}

/// Decodes the records of `data` (a record set) at or after `from`; control batches are
/// skipped. A trailing partial batch (the broker cuts at max bytes) is ignored.
pub fn decode_records(data: &[u8], from: i64) -> Result<Vec<ConsumerRecord>> {
    let mut out = Vec::new();
    for (header, batch) in BatchIter::new(data) {
        if header.is_control() || header.last_offset() < from {
            continue;
        }
        let records = decompressed_records(&header, batch)
            .map_err(|e| {
                ClientError::Invalid(format!("batch at offset {}: {e}", header.base_offset))
            })?
            .ok_or_else(|| {
                ClientError::Invalid(format!(
                    "batch at offset {} uses {:?} compression, which this client cannot read",
                    header.base_offset,
                    header.compression()
                ))
            })?;
        for record in RecordIter::new(&records, header.records_count) {
            let record = record.map_err(|e| {
                ClientError::Invalid(format!("batch at offset {}: {e}", header.base_offset))
            })?;
            let offset = header.base_offset + i64::from(record.offset_delta);
            if offset < from {
                continue;
            }
            let timestamp = if header.is_log_append_time() {
                header.max_timestamp
            } else {
                header.base_timestamp + record.timestamp_delta
            };
            out.push(ConsumerRecord {
                offset,
                timestamp,
                log_append_time: header.is_log_append_time(),
                key: record.key.map(Bytes::copy_from_slice),
                value: record.value.map(Bytes::copy_from_slice),
                headers: record
                    .headers()
                    .into_iter()
                    .map(|(k, v)| (Bytes::copy_from_slice(k), v.map(Bytes::copy_from_slice)))
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// The offset after the last whole batch in `data`, or `from` if there is none.
fn next_offset(data: &[u8], from: i64) -> i64 {
    BatchIter::new(data)
        .map(|(h, _)| h.next_offset())
        .fold(from, i64::max)
}

/// Fetches `topic`/`partition` from `offset` on its leader's connection, waiting up to
/// `max_wait_ms` for data.
pub async fn fetch(
    leader: &Connection,
    topic: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
    max_bytes: i32,
) -> Result<FetchResult> {
    let request = FetchRequest {
        replica_id: -1,
        max_wait_ms,
        min_bytes: 1,
        max_bytes,
        topics: vec![FetchTopic {
            topic: topic.to_string(),
            partitions: vec![FetchPartition {
                partition,
                fetch_offset: offset,
                partition_max_bytes: max_bytes,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let response = leader.call(request).await?;
    check(response.error_code, "fetch", None)?;
    let data = response
        .responses
        .into_iter()
        .filter(|t| t.topic == topic)
        .flat_map(|t| t.partitions)
        .find(|p| p.partition_index == partition)
        .ok_or_else(|| {
            ClientError::UnexpectedResponse(format!("no fetch result for {topic}-{partition}"))
        })?;
    check(
        data.error_code,
        format!("fetching {topic}-{partition} at offset {offset}"),
        None,
    )?;
    let bytes = data.record_bytes();
    Ok(FetchResult {
        high_watermark: data.high_watermark,
        log_start_offset: data.log_start_offset,
        records: decode_records(bytes, offset)?,
        bytes: bytes.len(),
        next_offset: next_offset(bytes, offset),
    })
}
