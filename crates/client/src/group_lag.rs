//! A group's position in each partition it consumes: committed offset, log end, lag, and the
//! member that owns the partition now (kafka-consumer-groups.sh --describe).

use std::collections::{BTreeMap, BTreeSet};

use ferry_kafka_protocol::messages::describe_groups::DescribedGroup;

use crate::client::Client;
use crate::consumer_protocol::decode_assignment;
use crate::error::Result;
use crate::offsets::LATEST;

/// The member that owns a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOwner {
    pub member_id: String,
    pub client_host: String,
    pub client_id: String,
}

/// One partition of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPartition {
    pub topic: String,
    pub partition: i32,
    /// None when the group has committed nothing here.
    pub committed: Option<i64>,
    /// None when the partition's log end could not be read (no leader).
    pub end: Option<i64>,
    pub owner: Option<PartitionOwner>,
}

impl GroupPartition {
    pub fn lag(&self) -> Option<i64> {
        Some((self.end? - self.committed?).max(0))
    }
}

impl Client {
    /// Every partition `group` has committed to or is assigned, sorted by topic and partition.
    pub async fn group_partitions(
        &self,
        group: &str,
        described: &DescribedGroup,
    ) -> Result<Vec<GroupPartition>> {
        let committed = self.committed_offsets(group).await?;
        let mut owners: BTreeMap<(String, i32), PartitionOwner> = BTreeMap::new();
        for m in &described.members {
            for (topic, partitions) in decode_assignment(&m.member_assignment).unwrap_or_default() {
                for p in partitions {
                    let owner = PartitionOwner {
                        member_id: m.member_id.clone(),
                        client_host: m.client_host.clone(),
                        client_id: m.client_id.clone(),
                    };
                    owners.insert((topic.clone(), p), owner);
                }
            }
        }
        let keys: BTreeSet<(String, i32)> =
            committed.keys().chain(owners.keys()).cloned().collect();
        let mut ends: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let topics: BTreeSet<&String> = keys.iter().map(|(t, _)| t).collect();
        for topic in topics {
            // A deleted topic keeps its committed offsets until they expire: no end for it.
            if let Ok(info) = self.topic(topic, false).await {
                let partitions: Vec<i32> = keys
                    .iter()
                    .filter(|(t, _)| t == topic)
                    .map(|(_, p)| *p)
                    .collect();
                for (p, o) in self.list_offsets(&info, &partitions, LATEST).await? {
                    ends.insert((topic.clone(), p), o);
                }
            }
        }
        Ok(keys
            .into_iter()
            .map(|key| GroupPartition {
                committed: committed.get(&key).copied().filter(|o| *o >= 0),
                end: ends.get(&key).copied(),
                owner: owners.get(&key).cloned(),
                topic: key.0,
                partition: key.1,
            })
            .collect())
    }
}
