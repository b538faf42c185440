//! Replication on this broker (Kafka's `ReplicaManager`): the partitions it hosts, each led or
//! followed as the controller's LeaderAndIsr requests say.
//!
//! | file | concept |
//! |---|---|
//! | `partition` | one replica: role, leader epoch, ISR, followers' progress, high watermark |
//! | `fetcher` | follower side: fetching from leaders, truncating by leader epoch first |
//! | `isr` | leader side: ISR shrink and expansion written to ZooKeeper, then announced |
//! | `delayed_produce` | acks=all produce waiting for the high watermark (the purgatory) |
//! | `hw_checkpoint` | `replication-offset-checkpoint`: high watermarks kept across restarts |
//! | `settings` | the `replica.*` keys |
//!
//! Invariants: a request from a controller older than the newest one seen is refused
//! (STALE_CONTROLLER_EPOCH); a partition's state changes only to a newer leader epoch; a
//! partition this broker does not lead is never appended to by a client and never read past
//! its high watermark by a consumer.

pub mod delayed_produce;
mod fetcher;
mod hw_checkpoint;
pub mod isr;
pub mod partition;
pub mod settings;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ferry_kafka_protocol::ErrorCode;
use ferry_log::TopicPartition;

use crate::broker::Broker;
use crate::metadata_cache::{PartitionInfo, PartitionUpdate};
use crate::replicas::ReplicaError;

pub use fetcher::ReplicaFetchers;
pub use hw_checkpoint::HighWatermarks;
pub use partition::{Assigned, Partition, Progress, RoleError};
pub use settings::ReplicationSettings;

/// One partition of a LeaderAndIsr request.
#[derive(Debug, Clone)]
pub struct PartitionOrder {
    pub topic: String,
    pub partition: i32,
    pub assigned: Assigned,
}

impl PartitionOrder {
    /// The partition as the metadata cache keeps it (LeaderAndIsr has no offline replicas;
    /// the cache keeps the ones it knows).
    fn as_published(&self) -> PartitionUpdate {
        PartitionUpdate {
            topic: self.topic.clone(),
            partition: self.partition,
            info: PartitionInfo {
                leader: self.assigned.leader,
                leader_epoch: self.assigned.leader_epoch,
                isr: self.assigned.isr.clone(),
                replicas: self.assigned.replicas.clone(),
                offline_replicas: Vec::new(),
            },
        }
    }
}

/// Why a partition cannot be served as its leader.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// No such topic or partition in the cluster.
    #[error("unknown topic or partition {0}")]
    Unknown(String),
    #[error(transparent)]
    Role(#[from] RoleError),
}

impl LeaderError {
    pub fn code(&self) -> ErrorCode {
        match self {
            LeaderError::Unknown(_) => ErrorCode::UnknownTopicOrPartition,
            LeaderError::Role(RoleError::NotLeader { .. } | RoleError::NotAReplica(_)) => {
                ErrorCode::NotLeaderOrFollower
            }
            LeaderError::Role(RoleError::FencedLeaderEpoch { .. }) => ErrorCode::FencedLeaderEpoch,
            LeaderError::Role(RoleError::UnknownLeaderEpoch { .. }) => {
                ErrorCode::UnknownLeaderEpoch
            }
        }
    }
}

/// The partitions this broker hosts; see the module docs.
pub struct ReplicaManager {
    me: i32,
    partitions: Mutex<HashMap<TopicPartition, Arc<Partition>>>,
    /// The newest controller epoch a LeaderAndIsr or StopReplica came from.
    controller_epoch: AtomicI32,
    pub fetchers: ReplicaFetchers,
    pub high_watermarks: HighWatermarks,
}

/// A refused request from a deposed controller.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("controller epoch {sent} is older than {known}")]
pub struct StaleController {
    pub sent: i32,
    pub known: i32,
}

impl ReplicaManager {
    pub fn new(me: i32, high_watermarks: HighWatermarks) -> Self {
        ReplicaManager {
            me,
            partitions: Mutex::new(HashMap::new()),
            controller_epoch: AtomicI32::new(-1),
            fetchers: ReplicaFetchers::new(),
            high_watermarks,
        }
    }

    /// Accepts a request of `controller_epoch` unless a newer controller has spoken.
    pub fn check_controller_epoch(&self, controller_epoch: i32) -> Result<(), StaleController> {
        let known = self
            .controller_epoch
            .fetch_max(controller_epoch, Ordering::SeqCst);
        if controller_epoch < known {
            return Err(StaleController {
                sent: controller_epoch,
                known,
            });
        }
        Ok(())
    }

