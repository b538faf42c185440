//! What the controller last told this broker about the cluster: the live brokers, the
//! controller, and each partition's leader, replicas and ISR (Kafka's `MetadataCache`).
//!
//! Filled only by UpdateMetadata requests (and the controller's own copy of them when it is
//! this broker), so that every broker answers Metadata from the same facts the controller
//! published, whatever its own ZooKeeper reads might say. A partition whose leader is
//! [`LEADER_DURING_DELETE`] is being deleted and leaves the cache.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::watch;

/// The leader id the controller sends for a partition of a topic being deleted.
pub const LEADER_DURING_DELETE: i32 = -2;

/// A live broker and where clients reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBroker {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

/// A partition as the controller last published it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionInfo {
    /// -1 when no replica can lead (offline).
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub replicas: Vec<i32>,
    pub offline_replicas: Vec<i32>,
}

/// One published partition, or its removal.
#[derive(Debug, Clone)]
pub struct PartitionUpdate {
    pub topic: String,
    pub partition: i32,
    pub info: PartitionInfo,
}

#[derive(Default)]
struct Snapshot {
    controller_id: i32,
    controller_epoch: i32,
    brokers: BTreeMap<i32, LiveBroker>,
    topics: BTreeMap<String, BTreeMap<i32, PartitionInfo>>,
}

/// The broker's view of the cluster; see the module docs.
pub struct MetadataCache {
    snapshot: RwLock<Snapshot>,
    /// Bumped on every update, for callers waiting for a topic to be published.
    version: watch::Sender<u64>,
}

/// Why an UpdateMetadata was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("controller epoch {sent} is older than {known}")]
pub struct StaleControllerEpoch {
    pub sent: i32,
    pub known: i32,
}

impl Default for MetadataCache {
    fn default() -> Self {
        Self::new()
    }
}

impl MetadataCache {
    pub fn new() -> Self {
        MetadataCache {
            snapshot: RwLock::new(Snapshot {
                controller_id: -1,
                ..Snapshot::default()
            }),
            version: watch::Sender::new(0),
        }
    }

    /// Applies an UpdateMetadata: the live brokers are replaced, the partitions listed are
    /// replaced or (leader [`LEADER_DURING_DELETE`]) removed. An update from an older
    /// controller epoch is refused.
    pub fn update(
        &self,
        controller_id: i32,
        controller_epoch: i32,
        brokers: Vec<LiveBroker>,
        partitions: Vec<PartitionUpdate>,
    ) -> Result<(), StaleControllerEpoch> {
        {
            let mut s = self.write();
            if controller_epoch < s.controller_epoch {
                return Err(StaleControllerEpoch {
                    sent: controller_epoch,
                    known: s.controller_epoch,
                });
            }
            s.controller_id = controller_id;
            s.controller_epoch = controller_epoch;
            s.brokers = brokers.into_iter().map(|b| (b.id, b)).collect();
            for update in partitions {
                if update.info.leader == LEADER_DURING_DELETE {
                    if let Some(parts) = s.topics.get_mut(&update.topic) {
                        parts.remove(&update.partition);
                        if parts.is_empty() {
                            s.topics.remove(&update.topic);
                        }
                    }
                    continue;
                }
                s.topics
                    .entry(update.topic)
                    .or_default()
                    .insert(update.partition, update.info);
            }
        }
        self.version.send_modify(|v| *v += 1);
        Ok(())
    }

    /// Applies what a LeaderAndIsr said of a partition the cache already holds, when its
    /// leader epoch is newer. The controller's UpdateMetadata follows, but a client that this
    /// broker has just told NOT_LEADER_OR_FOLLOWER asks it for the new leader at once
    /// (librdkafka asks the broker it is connected to, and after an answer naming the old
    /// leader waits a second before asking again). Partitions the cache does not hold are left
    /// to UpdateMetadata, which lists a topic's partitions whole: a topic half known would
    /// look as if it had fewer partitions.
    pub fn learn_leader(&self, update: PartitionUpdate) {
        {
            let mut s = self.write();
            let known = s
                .topics
                .get_mut(&update.topic)
                .and_then(|parts| parts.get_mut(&update.partition));
            let Some(known) = known.filter(|k| k.leader_epoch < update.info.leader_epoch) else {
                return;
            };
            known.leader = update.info.leader;
            known.leader_epoch = update.info.leader_epoch;
            known.isr = update.info.isr;
            known.replicas = update.info.replicas;
        }
        self.version.send_modify(|v| *v += 1);
    }

    /// Forgets a topic at once (its deletion has begun on this broker, the controller); the
    /// controller's UpdateMetadata tells the others.
    pub fn remove_topic(&self, topic: &str) {
        self.write().topics.remove(topic);
        self.version.send_modify(|v| *v += 1);
    }

