//! One broker: its configuration, its ZooKeeper session, its logs, and the cluster facts the
//! request handlers answer with.
//!
//! Startup follows a Kafka 2.x broker's order: open the ZooKeeper session, make the persistent
//! paths, read (or create) the cluster id, register under `/brokers/ids`, run for controller,
//! then learn the topics. With one broker it wins the election and is every partition's leader;
//! the leader and replica lists still come from the assignment in ZooKeeper so a second broker
//! needs no change here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use ferry_log::LogConfig;

use crate::config::BrokerConfig;
use crate::replicas::Replicas;
use crate::zk::{
    BrokerInfo, Election, EndPoint, KafkaZk, LeaderAndIsr, Registration, TopicAssignment, ZkError,
};

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("ZooKeeper: {0}")]
    Zk(#[from] ZkError),
    #[error("creating log directory {path}: {source}")]
    LogDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("binding {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// The state shared by every connection of one broker.
pub struct Broker {
    pub config: BrokerConfig,
    pub zk: KafkaZk,
    pub cluster_id: String,
    pub replicas: Replicas,
    controller_id: AtomicI32,
    /// The epoch this broker won the controllership in (0 if it did not), for partition state.
    controller_epoch: i32,
    /// Held so the registration's lifetime is visible; the ephemeral node goes with the session.
    _registration: Registration,
}

impl Broker {
    /// Connects to ZooKeeper, registers, and learns the topics; does not listen yet.
    pub async fn start(config: BrokerConfig) -> Result<Arc<Self>, BrokerError> {
        let (zk, mut events) =
            KafkaZk::connect(&config.zookeeper_connect, config.zookeeper_session_timeout).await?;
        // Session events are only logged for now; re-registration after expiry comes later.
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                tracing::debug!(?event, "zookeeper event");
            }
        });
        zk.ensure_persistent_paths().await?;
        let cluster_id = zk.get_or_create_cluster_id().await?;
        let adv = &config.advertised;
        let info = BrokerInfo::new(
            config.broker_id,
            vec![EndPoint::plaintext(&adv.host, i32::from(adv.port))],
        );
        let registration = zk.register_broker(&info).await?;
        let (controller_id, controller_epoch) = match zk.elect_controller(config.broker_id).await? {
            Election::Won(epoch) => (config.broker_id, epoch.epoch),
            Election::Lost { controller } => (controller.unwrap_or(-1), 0),
        };
        let dir = config.log_dirs[0].clone();
        std::fs::create_dir_all(&dir).map_err(|source| BrokerError::LogDir {
            path: dir.clone(),
            source,
        })?;
        let log_config = LogConfig {
            max_message_bytes: config.message_max_bytes,
            ..LogConfig::default()
        };
        let replicas = Replicas::new(dir, log_config);
        for topic in zk.list_topics().await? {
            if let Some(assignment) = zk.get_topic_assignment(&topic).await? {
                let count = assignment.value.replicas().len();
                replicas.add_topic(&topic, i32::try_from(count).unwrap_or(i32::MAX));
            }
        }
        tracing::info!(broker_id = config.broker_id, %cluster_id, controller_id, "broker started");
        Ok(Arc::new(Broker {
            config,
            zk,
            cluster_id,
            replicas,
            controller_id: AtomicI32::new(controller_id),
            controller_epoch,
            _registration: registration,
        }))
    }

    pub fn id(&self) -> i32 {
        self.config.broker_id
    }

    pub fn controller_id(&self) -> i32 {
        self.controller_id.load(Ordering::Relaxed)
    }

    /// Creates a topic with every replica on this broker: the assignment and each partition's
    /// state in ZooKeeper (as the controller would write them), then the topic is served.
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<(), ZkError> {
        let replicas: BTreeMap<i32, Vec<i32>> =
            (0..partitions).map(|p| (p, vec![self.id()])).collect();
        let assignment = TopicAssignment::new(replicas);
        self.zk
            .create_topic(name, &assignment, &BTreeMap::new())
            .await?;
        let state = LeaderAndIsr {
            leader: self.id(),
            leader_epoch: 0,
            isr: vec![self.id()],
            controller_epoch: self.controller_epoch,
        };
        for p in 0..partitions {
            match self.zk.create_partition_state(name, p, &state, None).await {
                Ok(_) | Err(ZkError::NodeExists { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        self.replicas.add_topic(name, partitions);
        tracing::info!(topic = name, partitions, "topic created");
        Ok(())
    }
}
