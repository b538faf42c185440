//! ListOffsets: earliest (-2), latest (-1) or the first offset at or after a timestamp.
//!
//! Latest is the high watermark, which on one broker is the log end offset. A timestamp later
//! than every record answers offset -1 and timestamp -1, as Kafka does. Version 0 answers
//! through `old_style_offsets`.

use ferry_kafka_protocol::messages::list_offsets::{
    ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopicResponse,
};

use super::error_code;
use crate::broker::Broker;
use crate::replicas::ReplicaError;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

pub fn handle(broker: &Broker, request: ListOffsetsRequest, version: i16) -> ListOffsetsResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| ListOffsetsTopicResponse {
            partitions: topic
                .partitions
                .iter()
                .map(|p| {
                    let found = lookup(broker, &topic.name, p.partition_index, p.timestamp);
                    respond(p.partition_index, found, version)
                })
                .collect(),
            name: topic.name,
            ..Default::default()
        })
        .collect();
    ListOffsetsResponse {
        topics,
        ..Default::default()
    }
}

/// `(timestamp, offset)` for the query.
fn lookup(
    broker: &Broker,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> Result<(i64, i64), ReplicaError> {
    let exists = broker.metadata.partition(topic, partition).is_some();
    let leader = broker
        .replica_manager
        .leader(topic, partition, -1, exists)?;
    let log = &leader.log;
    Ok(match timestamp {
        // What a consumer can read: up to the high watermark.
        LATEST => (-1, leader.high_watermark()),
        EARLIEST => (-1, log.log_start_offset()),
        ts => match log.offset_for_timestamp(ts)? {
            Some(found) => (found.timestamp, found.offset),
            None => (-1, -1),
        },
    })
}

fn respond(
    partition_index: i32,
    found: Result<(i64, i64), ReplicaError>,
    version: i16,
) -> ListOffsetsPartitionResponse {
    match found {
        Ok((timestamp, offset)) => ListOffsetsPartitionResponse {
            partition_index,
            old_style_offsets: if version == 0 && offset >= 0 {
                vec![offset]
            } else {
                Vec::new()
            },
            timestamp,
            offset,
            leader_epoch: 0,
            ..Default::default()
        },
        Err(error) => ListOffsetsPartitionResponse {
            partition_index,
            error_code: error_code(&error).code(),
            ..Default::default()
        },
    }
}
