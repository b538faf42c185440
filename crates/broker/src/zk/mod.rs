//! The broker's cluster metadata in ZooKeeper, in Kafka 2.x's znode layout and JSON formats
//! (the reference is Kafka's `kafka.zk.ZkData` and `KafkaZkClient`).
//!
//! [`KafkaZk`] wraps one ZooKeeper session ([`ferry_zkclient::Client`]). Each file of this
//! module is one concept: the JSON of its znodes and the `KafkaZk` calls that read and write
//! them.
//!
//! | znode | file |
//! |---|---|
//! | persistent top-level paths, chroot | this file |
//! | (shared znode helpers) | `znode.rs` |
//! | `/cluster/id` | `cluster_id.rs` |
//! | `/brokers/ids/<id>` (ephemeral), `/brokers/seqid` | `broker_info.rs`, `registration.rs` |
//! | `/controller`, `/controller_epoch` | `controller.rs`, `fence.rs` |
//! | `/brokers/topics/<t>` | `topic_assignment.rs`, `topics.rs` |
//! | `/brokers/topics/<t>/partitions/<p>/state` | `partition_state.rs` |
//! | `/config/topics/<t>`, `/config/changes/config_change_<seq>` | `config.rs` |
//! | `/admin/delete_topics/<t>` | `deletion.rs` |
//! | `/admin/preferred_replica_election`, `/admin/reassign_partitions` | `admin_requests.rs` |
//! | `/isr_change_notification/isr_change_<seq>` | `isr_change.rs` |
//! | `/latest_producer_id_block` | `producer_ids.rs` |
//! | watches on `/controller`, `/brokers/ids`, `/brokers/topics`, ... | `watches.rs` |
//!
//! A session that expires cannot be revived: the broker opens a new `KafkaZk` and calls
//! [`KafkaZk::re_register_broker`] with the registration of the old one.

mod admin_requests;
mod broker_info;
mod cluster_id;
mod config;
mod controller;
mod deletion;
mod error;
mod fence;
mod isr_change;
mod json;
mod partition_state;
pub mod paths;
mod producer_ids;
mod registration;
mod topic_assignment;
mod topic_name;
mod topics;
mod uuid;
mod watches;
mod znode;

use std::sync::Arc;
use std::time::Duration;

use ferry_zkclient::{Bytes, Client, ConnectString, Dialer, Events, TcpDialer};
use znode::create_recursive;

pub use admin_requests::{
    ElectionPartition, Reassignment, PREFERRED_REPLICA_ELECTION, REASSIGN_PARTITIONS,
};
pub use broker_info::{BrokerInfo, EndPoint, VersionRange, BROKER_INFO_VERSION};
pub use cluster_id::{decode_cluster_id, encode_cluster_id};
pub use config::{ConfigChange, EntityConfig};
pub use controller::{ControllerInfo, ControllerWatch, Election};
pub use error::{Result, ZkError};
pub use fence::ControllerEpoch;
pub use isr_change::{TopicPartition as IsrChangePartition, ISR_CHANGE_PREFIX};
pub use partition_state::LeaderAndIsr;
pub use producer_ids::{ProducerIdBlock, PRODUCER_ID_BLOCK_SIZE};
pub use registration::{Registration, DEFAULT_RESERVED_BROKER_MAX_ID};
pub use topic_assignment::{ReplicaAssignment, TopicAssignment};
pub use topic_name::{
    collides, has_collision_chars, is_internal, validate_topic_name, COLLISION_WARNING,
    MAX_TOPIC_NAME_LENGTH,
};
pub use uuid::random_base64_uuid;
pub use watches::ZnodeWatch;

/// A value read from a znode, with the znode version to make a conditional write against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub value: T,
    pub zk_version: i32,
}

