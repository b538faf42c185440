//! ListOffsets: a partition's earliest or latest offset, or the first at a timestamp.

use std::collections::BTreeMap;

use ferry_kafka_protocol::messages::list_offsets::{ListOffsetsPartition, ListOffsetsTopic};
use ferry_kafka_protocol::messages::ListOffsetsRequest;

use crate::client::{Client, TopicInfo};
use crate::error::{check, Result};

/// Kafka's special timestamps for ListOffsets.
pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;

impl Client {
    /// The offset at `timestamp` ([`EARLIEST`], [`LATEST`] or ms) of each partition of `topic`
    /// listed in `partitions`, asking each leader.
    pub async fn list_offsets(
        &self,
        topic: &TopicInfo,
        partitions: &[i32],
        timestamp: i64,
    ) -> Result<BTreeMap<i32, i64>> {
        let mut out = BTreeMap::new();
        for &partition in partitions {
            let leader = self.leader(topic, partition).await?;
            let request = ListOffsetsRequest {
                replica_id: -1,
                topics: vec![ListOffsetsTopic {
                    name: topic.name.clone(),
                    partitions: vec![ListOffsetsPartition {
                        partition_index: partition,
                        timestamp,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            };
            let response = leader.call(request).await?;
            for p in response.topics.iter().flat_map(|t| &t.partitions) {
                check(
                    p.error_code,
                    format!("listing offsets of {}-{}", topic.name, p.partition_index),
                    None,
                )?;
                let offset = if p.old_style_offsets.is_empty() {
                    p.offset
                } else {
                    p.old_style_offsets[0]
                };
                out.insert(p.partition_index, offset);
            }
        }
        Ok(out)
    }

    /// Earliest and latest offsets of every partition of `topic`.
    pub async fn offset_range(&self, topic: &TopicInfo) -> Result<BTreeMap<i32, (i64, i64)>> {
        let all: Vec<i32> = topic.partitions.iter().map(|p| p.partition).collect();
        let earliest = self.list_offsets(topic, &all, EARLIEST).await?;
        let latest = self.list_offsets(topic, &all, LATEST).await?;
        Ok(earliest
            .into_iter()
            .map(|(p, e)| (p, (e, latest.get(&p).copied().unwrap_or(e))))
            .collect())
    }
}
