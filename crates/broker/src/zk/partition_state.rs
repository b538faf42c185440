//! Partition state, `/brokers/topics/<topic>/partitions/<p>/state`: the leader, the ISR, the
//! leader epoch and the controller epoch that wrote it.
//!
//! JSON, as Kafka 2.8 writes it:
//! `{"controller_epoch":1,"leader":0,"version":1,"leader_epoch":0,"isr":[0]}`. Every update
//! is conditional on the znode version read (Kafka's `LeaderAndIsr.zkVersion`).

use ferry_zkclient::{CreateOptions, Op, OpResult};
use serde::{Deserialize, Serialize};

use super::error::{Result, ZkError};
use super::{json, paths, ControllerEpoch, KafkaZk, Versioned};

/// What a partition's state znode holds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LeaderAndIsr {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub controller_epoch: i32,
}

#[derive(Serialize)]
struct StateOut<'a> {
    controller_epoch: i32,
    leader: i32,
    version: i32,
    leader_epoch: i32,
    isr: &'a [i32],
}

impl LeaderAndIsr {
    pub fn encode(&self, path: &str) -> Result<Vec<u8>> {
        let out = StateOut {
            controller_epoch: self.controller_epoch,
            leader: self.leader,
            version: 1,
            leader_epoch: self.leader_epoch,
            isr: &self.isr,
        };
        json::encode(path, &out)
    }

    pub fn decode(path: &str, data: Option<&[u8]>) -> Result<Self> {
        json::decode(path, data)
    }
}

impl KafkaZk {
    /// Creates a partition's state (and the `partitions/<p>` nodes above it), behind the
    /// controller's epoch fence when given. Returns the znode version (0).
    pub async fn create_partition_state(
        &self,
        topic: &str,
        partition: i32,
        state: &LeaderAndIsr,
        fence: Option<&ControllerEpoch>,
    ) -> Result<i32> {
        if !self.topic_exists(topic).await? {
            return Err(ZkError::UnknownTopic {
                topic: topic.to_string(),
                path: paths::topic(topic),
            });
        }
        for parent in [
            paths::topic_partitions(topic),
            paths::partition(topic, partition),
        ] {
            self.create_if_missing(&parent).await?;
        }
        let path = paths::partition_state(topic, partition);
        let data = state.encode(&path)?;
        let results = self
            .write_fenced(
                fence,
                vec![Op::create(&path, data, CreateOptions::persistent())],
            )
            .await?;
        Ok(match results.first() {
            Some(OpResult::Create {
                stat: Some(stat), ..
            }) => stat.version,
            _ => 0,
        })
    }

    /// A partition's state and its znode version.
    pub async fn get_partition_state(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Option<Versioned<LeaderAndIsr>>> {
        let path = paths::partition_state(topic, partition);
        self.get_versioned(&path, LeaderAndIsr::decode).await
    }

    /// Writes a partition's state if it is still at `expected_version` (behind the
    /// controller's epoch fence when given) and returns the new version. Someone else's change
    /// in between is [`ZkError::StaleVersion`].
    pub async fn update_partition_state(
        &self,
        topic: &str,
        partition: i32,
        state: &LeaderAndIsr,
        expected_version: i32,
        fence: Option<&ControllerEpoch>,
    ) -> Result<i32> {
        let path = paths::partition_state(topic, partition);
        let data = state.encode(&path)?;
        let results = self
            .write_fenced(
                fence,
                vec![Op::set_data(&path, data, Some(expected_version))],
            )
            .await?;
        match results.first() {
            Some(OpResult::SetData(stat)) => Ok(stat.version),
            _ => Ok(expected_version + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KAFKA_28: &str =
        r#"{"controller_epoch":1,"leader":0,"version":1,"leader_epoch":0,"isr":[0,1]}"#;

    #[test]
    fn json_is_kafkas() {
        let state = LeaderAndIsr::decode("/p", Some(KAFKA_28.as_bytes())).unwrap();
        assert_eq!(
            state,
            LeaderAndIsr {
                leader: 0,
                leader_epoch: 0,
                isr: vec![0, 1],
                controller_epoch: 1
            }
        );
        assert_eq!(state.encode("/p").unwrap(), KAFKA_28.as_bytes());
    }
}
