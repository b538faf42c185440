//! OffsetFetch: committed offsets of one group (v0-7) or several (v8); null topics means every
//! partition the group has committed. A partition without a commit gets offset -1, as in Kafka.
//! A group this broker does not coordinate (or is still loading) gets the coordinator's error:
//! per group from v8, for the request from v2, on each partition asked for before that.

use std::collections::BTreeMap;

use ferry_kafka_protocol::messages::offset_fetch::{
    OffsetFetchRequest, OffsetFetchRequestTopic, OffsetFetchResponse, OffsetFetchResponseGroup,
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::groups::OffsetValue;

pub async fn handle(
    broker: &Broker,
    request: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    if version >= 8 {
        let mut groups = Vec::with_capacity(request.groups.len());
        for g in request.groups {
            let (topics, error) = match fetch(broker, &g.group_id, g.topics.as_deref()).await {
                Ok(topics) => (topics, ErrorCode::None),
                Err(error) => (Vec::new(), error),
            };
            groups.push(OffsetFetchResponseGroup {
                topics,
                error_code: error.code(),
                group_id: g.group_id,
                ..Default::default()
            });
        }
        return OffsetFetchResponse {
            groups,
            ..Default::default()
        };
    }
    // v0-1 cannot say null: an empty list there means nothing asked.
    let asked = request.topics.as_deref();
    match fetch(broker, &request.group_id, asked).await {
        Ok(topics) => OffsetFetchResponse {
            topics,
            ..Default::default()
        },
        // v0-1 have no request-level error: each partition asked for carries it.
        Err(error) if version < 2 => OffsetFetchResponse {
            topics: refused(asked.unwrap_or_default(), error),
            ..Default::default()
        },
        Err(error) => OffsetFetchResponse {
            error_code: error.code(),
            ..Default::default()
        },
    }
}

async fn fetch(
    broker: &Broker,
    group_id: &str,
    topics: Option<&[OffsetFetchRequestTopic]>,
) -> Result<Vec<OffsetFetchResponseTopic>, ErrorCode> {
    let wanted: Option<Vec<(String, i32)>> = topics.map(|topics| {
        topics
            .iter()
            .flat_map(|t| t.partition_indexes.iter().map(|p| (t.name.clone(), *p)))
            .collect()
    });
    let found = broker
        .groups
        .fetch(broker, group_id, wanted.as_deref())
        .await?;
    let mut by_topic: BTreeMap<String, Vec<OffsetFetchResponsePartition>> = BTreeMap::new();
    for ((topic, partition), value) in found {
        by_topic
            .entry(topic)
            .or_default()
            .push(partition_answer(partition, value));
    }
    Ok(by_topic
        .into_iter()
        .map(|(name, partitions)| OffsetFetchResponseTopic {
            name,
            partitions,
            ..Default::default()
        })
        .collect())
}

/// Every partition asked for, with no offset and `error`.
fn refused(topics: &[OffsetFetchRequestTopic], error: ErrorCode) -> Vec<OffsetFetchResponseTopic> {
    topics
        .iter()
        .map(|t| OffsetFetchResponseTopic {
            name: t.name.clone(),
            partitions: t
                .partition_indexes
                .iter()
                .map(|p| OffsetFetchResponsePartition {
                    error_code: error.code(),
                    ..partition_answer(*p, None)
                })
                .collect(),
            ..Default::default()
        })
        .collect()
}

fn partition_answer(partition: i32, value: Option<OffsetValue>) -> OffsetFetchResponsePartition {
    match value {
        Some(v) => OffsetFetchResponsePartition {
            partition_index: partition,
            committed_offset: v.offset,
            committed_leader_epoch: v.leader_epoch,
            metadata: Some(v.metadata),
            ..Default::default()
        },
        None => OffsetFetchResponsePartition {
            partition_index: partition,
            committed_offset: -1,
            committed_leader_epoch: -1,
            metadata: Some(String::new()),
            ..Default::default()
        },
    }
}