    /// The controller the last update came from (-1 before any).
    pub fn controller_id(&self) -> i32 {
        self.read().controller_id
    }

    /// The live brokers, by id.
    pub fn live_brokers(&self) -> Vec<LiveBroker> {
        self.read().brokers.values().cloned().collect()
    }

    pub fn broker(&self, id: i32) -> Option<LiveBroker> {
        self.read().brokers.get(&id).cloned()
    }

    /// Every published topic's name.
    pub fn topic_names(&self) -> Vec<String> {
        self.read().topics.keys().cloned().collect()
    }

    /// A topic's partitions, if it is published.
    pub fn topic(&self, topic: &str) -> Option<BTreeMap<i32, PartitionInfo>> {
        self.read().topics.get(topic).cloned()
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<PartitionInfo> {
        self.read().topics.get(topic)?.get(&partition).cloned()
    }

    /// Waits up to `timeout` for broker `id` to be published live. Returns whether it was.
    pub async fn wait_for_broker(&self, id: i32, timeout: Duration) -> bool {
        self.wait(timeout, |s| s.brokers.contains_key(&id)).await
    }

    /// Waits up to `timeout` for `topic` to be published with at least `partitions`
    /// partitions, each with a leader. Returns whether it was.
    pub async fn wait_for_leaders(&self, topic: &str, partitions: i32, timeout: Duration) -> bool {
        self.wait(timeout, |s| {
            s.topics.get(topic).is_some_and(|parts| {
                (0..partitions).all(|p| parts.get(&p).is_some_and(|info| info.leader >= 0))
            })
        })
        .await
    }

    async fn wait(&self, timeout: Duration, ready: impl Fn(&Snapshot) -> bool) -> bool {
        let mut changes = self.version.subscribe();
        let waiting = async {
            loop {
                if ready(&self.read()) {
                    return;
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(timeout, waiting).await;
        ready(&self.read())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.snapshot.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Snapshot> {
        self.snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(leader: i32) -> PartitionInfo {
        PartitionInfo {
            leader,
            leader_epoch: 1,
            isr: vec![1, 2],
            replicas: vec![1, 2],
            offline_replicas: vec![],
        }
    }

    fn update(topic: &str, partition: i32, leader: i32) -> PartitionUpdate {
        PartitionUpdate {
            topic: topic.to_string(),
            partition,
            info: info(leader),
        }
    }

    #[tokio::test]
    async fn updates_replace_brokers_and_partitions_and_stale_epochs_are_refused() {
        let cache = MetadataCache::new();
        let broker = LiveBroker {
            id: 1,
            host: "h".into(),
            port: 9092,
            rack: None,
        };
        cache
            .update(1, 3, vec![broker.clone()], vec![update("t", 0, 1)])
            .unwrap();
        assert_eq!(cache.partition("t", 0).unwrap().leader, 1);
        assert!(cache.wait_for_leaders("t", 1, Duration::ZERO).await);
        assert!(
            !cache
                .wait_for_leaders("t", 2, Duration::from_millis(10))
                .await
        );
        let err = cache.update(2, 2, vec![], vec![]).unwrap_err();
        assert_eq!((err.sent, err.known), (2, 3));
        assert_eq!(cache.live_brokers(), vec![broker]);
        cache
            .update(1, 3, vec![], vec![update("t", 0, LEADER_DURING_DELETE)])
            .unwrap();
        assert!(cache.topic("t").is_none());
        assert!(cache.live_brokers().is_empty());
    }

    #[test]
    fn a_leader_learned_from_leader_and_isr_only_moves_a_known_partition_forward() {
        let cache = MetadataCache::new();
        cache.update(1, 3, vec![], vec![update("t", 0, 1)]).unwrap();
        let moved = |topic: &str, partition, leader, leader_epoch| PartitionUpdate {
            info: PartitionInfo {
                leader,
                leader_epoch,
                isr: vec![2],
                ..info(leader)
            },
            ..update(topic, partition, leader)
        };
        // An older or equal epoch changes nothing; a topic or partition not published is not
        // made up from a LeaderAndIsr.
        for update in [
            moved("t", 0, 2, 1),
            moved("t", 1, 2, 5),
            moved("u", 0, 2, 5),
        ] {
            cache.learn_leader(update);
        }
        assert_eq!(cache.partition("t", 0), Some(info(1)));
        assert!(cache.partition("t", 1).is_none() && cache.topic("u").is_none());
        cache.learn_leader(moved("t", 0, 2, 2));
        let learned = cache.partition("t", 0).unwrap();
        assert_eq!((learned.leader, learned.leader_epoch), (2, 2));
        assert_eq!((learned.isr, learned.replicas), (vec![2], vec![1, 2]));
    }
}
