//! A replica-manager-lite: the partitions this broker leads and their logs.
//!
//! Topics and their partition counts come from ZooKeeper (loaded at startup, added when a topic
//! is created through this broker or appears under `/brokers/topics`, removed when its znode
//! goes). A partition's [`Log`] is opened lazily, on first use, under
//! `<log.dirs[0]>/<topic>-<partition>`, so a broker with many idle topics starts fast.
//!
//! Appends wake long-polling fetches through one [`Notify`]: a fetch re-reads every partition it
//! asked for after any append, which is cheap at this scale and cannot miss a wake-up (the
//! fetch registers interest before it reads).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use ferry_log::{Log, LogConfig, LogError, OpenOptions, Resources, TopicPartition};
use tokio::sync::Notify;

use crate::log_starts::LogStarts;

/// The logs of one broker.
pub struct Replicas {
    dir: PathBuf,
    log_config: LogConfig,
    resources: Arc<Resources>,
    /// Topic name -> partition count, as assigned in ZooKeeper.
    topics: Mutex<BTreeMap<String, i32>>,
    logs: Mutex<HashMap<TopicPartition, Arc<Log>>>,
    appended: Notify,
    /// Log start offsets moved by DeleteRecords; logs are opened with them.
    log_starts: LogStarts,
}

/// Why a partition has no log to serve.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("unknown topic or partition {0}")]
    Unknown(String),
    #[error(transparent)]
    Log(#[from] LogError),
}

impl Replicas {
    pub fn new(dir: PathBuf, log_config: LogConfig) -> Self {
        Replicas {
            log_starts: LogStarts::load(&dir),
            dir,
            log_config,
            resources: Arc::new(Resources::with_clock(Arc::new(ferry_log::SystemClock))),
            topics: Mutex::new(BTreeMap::new()),
            logs: Mutex::new(HashMap::new()),
            appended: Notify::new(),
        }
    }

    /// Records that `topic` exists with `partitions` partitions.
    pub fn add_topic(&self, topic: &str, partitions: i32) {
        lock(&self.topics).insert(topic.to_string(), partitions);
    }

    /// Forgets a topic (its znode is gone): its partitions are no longer served, and its open
    /// logs are closed (their files stay on disk).
    pub fn remove_topic(&self, topic: &str) {
        lock(&self.topics).remove(topic);
        if let Err(error) = self.log_starts.remove_topic(topic) {
            tracing::warn!(%topic, %error, "forgetting the topic's log start offsets failed");
        }
        let mut logs = lock(&self.logs);
        let gone: Vec<TopicPartition> = logs
            .keys()
            .filter(|tp| tp.topic == topic)
            .cloned()
            .collect();
        for tp in gone {
            if let Some(log) = logs.remove(&tp) {
                if let Err(error) = log.close() {
                    tracing::warn!(partition = %tp.dir_name(), %error, "closing log failed");
                }
            }
        }
    }

    /// The partition count of a known topic.
    pub fn partitions(&self, topic: &str) -> Option<i32> {
        lock(&self.topics).get(topic).copied()
    }

    /// Every known topic and its partition count.
    pub fn topics(&self) -> BTreeMap<String, i32> {
        lock(&self.topics).clone()
    }

    /// The log of a partition this broker holds, opened on first use.
    pub fn log(&self, topic: &str, partition: i32) -> Result<Arc<Log>, ReplicaError> {
        let known = self
            .partitions(topic)
            .is_some_and(|n| (0..n).contains(&partition));
        if !known {
            return Err(ReplicaError::Unknown(format!("{topic}-{partition}")));
        }
        let tp = TopicPartition::new(topic, partition);
        // Opening under the map's lock keeps two requests from opening one directory twice;
        // it only happens once per partition.
        let mut logs = lock(&self.logs);
        if let Some(log) = logs.get(&tp) {
            return Ok(log.clone());
        }
        let log = Arc::new(Log::open(
            self.dir.join(tp.dir_name()),
            self.log_config.clone(),
            self.resources.clone(),
            OpenOptions {
                log_start_offset: self.log_starts.get(&tp),
                ..OpenOptions::default()
            },
        )?);
        logs.insert(tp, log.clone());
        Ok(log)
    }

    /// The log start offsets kept across restarts (DeleteRecords records them here).
    pub fn log_starts(&self) -> &LogStarts {
        &self.log_starts
    }

    /// Wakes fetches waiting for data.
    pub fn notify_appended(&self) {
        self.appended.notify_waiters();
    }

    /// Resolves on the next [`Replicas::notify_appended`].
    pub fn appended(&self) -> &Notify {
        &self.appended
    }

    /// Flushes and closes every open log (clean shutdown).
    pub fn close(&self) {
        for (tp, log) in lock(&self.logs).drain() {
            if let Err(error) = log.close() {
                tracing::warn!(partition = %tp.dir_name(), %error, "closing log failed");
            }
        }
    }
}

/// A poisoned lock only means another request panicked mid-update of a map whose entries are
/// each valid on their own; keep serving.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
