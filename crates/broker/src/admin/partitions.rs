//! Adding partitions: CreatePartitions writes the larger assignment to `/brokers/topics/<t>`
//! and the new partitions' state; and every served topic's assignment znode is followed (a
//! data watch), so partitions added by someone else (a tool rewriting the znode) are served
//! too, their state znodes created by the controller when missing.

use std::collections::BTreeMap;
use std::sync::Weak;

use crate::broker::Broker;
use crate::zk::{KafkaZk, TopicAssignment, ZkError};

use super::follow::follow;
use super::lock;

/// How many times CreatePartitions is retried when the assignment changed under it.
const WRITE_ATTEMPTS: usize = 5;

/// Why CreatePartitions failed for one topic.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PartitionsError {
    #[error("Topic {0} does not exist")]
    UnknownTopic(String),
    #[error("The topic {0} is queued for deletion.")]
    MarkedForDeletion(String),
    #[error("{0}")]
    InvalidPartitions(String),
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    #[error("{0}")]
    InvalidReplicationFactor(String),
    #[error("ZooKeeper")]
    Zk(#[source] ZkError),
    #[error("the assignment of {0} kept changing; try again")]
    Contended(String),
}

impl From<ZkError> for PartitionsError {
    fn from(error: ZkError) -> Self {
        match error {
            ZkError::InvalidPartitions { message, .. } => {
                PartitionsError::InvalidPartitions(message)
            }
            ZkError::InvalidReplicaAssignment { message, .. } => {
                PartitionsError::InvalidReplicaAssignment(message)
            }
            ZkError::UnknownTopic { topic, .. } => PartitionsError::UnknownTopic(topic),
            ZkError::TooLarge { .. } => PartitionsError::InvalidPartitions(error.to_string()),
            other => PartitionsError::Zk(other),
        }
    }
}

/// The new partitions' replicas for growing a topic from `existing` to `count` partitions
/// with replication factor `rf` over the `live` brokers; `assignments` (one replica list per
/// new partition) when the client gave them.
pub(crate) fn plan_new_partitions(
    existing: i32,
    count: i32,
    rf: usize,
    assignments: Option<&[Vec<i32>]>,
    live: &[crate::controller::assignment::RackedBroker],
) -> Result<BTreeMap<i32, Vec<i32>>, PartitionsError> {
    if count < existing {
        return Err(PartitionsError::InvalidPartitions(format!(
            "Topic currently has {existing} partitions, which is higher than the requested {count}."
        )));
    }
    if count == existing {
        return Err(PartitionsError::InvalidPartitions(format!(
            "Topic already has {existing} partitions."
        )));
    }
    let added = count - existing;
    let lists: Vec<Vec<i32>> = match assignments {
        Some(given) => {
            if usize::try_from(added).ok() != Some(given.len()) {
                return Err(PartitionsError::InvalidReplicaAssignment(format!(
                    "Increasing the number of partitions by {added} but {} assignments provided.",
                    given.len()
                )));
            }
            for list in given {
                let unknown: Vec<i32> = list
                    .iter()
                    .copied()
                    .filter(|b| !live.iter().any(|(id, _)| id == b))
                    .collect();
                if !unknown.is_empty() {
                    return Err(PartitionsError::InvalidReplicaAssignment(format!(
                        "Unknown broker(s) in replica assignment: {unknown:?}."
                    )));
                }
                if list.is_empty() {
                    return Err(PartitionsError::InvalidReplicaAssignment(
                        "Cannot have replication factor of 0 for a new partition.".to_string(),
                    ));
                }
            }
            given.to_vec()
        }
        None => {
            let rf = i32::try_from(rf).unwrap_or(i32::MAX);
            return crate::controller::assign_randomly(existing, added, rf, live)
                .map_err(|e| PartitionsError::InvalidReplicationFactor(e.to_string()));
        }
    };
    Ok((existing..count).zip(lists).collect())
}

