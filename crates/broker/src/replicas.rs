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
    /// Partitions whose logs are being opened, each with the lock its opener holds.
    opening: Mutex<HashMap<TopicPartition, Arc<Mutex<()>>>>,
    /// Topic name -> its effective log config (topic overrides on broker defaults); topics
    /// without an entry use `log_config`.
    topic_log_configs: Mutex<HashMap<String, LogConfig>>,
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
    /// Not served here as the partition's leader.
    #[error(transparent)]
    Leader(#[from] crate::replica::LeaderError),
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
            opening: Mutex::new(HashMap::new()),
            topic_log_configs: Mutex::new(HashMap::new()),
            appended: Notify::new(),
        }
    }

    /// Records that `topic` exists with `partitions` partitions.
    pub fn add_topic(&self, topic: &str, partitions: i32) {
        lock(&self.topics).insert(topic.to_string(), partitions);
    }

    /// Makes `partition` of `topic` known (the controller assigned it here), growing the
    /// topic's partition count if needed.
    pub fn ensure_partition(&self, topic: &str, partition: i32) {
        let mut topics = lock(&self.topics);
        let count = topics.entry(topic.to_string()).or_insert(0);
        *count = (*count).max(partition.saturating_add(1));
    }

    /// Closes one partition's log (StopReplica), deleting its files when `delete`.
    pub fn stop_partition(&self, tp: &TopicPartition, delete: bool) -> Result<(), LogError> {
        let open = lock(&self.logs).remove(tp);
        match (open, delete) {
            (Some(log), true) => log.delete(),
            (Some(log), false) => log.close(),
            (None, true) => {
                let dir = self.dir.join(tp.dir_name());
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(LogError::io("deleting partition directory", &dir, e)),
                }
            }
            (None, false) => Ok(()),
        }
    }

    /// Forgets a topic (its znode is gone): its partitions are no longer served, and its open
    /// logs are closed (their files stay on disk).
    pub fn remove_topic(&self, topic: &str) {
        for log in self.take_topic(topic) {
            if let Err(error) = log.close() {
                tracing::warn!(dir = %log.dir().display(), %error, "closing log failed");
            }
        }
    }

    /// Forgets a topic and hands back its open logs.
    fn take_topic(&self, topic: &str) -> Vec<Arc<Log>> {
        lock(&self.topics).remove(topic);
        lock(&self.topic_log_configs).remove(topic);
        if let Err(error) = self.log_starts.remove_topic(topic) {
            tracing::warn!(%topic, %error, "forgetting the topic's log start offsets failed");
        }
        let mut logs = lock(&self.logs);
        let gone: Vec<TopicPartition> = logs
            .keys()
            .filter(|tp| tp.topic == topic)
            .cloned()
            .collect();
        gone.iter().filter_map(|tp| logs.remove(tp)).collect()
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
        if let Some(log) = lock(&self.logs).get(&tp) {
            return Ok(log.clone());
        }
        // Opening may recover a log after an unclean stop, which reads its tail from disk: it
        // happens under this partition's own lock, so two requests never open one directory
        // twice, while every other partition is served meanwhile.
        let slot = lock(&self.opening).entry(tp.clone()).or_default().clone();
        let _opening = lock(&slot);
        if let Some(log) = lock(&self.logs).get(&tp) {
            return Ok(log.clone());
        }
        let config = lock(&self.topic_log_configs)
            .get(topic)
            .cloned()
            .unwrap_or_else(|| self.log_config.clone());
        let opened = Log::open(
            self.dir.join(tp.dir_name()),
            config,
            self.resources.clone(),
            OpenOptions {
                log_start_offset: self.log_starts.get(&tp),
                ..OpenOptions::default()
            },
        )
        .map(Arc::new);
        // Published before the slot goes, so a later caller finds the log, not a free slot.
        if let Ok(log) = &opened {
            lock(&self.logs).insert(tp.clone(), log.clone());
        }
        lock(&self.opening).remove(&tp);
        Ok(opened?)
    }

    /// Sets the log config of a topic's partitions: applied to its open logs now and used to
    /// open the others. A config the log engine refuses is reported and not applied.
    pub fn set_log_config(&self, topic: &str, config: LogConfig) -> Result<(), LogError> {
        config.validate()?;
        lock(&self.topic_log_configs).insert(topic.to_string(), config.clone());
        let open: Vec<Arc<Log>> = lock(&self.logs)
            .iter()
            .filter(|(tp, _)| tp.topic == topic)
            .map(|(_, log)| log.clone())
            .collect();
        for log in open {
            log.set_config(config.clone())?;
        }
        Ok(())
    }

    /// The partition's log if it is open already (never opens it).
    pub fn open_log(&self, topic: &str, partition: i32) -> Option<Arc<Log>> {
        lock(&self.logs)
            .get(&TopicPartition::new(topic, partition))
            .cloned()
    }

    /// The logs open now.
    pub fn open_logs(&self) -> Vec<(TopicPartition, Arc<Log>)> {
        lock(&self.logs)
            .iter()
            .map(|(tp, log)| (tp.clone(), log.clone()))
            .collect()
    }

    /// Stops serving a topic that is being deleted and returns what must go from disk: its
    /// open logs and every `<topic>-<partition>` directory. Run the result with
    /// [`TopicRemoval::execute`] off the async workers.
    pub fn remove_topic_for_deletion(&self, topic: &str) -> TopicRemoval {
        TopicRemoval {
            dir: self.dir.clone(),
            topic: topic.to_string(),
            logs: self.take_topic(topic),
        }
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

/// A deleted topic's logs and directories, to be removed from disk (blocking work).
pub struct TopicRemoval {
    dir: PathBuf,
    topic: String,
    logs: Vec<Arc<Log>>,
}

impl TopicRemoval {
    /// Deletes the open logs, then any other directory of the topic's partitions (a partition
    /// never opened since startup, or beyond the count). Returns the directories removed.
    pub fn execute(self) -> Result<Vec<PathBuf>, std::io::Error> {
        let mut removed = Vec::new();
        for log in self.logs {
            let dir = log.dir().to_path_buf();
            match log.delete() {
                Ok(()) => removed.push(dir),
                Err(error) => {
                    // The directory is removed below regardless.
                    tracing::warn!(dir = %dir.display(), %error, "deleting log failed");
                }
            }
        }
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if is_partition_dir_of(name, &self.topic) && path.is_dir() {
                std::fs::remove_dir_all(&path)?;
                removed.push(path);
            }
        }
        Ok(removed)
    }
}

/// `<topic>-<digits>`: exactly the directories of `topic`'s partitions (topic `a` does not
/// claim `a-b-0`, whose suffix after `a-` is not a number).
fn is_partition_dir_of(name: &str, topic: &str) -> bool {
    name.strip_prefix(topic)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A poisoned lock only means another request panicked mid-update of a map whose entries are
/// each valid on their own; keep serving.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_directories_are_matched_exactly() {
        assert!(is_partition_dir_of("a-0", "a"));
        assert!(is_partition_dir_of("a-12", "a"));
        assert!(!is_partition_dir_of("a-b-0", "a"));
        assert!(!is_partition_dir_of("a-", "a"));
        assert!(!is_partition_dir_of("ab-0", "a"));
        assert!(is_partition_dir_of("a-b-0", "a-b"));
    }
}
