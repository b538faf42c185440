//! Topic administration as a Kafka 2.x controller and broker do it, on top of [`crate::zk`]:
//!
//! | file | concept |
//! |---|---|
//! | `follow.rs` | following one znode through watches and session renewals |
//! | `topic_configs.rs` | each topic's overrides (`/config/topics/<t>`) applied to its logs; `/config/changes` followed |
//! | `deletion.rs` | `/admin/delete_topics` followed; the controller deletes marked topics |
//! | `partitions.rs` | partitions added (CreatePartitions, or `/brokers/topics/<t>` rewritten elsewhere) |
//! | `log_manager.rs` | the periodic retention and compaction passes |
//!
//! Invariants: ZooKeeper is the source of truth (the local state is rebuilt from it after any
//! change notification or session renewal); a topic's directories are deleted only while its
//! deletion mark is present and under the deletion lock, so a topic re-created meanwhile is
//! never touched; blocking log work runs on the blocking pool.

mod deletion;
mod follow;
mod log_manager;
mod partitions;
mod topic_configs;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::Notify;

use crate::broker::Broker;

pub(crate) use deletion::DeleteError;
pub(crate) use partitions::PartitionsError;
pub(crate) use topic_configs::{check_log_config, ConfigWriteError};

/// The broker's topic administration state.
pub(crate) struct AdminState {
    /// The broker itself, to spawn tasks and blocking work from `&Broker`.
    me: Weak<Broker>,
    /// Each served topic's config overrides, as last read from ZooKeeper.
    overrides: Mutex<HashMap<String, BTreeMap<String, String>>>,
    /// Serializes deletions (the follower and DeleteTopics requests both run them).
    deletion: tokio::sync::Mutex<()>,
    /// Signalled after each deletion pass.
    deleted: Notify,
    /// Topics whose assignment znode is being followed.
    watched: Mutex<HashSet<String>>,
    /// The newest config change notification already handled.
    config_cursor: Mutex<Option<String>>,
}

impl AdminState {
    pub(crate) fn new(me: Weak<Broker>) -> Self {
        AdminState {
            me,
            overrides: Mutex::new(HashMap::new()),
            deletion: tokio::sync::Mutex::new(()),
            deleted: Notify::new(),
            watched: Mutex::new(HashSet::new()),
            config_cursor: Mutex::new(None),
        }
    }
}

/// Starts the broker's administration tasks; each ends when the broker is dropped.
pub(crate) fn spawn_tasks(broker: &Arc<Broker>) {
    let weak = Arc::downgrade(broker);
    tokio::spawn(topic_configs::follow_config_changes(weak.clone()));
    tokio::spawn(deletion::follow_deletions(weak.clone()));
    log_manager::spawn(weak);
}

/// A poisoned lock only means a panic elsewhere mid-update of a map whose entries are each
/// valid on their own; keep going.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
