//! Consumer-group admin and offsets: coordinator lookup, list/describe/delete groups,
//! committed offsets (fetch and commit).

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_kafka_protocol::messages::offset_commit::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use ferry_kafka_protocol::messages::offset_fetch::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic,
};
use ferry_kafka_protocol::messages::*;
use ferry_kafka_protocol::{ApiKey, ErrorCode};

use crate::client::Client;
use crate::connection::Connection;
use crate::error::{check, ClientError, Result};

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
}

/// Committed offsets: (topic, partition) -> offset (-1: none).
pub type Offsets = BTreeMap<(String, i32), i64>;

/// How many times a coordinator lookup is retried while the coordinator is loading.
const COORDINATOR_ATTEMPTS: usize = 20;

impl Client {
    /// The connection to `group`'s coordinator.
    pub async fn coordinator(&self, group: &str) -> Result<Connection> {
        let conn = self.any();
        let version = conn.version(ApiKey::FindCoordinator)?;
        let mut last = None;
        for _ in 0..COORDINATOR_ATTEMPTS {
            let mut request = FindCoordinatorRequest::default();
            if version >= 4 {
                request.coordinator_keys = vec![group.to_string()];
            } else {
                request.key = group.to_string();
            }
            let response = conn.send_at(request, version)?.wait().await?;
            let (code, message, node) = match response.coordinators.first() {
                Some(c) if version >= 4 => (c.error_code, c.error_message.clone(), c.node_id),
                _ => (
                    response.error_code,
                    response.error_message.clone(),
                    response.node_id,
                ),
            };
            match check(
                code,
                format!("finding the coordinator of group {group}"),
                message.as_deref(),
            ) {
                Ok(()) => return self.broker(node).await,
                Err(e)
                    if matches!(
                        e.code(),
                        Some(
                            ErrorCode::CoordinatorNotAvailable
                                | ErrorCode::CoordinatorLoadInProgress
                        )
                    ) =>
                {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Invalid("no coordinator".into())))
    }

    /// Every group on every broker.
    pub async fn list_groups(&self) -> Result<Vec<ListedGroup>> {
        let cluster = self.metadata(Some(&[]), false).await?;
        let mut out = Vec::new();
        for broker in &cluster.brokers {
            let conn = self.broker(broker.node_id).await?;
            let response = conn.call(ListGroupsRequest::default()).await?;
            check(
                response.error_code,
                format!("listing groups on broker {}", broker.node_id),
                None,
            )?;
            out.extend(response.groups.into_iter().map(|g| ListedGroup {
                group_id: g.group_id,
                protocol_type: g.protocol_type,
            }));
        }
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out.dedup();
        Ok(out)
    }

    /// One group's state and members.
    pub async fn describe_group(&self, group: &str) -> Result<describe_groups::DescribedGroup> {
        let conn = self.coordinator(group).await?;
        let response = conn
            .call(DescribeGroupsRequest {
                groups: vec![group.to_string()],
                ..Default::default()
            })
            .await?;
        let described = response.groups.into_iter().next().ok_or_else(|| {
            ClientError::UnexpectedResponse("DescribeGroups without a group".into())
        })?;
        check(
            described.error_code,
            format!("describing group {group}"),
            None,
        )?;
        Ok(described)
    }

    /// Deletes groups (they must be empty).
    pub async fn delete_group(&self, group: &str) -> Result<()> {
        let conn = self.coordinator(group).await?;
        let response = conn
            .call(DeleteGroupsRequest {
                groups_names: vec![group.to_string()],
                ..Default::default()
            })
            .await?;
        for r in &response.results {
            check(r.error_code, format!("deleting group {}", r.group_id), None)?;
        }
        Ok(())
    }

    /// The group's committed offsets (all its partitions).
    pub async fn committed_offsets(&self, group: &str) -> Result<Offsets> {
        let conn = self.coordinator(group).await?;
        fetch_offsets(&conn, group, None).await
    }

    /// Commits `offsets` for `group`, outside any generation (as the admin tools do; the group
    /// must have no active members) unless `generation`/`member` are given.
    pub async fn commit_offsets(
        &self,
        group: &str,
        offsets: &Offsets,
        generation: i32,
        member: &str,
    ) -> Result<()> {
        let conn = self.coordinator(group).await?;
        commit_offsets(&conn, group, offsets, generation, member).await
    }
}

/// OffsetFetch on the coordinator's connection; `topics` `None` asks for every partition.
pub async fn fetch_offsets(
    conn: &Connection,
    group: &str,
    topics: Option<&BTreeMap<String, Vec<i32>>>,
) -> Result<Offsets> {
    let version = conn.version(ApiKey::OffsetFetch)?;
    let topics = topics.map(|t| {
        t.iter()
            .map(|(name, partitions)| OffsetFetchRequestTopic {
                name: name.clone(),
                partition_indexes: partitions.clone(),
                ..Default::default()
            })
            .collect::<Vec<_>>()
    });
    let mut request = OffsetFetchRequest::default();
    if version >= 8 {
        request.groups = vec![OffsetFetchRequestGroup {
            group_id: group.to_string(),
            topics,
            ..Default::default()
        }];
    } else {
        request.group_id = group.to_string();
        request.topics = topics;
    }
    let response = conn.send_at(request, version)?.wait().await?;
    let context = format!("fetching offsets of group {group}");
    let topics = if version >= 8 {
        let g =
            response.groups.into_iter().next().ok_or_else(|| {
                ClientError::UnexpectedResponse("OffsetFetch without a group".into())
            })?;
        check(g.error_code, &context, None)?;
        g.topics
    } else {
        check(response.error_code, &context, None)?;
        response.topics
    };
    let mut out = Offsets::new();
    for t in topics {
        for p in t.partitions {
            check(
                p.error_code,
                format!("{context}, {}-{}", t.name, p.partition_index),
                None,
            )?;
            out.insert((t.name.clone(), p.partition_index), p.committed_offset);
        }
    }
    Ok(out)
}

/// OffsetCommit on the coordinator's connection.
pub async fn commit_offsets(
    conn: &Connection,
    group: &str,
    offsets: &Offsets,
    generation: i32,
    member: &str,
) -> Result<()> {
    let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for ((topic, partition), offset) in offsets {
        topics
            .entry(topic)
            .or_default()
            .push(OffsetCommitRequestPartition {
                partition_index: *partition,
                committed_offset: *offset,
                committed_metadata: Some(String::new()),
                ..Default::default()
            });
    }
    let request = OffsetCommitRequest {
        group_id: group.to_string(),
        generation_id_or_member_epoch: generation,
        member_id: member.to_string(),
        topics: topics
            .into_iter()
            .map(|(name, partitions)| OffsetCommitRequestTopic {
                name: name.to_string(),
                partitions,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let response = conn.call(request).await?;
    for t in &response.topics {
        for p in &t.partitions {
            check(
                p.error_code,
                format!(
                    "committing the offset of {}-{} for group {group}",
                    t.name, p.partition_index
                ),
                None,
            )?;
        }
    }
    Ok(())
}
