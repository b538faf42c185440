//! The message browser: one partition's records from an offset, from a time (ListOffsets by
//! timestamp, as a consumer seeking by time), or the latest ones, read with Fetch from the
//! partition's leader like any consumer (so only records below the high watermark).

use base64::Engine;
use bytes::Bytes;
use ferry_kafka_client::{fetch, Client, ConsumerRecord, TopicInfo, EARLIEST, LATEST};
use ferry_net::http::Request;
use serde_json::{json, Value};

use crate::api::{number_param, required_param, ApiError, ApiResult};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;
const FETCH_MAX_BYTES: i32 = 1 << 20;
/// Fetches per request: a limit of 500 large records needs several.
const MAX_FETCHES: usize = 16;

/// GET /messages?topic=&partition=[&offset=|&timestamp=][&limit=].
pub async fn browse(kafka: &Client, request: &Request) -> ApiResult {
    let topic_name = required_param(&request.query, "topic")?;
    let partition = number_param::<i32>(&request.query, "partition")?.unwrap_or(0);
    let limit = number_param::<i64>(&request.query, "limit")?
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, MAX_LIMIT);
    let topic = kafka.topic(&topic_name, false).await?;
    if !topic.partitions.iter().any(|p| p.partition == partition) {
        return Err(
            ApiError::not_found(format!("{topic_name} has no partition {partition}"))
                .with_code("UNKNOWN_TOPIC_OR_PARTITION"),
        );
    }
    let start = offset_at(kafka, &topic, partition, EARLIEST).await?;
    let end = offset_at(kafka, &topic, partition, LATEST).await?;
    let from = match (
        number_param::<i64>(&request.query, "offset")?,
        number_param::<i64>(&request.query, "timestamp")?,
    ) {
        (Some(offset), _) => offset.clamp(start, end),
        (None, Some(timestamp)) => {
            // -1: no record at or after that time, so nothing to show.
            match offset_at(kafka, &topic, partition, timestamp.max(0)).await? {
                -1 => end,
                offset => offset,
            }
        }
        (None, None) => (end - limit).max(start),
    };
    let leader = kafka.leader(&topic, partition).await?;
    let mut messages = Vec::new();
    let mut offset = from;
    for _ in 0..MAX_FETCHES {
        if offset >= end || messages.len() as i64 >= limit {
            break;
        }
        let result = fetch(&leader, &topic_name, partition, offset, 0, FETCH_MAX_BYTES).await?;
        if result.next_offset <= offset {
            break;
        }
        offset = result.next_offset;
        let room = (limit as usize).saturating_sub(messages.len());
        messages.extend(
            result
                .records
                .iter()
                .filter(|r| r.offset < end)
                .take(room)
                .map(record_json),
        );
    }
    Ok(json!({
        "topic": topic_name, "partition": partition, "start_offset": start,
        "end_offset": end, "from": from, "messages": messages,
    }))
}

/// ListOffsets for one partition.
async fn offset_at(kafka: &Client, topic: &TopicInfo, partition: i32, at: i64) -> ApiResult<i64> {
    kafka
        .list_offsets(topic, &[partition], at)
        .await?
        .get(&partition)
        .copied()
        .ok_or_else(|| {
            ApiError::upstream(format!(
                "ListOffsets did not answer for partition {partition}"
            ))
        })
}

fn record_json(record: &ConsumerRecord) -> Value {
    let headers: Vec<Value> = record
        .headers
        .iter()
        .map(|(k, v)| json!({ "key": String::from_utf8_lossy(k), "value": text(v.as_ref()) }))
        .collect();
    json!({
        "offset": record.offset,
        "timestamp": record.timestamp,
        "key": text(record.key.as_ref()),
        "value": text(record.value.as_ref()),
        "key_base64": encoded(record.key.as_ref()),
        "value_base64": encoded(record.value.as_ref()),
        "headers": headers,
    })
}

fn text(bytes: Option<&Bytes>) -> Value {
    bytes.map_or(Value::Null, |b| {
        String::from_utf8_lossy(b).into_owned().into()
    })
}

fn encoded(bytes: Option<&Bytes>) -> Value {
    bytes.map_or(Value::Null, |b| {
        base64::engine::general_purpose::STANDARD.encode(b).into()
    })
}
