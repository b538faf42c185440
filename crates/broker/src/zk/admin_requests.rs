//! The operators' requests to the controller that Kafka 2.x keeps in ZooKeeper:
//!
//! - `/admin/preferred_replica_election`:
//!   `{"version":1,"partitions":[{"topic":"t","partition":0}]}` (kafka-preferred-replica-
//!   election.sh, or `ferry leader-election`); the controller moves each partition's
//!   leadership to its first replica and deletes the node.
//! - `/admin/reassign_partitions`:
//!   `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}`
//!   (kafka-reassign-partitions.sh); the controller copies each partition to its new replicas,
//!   then drops the old ones, rewriting the node without the partitions done and deleting it
//!   when none is left.
//!
//! Both are read leniently (unknown keys ignored) and written in Kafka's shape.

use ferry_zkclient::{CreateOptions, Op, Watch};
use serde::{Deserialize, Serialize};

use super::error::{on, Result};
use super::{json, ControllerEpoch, KafkaZk, ZnodeWatch};

pub const PREFERRED_REPLICA_ELECTION: &str = "/admin/preferred_replica_election";
pub const REASSIGN_PARTITIONS: &str = "/admin/reassign_partitions";

/// A partition named by `/admin/preferred_replica_election`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ElectionPartition {
    pub topic: String,
    pub partition: i32,
}

/// A partition's target replicas in `/admin/reassign_partitions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reassignment {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
}

#[derive(Serialize, Deserialize)]
struct Document<T> {
    version: i32,
    partitions: Vec<T>,
}

impl KafkaZk {
    /// The data of `path` (None: no node) with a watch for its creation, change or deletion.
    async fn watch_data(&self, path: &str) -> Result<ZnodeWatch<Option<Vec<u8>>>> {
        let (watch, events) = Watch::channel();
        let stat = self
            .client()
            .exists(path, watch.clone())
            .await
            .map_err(on(path))?;
        let data = match stat {
            None => None,
            Some(_) => match self.client().get_data(path, watch).await {
                Ok((data, _)) => Some(data.map(|d| d.to_vec()).unwrap_or_default()),
                Err(error) if error.code() == ferry_zkclient::ErrorCode::NoNode => None,
                Err(error) => return Err(on(path)(error)),
            },
        };
        Ok(ZnodeWatch::new(data, path, events))
    }

    /// The pending preferred-leader elections, with a watch on the node.
    pub async fn watch_preferred_election(
        &self,
    ) -> Result<ZnodeWatch<Option<Vec<ElectionPartition>>>> {
        let watch = self.watch_data(PREFERRED_REPLICA_ELECTION).await?;
        let parsed = match &watch.value {
            Some(data) => Some(decode::<ElectionPartition>(
                PREFERRED_REPLICA_ELECTION,
                data,
            )?),
            None => None,
        };
        Ok(watch.map(|_| parsed))
    }

    /// The pending reassignments, with a watch on the node.
    pub async fn watch_reassignments(&self) -> Result<ZnodeWatch<Option<Vec<Reassignment>>>> {
        let watch = self.watch_data(REASSIGN_PARTITIONS).await?;
        let parsed = match &watch.value {
            Some(data) => Some(decode::<Reassignment>(REASSIGN_PARTITIONS, data)?),
            None => None,
        };
        Ok(watch.map(|_| parsed))
    }

    /// Writes `/admin/reassign_partitions` (an operator's request); fails if one is pending.
    pub async fn create_reassignments(&self, partitions: &[Reassignment]) -> Result<()> {
        let data = encode(REASSIGN_PARTITIONS, partitions)?;
        self.create_recursive(REASSIGN_PARTITIONS, data).await
    }

    /// Writes `/admin/preferred_replica_election`; fails if one is pending.
    pub async fn create_preferred_election(&self, partitions: &[ElectionPartition]) -> Result<()> {
        let data = encode(PREFERRED_REPLICA_ELECTION, partitions)?;
        self.create_recursive(PREFERRED_REPLICA_ELECTION, data)
            .await
    }

    /// The controller's progress on reassignments: the node rewritten with what is left, or
    /// deleted when nothing is.
    pub async fn set_pending_reassignments(
        &self,
        left: &[Reassignment],
        fence: &ControllerEpoch,
    ) -> Result<()> {
        if left.is_empty() {
            let op = Op::delete(REASSIGN_PARTITIONS, None);
            return match self.write_fenced(Some(fence), vec![op]).await {
                Ok(_) | Err(super::ZkError::NoNode { .. }) => Ok(()),
                Err(error) => Err(error),
            };
        }
        let data = encode(REASSIGN_PARTITIONS, left)?;
        let set = Op::set_data(REASSIGN_PARTITIONS, data.clone(), None);
        match self.write_fenced(Some(fence), vec![set]).await {
            // Started through the API: nothing was written yet.
            Err(super::ZkError::NoNode { .. }) => {
                let create = Op::create(REASSIGN_PARTITIONS, data, CreateOptions::persistent());
                self.write_fenced(Some(fence), vec![create]).await.map(drop)
            }
            written => written.map(drop),
        }
    }

    /// Removes a handled preferred-election request.
    pub async fn delete_preferred_election(&self, fence: &ControllerEpoch) -> Result<()> {
        let op = Op::delete(PREFERRED_REPLICA_ELECTION, None);
        match self.write_fenced(Some(fence), vec![op]).await {
            Ok(_) | Err(super::ZkError::NoNode { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

fn decode<T: for<'de> Deserialize<'de>>(path: &str, data: &[u8]) -> Result<Vec<T>> {
    let document: Document<T> = json::decode(path, Some(data))?;
    Ok(document.partitions)
}

fn encode<T: Serialize + Clone>(path: &str, partitions: &[T]) -> Result<Vec<u8>> {
    json::encode(
        path,
        &Document {
            version: 1,
            partitions: partitions.to_vec(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_kafkas() {
        let text = r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}"#;
        let parsed = decode::<Reassignment>("/p", text.as_bytes()).unwrap();
        assert_eq!(parsed[0].replicas, vec![1, 2, 3]);
        assert_eq!(encode("/p", &parsed).unwrap(), text.as_bytes());
        let text = r#"{"version":1,"partitions":[{"topic":"t","partition":2}]}"#;
        let parsed = decode::<ElectionPartition>("/p", text.as_bytes()).unwrap();
        assert_eq!(parsed[0].partition, 2);
        assert_eq!(encode("/p", &parsed).unwrap(), text.as_bytes());
    }
}
