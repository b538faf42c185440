//! Producing: records into a v2 batch (ferry-log's builder), a Produce request per batch.

use bytes::Bytes;
use ferry_kafka_protocol::messages::produce::{PartitionProduceData, TopicProduceData};
use ferry_kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use ferry_log::{BatchBuilder, Compression};

use crate::connection::Connection;
use crate::error::{check, ClientError, Result};

/// A record to produce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub headers: Vec<(Bytes, Option<Bytes>)>,
}

/// Parses a `compression.type` value; `none` and `gzip` are what the builder can make.
pub fn parse_compression(name: &str) -> Result<Compression> {
    match name {
        "none" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        other => Err(ClientError::Invalid(format!(
            "compression.type {other} is not supported (none, gzip)"
        ))),
    }
}

/// One v2 batch of `records`.
pub fn build_batch(records: &[ProducerRecord], compression: Compression) -> Bytes {
    let base = records.first().map_or(0, |r| r.timestamp);
    let mut builder = BatchBuilder::new(base).compression(compression);
    for r in records {
        let headers: Vec<(&[u8], Option<&[u8]>)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_deref()))
            .collect();
        builder.append_with_headers(r.key.as_deref(), r.value.as_deref(), r.timestamp, &headers);
    }
    Bytes::from(builder.build())
}

/// A Produce request carrying one batch for one partition.
pub fn produce_request(
    topic: &str,
    partition: i32,
    batch: Bytes,
    acks: i16,
    timeout_ms: i32,
) -> ProduceRequest {
    ProduceRequest {
        acks,
        timeout_ms,
        topic_data: vec![TopicProduceData {
            name: topic.to_string(),
            partition_data: vec![PartitionProduceData {
                index: partition,
                records: Some(batch),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The base offset from a one-partition Produce response, or its error.
pub fn base_offset(response: &ProduceResponse, topic: &str, partition: i32) -> Result<i64> {
    let p = response
        .responses
        .iter()
        .filter(|t| t.name == topic)
        .flat_map(|t| &t.partition_responses)
        .find(|p| p.index == partition)
        .ok_or_else(|| {
            ClientError::UnexpectedResponse(format!("no result for {topic}-{partition}"))
        })?;
    check(
        p.error_code,
        format!("producing to {topic}-{partition}"),
        p.error_message.as_deref(),
    )?;
    Ok(p.base_offset)
}

/// Produces `records` as one batch to `partition` through its leader's connection; returns
/// the base offset (`None` with acks=0, which gets no answer).
pub async fn produce(
    leader: &Connection,
    topic: &str,
    partition: i32,
    records: &[ProducerRecord],
    acks: i16,
    compression: Compression,
) -> Result<Option<i64>> {
    let request = produce_request(
        topic,
        partition,
        build_batch(records, compression),
        acks,
        30_000,
    );
    if acks == 0 {
        leader.send_no_response(request)?;
        return Ok(None);
    }
    let response = leader.call(request).await?;
    base_offset(&response, topic, partition).map(Some)
}

/// The partition a keyed record goes to: murmur2 of the key as Kafka's default partitioner
/// (so keys land where the Java client would put them).
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    ((murmur2(key) & 0x7fff_ffff) % partitions.max(1) as u32) as i32
}

/// Kafka's `Utils.murmur2`.
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h = SEED ^ len as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        let cases: [(&[u8], i32); 3] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
        ];
        for (input, expected) in cases {
            assert_eq!(murmur2(input) as i32, expected, "{input:?}");
        }
    }

    #[test]
    fn batch_round_trips_through_the_log_parser() {
        let records = vec![
            ProducerRecord {
                key: Some(Bytes::from_static(b"k")),
                value: Some(Bytes::from_static(b"v1")),
                timestamp: 1_000,
                headers: vec![],
            },
            ProducerRecord {
                key: None,
                value: Some(Bytes::from_static(b"v2")),
                timestamp: 1_007,
                headers: vec![],
            },
        ];
        let batch = build_batch(&records, Compression::Gzip);
        let decoded = crate::fetch::decode_records(&batch, 0).expect("decodes");
        let values: Vec<_> = decoded.iter().map(|r| r.value.clone()).collect();
        assert_eq!(
            values,
            vec![records[0].value.clone(), records[1].value.clone()]
        );
        assert_eq!(decoded[1].timestamp, 1_007);
        assert_eq!(decoded[0].key.as_deref(), Some(&b"k"[..]));
    }
}
