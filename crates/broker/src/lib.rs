//! The Kafka-compatible broker: one broker of a replicated cluster (or a cluster of one), its
//! metadata in ZooKeeper as Kafka 2.x keeps it.
//!
//! | module | concept |
//! |---|---|
//! | [`config`] | `server.properties` and `--override` |
//! | [`broker`] | startup (ZooKeeper session, registration, controller) and shared state |
//! | `controller` | the controller: leader election, partition state, requests to brokers |
//! | [`replica`] | the replica manager: partitions led or followed, ISR, high watermark, fetchers |
//! | [`metadata_cache`] | the cluster as the controller last published it |
//! | `controlled_shutdown` | a stopping broker asks the controller to move its leaderships |
//! | `periodic` | background passes on the blocking pool (retention, ISR expiration, ...) |
//! | [`log_starts`] | log start offsets moved by DeleteRecords, checkpointed across restarts |
//! | [`replicas`] | topic-partition -> log, opened lazily; append notifications for fetch |
//! | [`metrics`] | the Prometheus page (`ferry.http.port`) |
//! | [`net`] | the TCP listener: connection quotas, request memory pool, deadlines; one task per connection, responses in request order |
//! | `handlers` | one file per Kafka API |
//! | [`groups`] | the group coordinator: classic rebalance protocol, offsets in `__consumer_offsets` |
//! | `admin` | topic configs applied, deletion, added partitions, retention and compaction passes |
//! | [`topic_config`] | topic config keys, defaults, validation, describe and alter (pure) |
//! | [`producers`] | idempotent producers: producer ids, per-partition sequence state |
//! | [`zk`] | Kafka 2.x's znode layout |
//!
//! Request handling invariants: nothing from the network can panic the broker; a bad or
//! oversize request closes its own connection only; ApiVersions advertises exactly the APIs
//! `handlers` answers.
//!
//!
//! [`zk`] keeps the cluster's metadata in ZooKeeper (ferry keeper or Apache ZooKeeper 3.8) in
//! Kafka 2.x's znode layout and JSON formats, so that Kafka 2.x tools and brokers reading the same
//! tree see what they expect: cluster id, broker registrations, controller election, topic
//! assignments, partition state, topic configs and their change notifications, topic deletion,
//! producer id blocks.
//!
//! Invariants the metadata layer keeps:
//! - Every state change is a conditional write: a create that fails if the node exists, or a
//!   write naming the znode version it read. A write that loses a race fails with its own error
//!   ([`zk::ZkError::StaleVersion`], [`zk::ZkError::ControllerMoved`], ...) and is never retried
//!   blindly over someone else's change.
//! - Writes made on the controller's behalf can be fenced by the controller epoch's znode version
//!   ([`zk::ControllerEpoch`]): they are sent as one `multi` with a version check of
//!   `/controller_epoch`, so a deposed controller cannot write.
//! - JSON is written in the shape (and, where Kafka's is stable, the key order) Kafka 2.8
//!   writes, and read leniently as Kafka reads it (unknown keys ignored, older versions
//!   accepted).
//! - Paths are client paths: the chroot of `zookeeper.connect` is handled by the ZooKeeper
//!   client, and created (as Kafka does) before the session that uses it is opened.

mod admin;
pub mod broker;
pub mod config;
mod controlled_shutdown;
mod controller;
pub mod groups;
pub(crate) mod handlers;
pub mod log_starts;
pub mod metadata_cache;
pub mod metrics;
pub mod net;
mod periodic;
pub mod producers;
pub mod replica;
pub mod replicas;
pub mod topic_config;
pub mod zk;

pub use broker::{Broker, BrokerError};
pub use config::{BrokerConfig, ConfigError, Listener};
