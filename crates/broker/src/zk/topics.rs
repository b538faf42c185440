//! Topics: creating one (assignment and config in one `multi`), listing them, reading and
//! growing their assignment. The checks and messages are those of Kafka's `AdminZkClient`.

use std::collections::BTreeMap;

use ferry_zkclient::{CreateOptions, Op};

use super::error::{Result, ZkError};
use super::{
    collides, has_collision_chars, paths, validate_topic_name, ControllerEpoch, EntityConfig,
    KafkaZk, ReplicaAssignment, TopicAssignment, Versioned,
};

/// How many times topic creation is tried when a leftover config node changes under it.
const CREATE_ATTEMPTS: usize = 5;

impl KafkaZk {
    /// Creates a topic: `/brokers/topics/<topic>` with `assignment` and `/config/topics/<topic>`
    /// with `config`, atomically. Refuses (as Kafka) an invalid name, an invalid assignment, a
    /// topic that exists or is being deleted, and a name that collides with an existing one
    /// once `.` and `_` are taken as one. A config node left behind without its topic is
    /// overwritten, conditionally on the version read.
    pub async fn create_topic(
        &self,
        topic: &str,
        assignment: &TopicAssignment,
        config: &BTreeMap<String, String>,
    ) -> Result<()> {
        validate_topic_name(topic)?;
        validate_new_assignment(topic, assignment)?;
        self.check_topic_is_new(topic).await?;
        let topic_path = paths::topic(topic);
        let config_path = paths::topic_config(topic);
        let topic_data = assignment.encode(&topic_path)?;
        let config_data = EntityConfig::new(config.clone()).encode(&config_path)?;
        for _ in 0..CREATE_ATTEMPTS {
            let config_op = match self.get(&config_path).await? {
                None => Op::create(
                    &config_path,
                    config_data.clone(),
                    CreateOptions::persistent(),
                ),
                Some((_, stat)) => {
                    Op::set_data(&config_path, config_data.clone(), Some(stat.version))
                }
            };
            let ops = vec![
                Op::create(&topic_path, topic_data.clone(), CreateOptions::persistent()),
                config_op,
            ];
            match self.write_fenced(None, ops).await {
                Ok(_) => return Ok(()),
                Err(ZkError::NodeExists { path }) if path == topic_path => {
                    return Err(topic_exists(topic))
                }
                Err(ZkError::NodeExists { .. } | ZkError::StaleVersion { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(ZkError::StaleVersion {
            path: config_path,
            expected: -1,
        })
    }

    /// Kafka's `validateTopicCreate` checks against what exists.
    async fn check_topic_is_new(&self, topic: &str) -> Result<()> {
        if self.get(&paths::delete_topic(topic)).await?.is_some() {
            return Err(ZkError::TopicExists {
                topic: topic.to_string(),
                message: format!("Topic '{topic}' is marked for deletion."),
            });
        }
        if self.topic_exists(topic).await? {
            return Err(topic_exists(topic));
        }
        if has_collision_chars(topic) {
            let all = self.list_topics().await?;
            if all.iter().any(|t| t == topic) {
                return Err(topic_exists(topic));
            }
            let colliding: Vec<&str> = all
                .iter()
                .filter(|t| collides(topic, t))
                .map(String::as_str)
                .collect();
            if !colliding.is_empty() {
                return Err(ZkError::InvalidTopic {
                    topic: topic.to_string(),
                    message: format!(
                        "Topic '{topic}' collides with existing topics: {}",
                        colliding.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    pub async fn topic_exists(&self, topic: &str) -> Result<bool> {
        Ok(self.get(&paths::topic(topic)).await?.is_some())
    }

    /// Every topic, sorted.
    pub async fn list_topics(&self) -> Result<Vec<String>> {
        self.children(paths::BROKER_TOPICS).await
    }

    /// The topic's assignment, with the znode version to change it against.
    pub async fn get_topic_assignment(
        &self,
        topic: &str,
    ) -> Result<Option<Versioned<TopicAssignment>>> {
        self.get_versioned(&paths::topic(topic), TopicAssignment::decode)
            .await
    }

    /// Adds partitions to a topic: `added` are the new partitions (numbered on from the
    /// existing ones) and their replicas. The write is conditional on `current.zk_version`;
    /// returns the new assignment and version.
    pub async fn add_partitions(
        &self,
        topic: &str,
        current: &Versioned<TopicAssignment>,
        added: &BTreeMap<i32, Vec<i32>>,
    ) -> Result<Versioned<TopicAssignment>> {
        let existing = current.value.partitions.len();
        let invalid = |message: String| ZkError::InvalidPartitions {
            topic: topic.to_string(),
            message,
        };
        if added.is_empty() {
            return Err(invalid(format!(
                "Topic currently has {existing} partitions, {existing} would not be an increase."
            )));
        }
        let mut next = current.value.clone();
        let mut all = next.replicas();
        all.extend(added.iter().map(|(p, r)| (*p, r.clone())));
        validate_replicas(topic, &all)?;
        if all.len() != existing + added.len() {
            return Err(invalid(format!(
                "Partitions {:?} of topic {topic} already exist.",
                added.keys().collect::<Vec<_>>()
            )));
        }
        next.partitions = TopicAssignment::new(all).partitions;
        for (partition, assignment) in &current.value.partitions {
            next.partitions.insert(*partition, assignment.clone());
        }
        let path = paths::topic(topic);
        let data = next.encode(&path)?;
        let stat = self
            .client()
            .set_data(&path, data, Some(current.zk_version))
            .await
            .map_err(|error| match error.code() {
                ferry_zkclient::ErrorCode::BadVersion => ZkError::StaleVersion {
                    path: path.clone(),
                    expected: current.zk_version,
                },
                ferry_zkclient::ErrorCode::NoNode => ZkError::UnknownTopic {
                    topic: topic.to_string(),
                    path: path.clone(),
                },
                _ => ZkError::keeper(&path, error),
            })?;
        Ok(Versioned {
            value: next,
            zk_version: stat.version,
        })
    }

    /// The controller's write of one partition's replicas during a reassignment (with the
    /// replicas being added and removed, as Kafka 2.4+ records them), behind its fence.
    pub async fn set_partition_replicas(
        &self,
        topic: &str,
        partition: i32,
        replicas: ReplicaAssignment,
        fence: &ControllerEpoch,
    ) -> Result<()> {
        let current =
            self.get_topic_assignment(topic)
                .await?
                .ok_or_else(|| ZkError::UnknownTopic {
                    topic: topic.to_string(),
                    path: paths::topic(topic),
                })?;
        let mut next = current.value;
        next.partitions.insert(partition, replicas);
        let path = paths::topic(topic);
        let data = next.encode(&path)?;
        let op = Op::set_data(&path, data, Some(current.zk_version));
        self.write_fenced(Some(fence), vec![op]).await.map(drop)
    }
}

fn topic_exists(topic: &str) -> ZkError {
    ZkError::TopicExists {
        topic: topic.to_string(),
        message: format!("Topic '{topic}' already exists."),
    }
}

/// The assignment of a new topic: replicas as Kafka's `validateReplicaAssignment` wants them.
fn validate_new_assignment(topic: &str, assignment: &TopicAssignment) -> Result<()> {
    if assignment.partitions.is_empty() {
        return Err(ZkError::InvalidPartitions {
            topic: topic.to_string(),
            message: "Number of partitions must be larger than 0.".to_string(),
        });
    }
    validate_replicas(topic, &assignment.replicas())
}

/// Partitions numbered 0..n, each with the same number (> 0) of distinct replicas.
fn validate_replicas(topic: &str, replicas: &BTreeMap<i32, Vec<i32>>) -> Result<()> {
    let invalid = |message: String| ZkError::InvalidReplicaAssignment {
        topic: topic.to_string(),
        message,
    };
    let numbered = replicas.keys().copied().eq(0..replicas.len() as i32);
    if !numbered {
        return Err(ZkError::InvalidPartitions {
            topic: topic.to_string(),
            message: "partitions should be a consecutive 0-based integer sequence".to_string(),
        });
    }
    let factor = replicas.values().next().map_or(0, Vec::len);
    for (partition, list) in replicas {
        if list.is_empty() {
            return Err(invalid(format!(
                "Cannot have replication factor of 0 for partition id {partition}."
            )));
        }
        let mut sorted = list.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != list.len() {
            return Err(invalid(format!(
                "Duplicate brokers not allowed in replica assignment: {} for partition id {partition}.",
                join(list)
            )));
        }
        if list.len() != factor {
            return Err(invalid(format!(
                "Inconsistent replication factor between partitions, partition 0 has {factor} \
                 while partition {partition} has {}.",
                list.len()
            )));
        }
    }
    Ok(())
}

fn join(list: &[i32]) -> String {
    list.iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_are_checked_as_kafka_checks_them() {
        let ok = BTreeMap::from([(0, vec![1, 2]), (1, vec![2, 1])]);
        assert!(validate_replicas("t", &ok).is_ok());
        let gap = BTreeMap::from([(0, vec![1]), (2, vec![1])]);
        assert!(matches!(
            validate_replicas("t", &gap),
            Err(ZkError::InvalidPartitions { .. })
        ));
        let dup = BTreeMap::from([(0, vec![1, 1])]);
        assert!(validate_replicas("t", &dup)
            .unwrap_err()
            .to_string()
            .contains("Duplicate brokers"));
        let uneven = BTreeMap::from([(0, vec![1, 2]), (1, vec![1])]);
        assert!(validate_replicas("t", &uneven)
            .unwrap_err()
            .to_string()
            .contains("Inconsistent replication factor"));
        let empty = TopicAssignment::default();
        assert!(validate_new_assignment("t", &empty).is_err());
    }
}
