//! Partition reassignments through the controller (KIP-455): start or cancel them with
//! AlterPartitionReassignments, list those in progress with ListPartitionReassignments.

use std::collections::BTreeMap;

use ferry_kafka_protocol::messages::partition_reassignments::{
    ListPartitionReassignmentsTopics, ReassignablePartition, ReassignableTopic,
};
use ferry_kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, ListPartitionReassignmentsRequest,
};

use crate::client::Client;
use crate::error::{check, Result};

/// A partition, by topic and index.
pub type PartitionKey = (String, i32);

/// A reassignment in progress: the partition's replicas now, those being added and those to
/// be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OngoingReassignment {
    pub partition: PartitionKey,
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// A partition the controller refused to change: the error's name and its message.
pub type RefusedChange = (PartitionKey, String, String);

impl Client {
    /// Starts (`Some(target replicas)`) or cancels (`None`) each partition's reassignment; the
    /// partitions refused, with why.
    pub async fn alter_partition_reassignments(
        &self,
        changes: &[(PartitionKey, Option<Vec<i32>>)],
    ) -> Result<Vec<RefusedChange>> {
        let mut topics: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
        for ((topic, partition), replicas) in changes {
            topics
                .entry(topic)
                .or_default()
                .push(ReassignablePartition {
                    partition_index: *partition,
                    replicas: replicas.clone(),
                    ..Default::default()
                });
        }
        let request = AlterPartitionReassignmentsRequest {
            topics: topics
                .into_iter()
                .map(|(name, partitions)| ReassignableTopic {
                    name: name.to_string(),
                    partitions,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let response = self.controller().await?.call(request).await?;
        check(
            response.error_code,
            "altering partition reassignments",
            response.error_message.as_deref(),
        )?;
        let mut refused = Vec::new();
        for topic in response.responses {
            for p in topic.partitions {
                let context = format!("{}-{}", topic.name, p.partition_index);
                if let Err(error) = check(p.error_code, context, p.error_message.as_deref()) {
                    let name = error.code().map_or("UNKNOWN", |c| c.name()).to_string();
                    let message = p.error_message.unwrap_or_else(|| name.clone());
                    refused.push(((topic.name.clone(), p.partition_index), name, message));
                }
            }
        }
        Ok(refused)
    }

    /// The reassignments in progress, among `partitions` (`None`: all of them).
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<&[PartitionKey]>,
    ) -> Result<Vec<OngoingReassignment>> {
        let topics = partitions.map(|partitions| {
            let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for (topic, partition) in partitions {
                topics.entry(topic).or_default().push(*partition);
            }
            topics
                .into_iter()
                .map(
                    |(name, partition_indexes)| ListPartitionReassignmentsTopics {
                        name: name.to_string(),
                        partition_indexes,
                        ..Default::default()
                    },
                )
                .collect()
        });
        let request = ListPartitionReassignmentsRequest {
            topics,
            ..Default::default()
        };
        let response = self.controller().await?.call(request).await?;
        check(
            response.error_code,
            "listing partition reassignments",
            response.error_message.as_deref(),
        )?;
        Ok(response
            .topics
            .into_iter()
            .flat_map(|t| {
                let topic = t.name;
                t.partitions.into_iter().map(move |p| OngoingReassignment {
                    partition: (topic.clone(), p.partition_index),
                    replicas: p.replicas,
                    adding: p.adding_replicas,
                    removing: p.removing_replicas,
                })
            })
            .collect())
    }
}