    /// The hosted replica of a partition, if any.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        self.lock()
            .get(&TopicPartition::new(topic, partition))
            .cloned()
    }

    /// Every hosted replica.
    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.lock().values().cloned().collect()
    }

    /// The partition if this broker leads it (in `named_epoch`, when the caller names one).
    /// `exists` says whether the cluster knows the partition, for the error of one not hosted.
    pub fn leader(
        &self,
        topic: &str,
        partition: i32,
        named_epoch: i32,
        exists: bool,
    ) -> Result<Arc<Partition>, LeaderError> {
        let Some(p) = self.partition(topic, partition) else {
            if exists {
                return Err(RoleError::NotLeader {
                    leader: -1,
                    leader_epoch: -1,
                }
                .into());
            }
            return Err(LeaderError::Unknown(format!("{topic}-{partition}")));
        };
        p.check_leader(named_epoch)?;
        Ok(p)
    }

    /// Applies the partitions of a LeaderAndIsr: each becomes leader or follower in its new
    /// epoch (older or equal epochs are ignored, as Kafka does). Opening logs may read from
    /// disk: call off the async workers. Returns each partition's error code.
    pub fn apply(
        &self,
        broker: &Broker,
        orders: Vec<PartitionOrder>,
    ) -> Vec<(PartitionOrder, ErrorCode)> {
        let now = now_ms();
        let mut results = Vec::with_capacity(orders.len());
        for order in orders {
            let code = match self.apply_one(broker, &order, now) {
                Ok(code) => code,
                Err(error) => {
                    tracing::warn!(topic = %order.topic, partition = order.partition, %error,
                        "could not open the replica's log");
                    ErrorCode::KafkaStorageError
                }
            };
            if code == ErrorCode::None {
                // At once, not after the whole request: a producer this broker has just
                // refused asks it for the new leader straight away.
                broker.metadata.learn_leader(order.as_published());
            }
            results.push((order, code));
        }
        broker.replicas.notify_appended();
        // The group coordinator follows the leadership of `__consumer_offsets` partitions.
        for (order, code) in &results {
            if *code == ErrorCode::None && order.topic == crate::groups::OFFSETS_TOPIC {
                let leads = order.assigned.leader == self.me;
                broker
                    .groups
                    .partition_leadership_changed(broker, order.partition, leads);
            }
        }
        results
    }

    fn apply_one(
        &self,
        broker: &Broker,
        order: &PartitionOrder,
        now: i64,
    ) -> Result<ErrorCode, ReplicaError> {
        let a = &order.assigned;
        if !a.replicas.contains(&self.me) {
            return Ok(ErrorCode::UnknownTopicOrPartition);
        }
        let tp = TopicPartition::new(&order.topic, order.partition);
        let partition = self.host(broker, &tp)?;
        if a.leader_epoch <= partition.leader_epoch() {
            tracing::debug!(partition = %tp.dir_name(), epoch = a.leader_epoch,
                current = partition.leader_epoch(), "LeaderAndIsr for an epoch already applied");
            return Ok(ErrorCode::StaleControllerEpoch);
        }
        broker.producers.forget(&tp);
        if a.leader == self.me {
            self.fetchers.remove(&tp);
            partition.make_leader(a.clone(), now);
            tracing::info!(partition = %tp.dir_name(), epoch = a.leader_epoch, isr = ?a.isr,
                "leading");
        } else {
            partition.make_follower(a.clone());
            self.fetchers
                .add(partition.clone(), a.leader, a.leader_epoch);
            tracing::info!(partition = %tp.dir_name(), epoch = a.leader_epoch,
                leader = a.leader, "following");
        }
        Ok(ErrorCode::None)
    }

    /// The hosted replica of `tp`, its log opened (and the topic made known) if new.
    fn host(&self, broker: &Broker, tp: &TopicPartition) -> Result<Arc<Partition>, ReplicaError> {
        if let Some(p) = self.lock().get(tp) {
            return Ok(p.clone());
        }
        broker.replicas.ensure_partition(&tp.topic, tp.partition);
        let log = broker.replicas.log(&tp.topic, tp.partition)?;
        let hw = self.high_watermarks.get(tp);
        let mut partitions = self.lock();
        let p = partitions
            .entry(tp.clone())
            .or_insert_with(|| Arc::new(Partition::new(tp.clone(), log, self.me, hw)));
        Ok(p.clone())
    }

    /// Stops hosting a partition (StopReplica, or its topic deleted): its fetcher stops and it
    /// is forgotten; the log itself is the caller's to close or delete.
    pub fn stop(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.fetchers.remove(tp);
        self.lock().remove(tp)
    }

    /// Forgets every partition of a topic (deleted).
    pub fn stop_topic(&self, topic: &str) {
        let gone: Vec<TopicPartition> = self
            .lock()
            .keys()
            .filter(|tp| tp.topic == topic)
            .cloned()
            .collect();
        for tp in gone {
            self.stop(&tp);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TopicPartition, Arc<Partition>>> {
        self.partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl ReplicaManager {
    /// Writes every hosted partition's high watermark (blocking).
    pub fn checkpoint_high_watermarks(&self) {
        if let Err(error) = self.high_watermarks.write(&self.all()) {
            tracing::warn!(%error, "writing the high watermark checkpoint failed");
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    crate::groups::wall_clock_ms()
}