impl Broker {
    /// CreatePartitions for one topic.
    pub(crate) async fn create_partitions(
        &self,
        topic: &str,
        count: i32,
        assignments: Option<&[Vec<i32>]>,
        validate_only: bool,
    ) -> Result<(), PartitionsError> {
        let max = self.config.max_partitions_per_topic;
        if count > max {
            return Err(PartitionsError::InvalidPartitions(format!(
                "{count} partitions requested, at most {max} per topic (ferry.max.partitions.per.topic)"
            )));
        }
        let zk = self.zk.get();
        let live = self.live_brokers_with_racks().await?;
        for _ in 0..WRITE_ATTEMPTS {
            let current = zk
                .get_topic_assignment(topic)
                .await?
                .ok_or_else(|| PartitionsError::UnknownTopic(topic.to_string()))?;
            if zk.is_marked_for_deletion(topic).await? {
                return Err(PartitionsError::MarkedForDeletion(topic.to_string()));
            }
            let existing = i32::try_from(current.value.partitions.len()).unwrap_or(i32::MAX);
            let rf = current
                .value
                .partitions
                .values()
                .next()
                .map_or(1, |a| a.replicas.len());
            let added = plan_new_partitions(existing, count, rf, assignments, &live)?;
            if validate_only {
                return Ok(());
            }
            match zk.add_partitions(topic, &current, &added).await {
                Ok(_) => {}
                Err(ZkError::StaleVersion { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
            self.replicas.add_topic(topic, count);
            tracing::info!(%topic, from = existing, to = count, "partitions added");
            // The controller elects the new partitions' leaders; answer once it has.
            let ready = crate::broker::TOPIC_READY_TIMEOUT;
            if !self.metadata.wait_for_leaders(topic, count, ready).await {
                tracing::warn!(%topic, "no leader published yet for every new partition");
            }
            return Ok(());
        }
        Err(PartitionsError::Contended(topic.to_string()))
    }

    /// Starts following the assignment znodes of the given topics not followed yet.
    pub(crate) fn follow_assignments<'a>(&self, topics: impl IntoIterator<Item = &'a String>) {
        let mut watched = lock(&self.admin.watched);
        for topic in topics {
            if watched.insert(topic.clone()) {
                tokio::spawn(follow_assignment(self.admin.me.clone(), topic.clone()));
            }
        }
    }

    /// A topic's assignment as read by its watch: more partitions than served are added.
    async fn on_assignment(
        &self,
        zk: &KafkaZk,
        topic: &str,
        assignment: &TopicAssignment,
    ) -> Result<(), ZkError> {
        let count = i32::try_from(assignment.partitions.len()).unwrap_or(i32::MAX);
        let Some(known) = self.replicas.partitions(topic) else {
            return Ok(());
        };
        if count <= known {
            return Ok(());
        }
        let _ = zk;
        self.replicas.add_topic(topic, count);
        tracing::info!(%topic, from = known, to = count, "partitions added in ZooKeeper");
        Ok(())
    }
}

/// Follows `/brokers/topics/<topic>` until the topic is gone.
async fn follow_assignment(broker: Weak<Broker>, topic: String) {
    let what = crate::zk::paths::topic(&topic);
    follow(broker, what, move |b| {
        let topic = topic.clone();
        async move {
            let zk = b.zk.get();
            let watch = zk.watch_topic_assignment(&topic).await?;
            match &watch.value {
                None => {
                    // Stop once the topic is not served; the check is made under the lock
                    // that `follow_assignments` inserts under (after serving the topic), so a
                    // topic re-created meanwhile is either still followed here or gets a new
                    // follower there.
                    let mut watched = lock(&b.admin.watched);
                    if b.replicas.partitions(&topic).is_some() {
                        return Ok(Some(watch));
                    }
                    watched.remove(&topic);
                    Ok(None)
                }
                Some(assignment) => {
                    b.on_assignment(&zk, &topic, &assignment.value).await?;
                    Ok(Some(watch))
                }
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_only_grow() {
        let e = plan_new_partitions(3, 2, 1, None, &[(0, None)]).unwrap_err();
        assert!(
            matches!(e, PartitionsError::InvalidPartitions(ref m) if m.contains("higher than"))
        );
        let e = plan_new_partitions(3, 3, 1, None, &[(0, None)]).unwrap_err();
        assert!(matches!(e, PartitionsError::InvalidPartitions(_)));
        assert_eq!(
            plan_new_partitions(1, 3, 1, None, &[(7, None)]).unwrap(),
            BTreeMap::from([(1, vec![7]), (2, vec![7])])
        );
    }

    #[test]
    fn explicit_assignments_must_name_live_brokers_once_per_new_partition() {
        let ok = [vec![5], vec![5]];
        assert_eq!(
            plan_new_partitions(1, 3, 1, Some(&ok), &[(5, None)])
                .unwrap()
                .len(),
            2
        );
        let other = [vec![6]];
        assert!(matches!(
            plan_new_partitions(1, 2, 1, Some(&other), &[(5, None)]),
            Err(PartitionsError::InvalidReplicaAssignment(_))
        ));
        assert!(matches!(
            plan_new_partitions(1, 3, 1, Some(&ok[..1]), &[(5, None)]),
            Err(PartitionsError::InvalidReplicaAssignment(_))
        ));
        assert!(matches!(
            plan_new_partitions(1, 2, 2, None, &[(5, None)]),
            Err(PartitionsError::InvalidReplicationFactor(_))
        ));
    }
}