/// The broker's view of its metadata in ZooKeeper: one session, Kafka 2.x's layout.
#[derive(Debug, Clone)]
pub struct KafkaZk {
    client: Client,
    /// Where the session came from, for [`KafkaZk::reconnect`]; `None` for [`KafkaZk::new`].
    origin: Option<Arc<Origin>>,
}

struct Origin {
    connect: String,
    session_timeout: Duration,
    dialer: Arc<dyn Dialer>,
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Origin")
            .field("connect", &self.connect)
            .field("session_timeout", &self.session_timeout)
            .finish_non_exhaustive()
    }
}

impl KafkaZk {
    /// Opens a session as a Kafka 2.x broker does with `zookeeper.connect`: when the connect
    /// string has a chroot, the chroot is first created (recursively, from a session without
    /// it), then the session that is kept is opened under it.
    pub async fn connect(connect: &str, session_timeout: Duration) -> Result<(Self, Events)> {
        Self::connect_with(connect, session_timeout, Arc::new(TcpDialer)).await
    }

    /// [`KafkaZk::connect`] with connections opened by `dialer` (for a broker embedded beside
    /// its keeper).
    pub async fn connect_with(
        connect: &str,
        session_timeout: Duration,
        dialer: Arc<dyn Dialer>,
    ) -> Result<(Self, Events)> {
        let failed = |source| ZkError::Connect {
            connect: connect.to_string(),
            source,
        };
        let parsed = ConnectString::parse(connect).map_err(failed)?;
        if let Some(root) = parsed.chroot.as_str() {
            let (bare, _events) = Client::builder(&parsed.hosts_display())
                .session_timeout(session_timeout)
                .dialer(dialer.clone())
                .connect()
                .await
                .map_err(failed)?;
            let created = create_recursive(&bare, root, None::<Bytes>).await;
            bare.close().await;
            match created {
                Ok(()) | Err(ZkError::NodeExists { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        // A keeper failover drops connections; like Kafka's ZooKeeperClient, every call
        // waits for the session to reconnect and is sent again rather than failing.
        let (client, events) = Client::builder(connect)
            .session_timeout(session_timeout)
            .dialer(dialer.clone())
            .retry_connection_loss(true)
            .connect()
            .await
            .map_err(failed)?;
        let origin = Origin {
            connect: connect.to_string(),
            session_timeout,
            dialer,
        };
        Ok((
            Self {
                client,
                origin: Some(Arc::new(origin)),
            },
            events,
        ))
    }

    /// Opens a new session to the servers this one was opened to, for after it expired (then
    /// call [`KafkaZk::re_register_broker`] on it). Only for sessions made by
    /// [`KafkaZk::connect`].
    pub async fn reconnect(&self) -> Result<(Self, Events)> {
        match &self.origin {
            Some(origin) => {
                Self::connect_with(
                    &origin.connect,
                    origin.session_timeout,
                    origin.dialer.clone(),
                )
                .await
            }
            None => Err(ZkError::Connect {
                connect: String::new(),
                source: ferry_zkclient::Error::BadArguments(
                    "a session wrapped with KafkaZk::new cannot be reopened".to_string(),
                ),
            }),
        }
    }

    /// Wraps a session that is already open (its chroot must exist).
    pub fn new(client: Client) -> Self {
        Self {
            client,
            origin: None,
        }
    }

    /// The ZooKeeper session, for what this layer does not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn session_id(&self) -> i64 {
        self.client.session_id()
    }

    /// Closes the session: the server drops its ephemerals (registration, `/controller`).
    pub async fn close(&self) {
        self.client.close().await;
    }

    /// Creates the persistent paths a Kafka broker makes sure of at startup
    /// ([`paths::PERSISTENT`]), each with null data; existing ones are left as they are.
    pub async fn ensure_persistent_paths(&self) -> Result<()> {
        for path in paths::PERSISTENT {
            match create_recursive(&self.client, path, None::<Bytes>).await {
                Ok(()) | Err(ZkError::NodeExists { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}
