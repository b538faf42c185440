//! Log start offsets moved by DeleteRecords, kept across restarts in the log directory's root
//! `log-start-offset-checkpoint` (Kafka's file and format: a version line `0`, an entry count,
//! then `topic partition offset` lines; written atomically through a temporary file, see
//! `ferry_log::OffsetCheckpointFile`).
//!
//! Without it a restart would put a partition's start back at its first segment's base offset
//! and records deleted inside that segment would be readable again. Retention needs no entry:
//! it removes whole segments, so the first remaining segment's base is the start. A log is
//! opened with its checkpointed start (see `Replicas::log`); a deleted topic's entries go with
//! it, so a topic created again under the same name starts at 0.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use ferry_log::{LogError, OffsetCheckpointFile, TopicPartition, LOG_START_OFFSET_CHECKPOINT};

/// The checkpointed log start offsets of one log directory.
#[derive(Debug)]
pub struct LogStarts {
    file: OffsetCheckpointFile,
    /// What the file holds; the file is rewritten whole on each change, under this lock.
    entries: Mutex<BTreeMap<TopicPartition, i64>>,
}

impl LogStarts {
    /// Reads the checkpoint of the log directory `dir` (none yet: empty). An unreadable file
    /// is reported and treated as empty: the logs then start at their first segment, which
    /// shows deleted records again but loses nothing.
    pub fn load(dir: &Path) -> Self {
        let file = OffsetCheckpointFile::new(dir.join(LOG_START_OFFSET_CHECKPOINT));
        let entries = file.read().unwrap_or_else(|error| {
            tracing::warn!(%error, "log start offset checkpoint unreadable; ignoring it");
            BTreeMap::new()
        });
        LogStarts {
            file,
            entries: Mutex::new(entries),
        }
    }

    /// The checkpointed start of a partition's log.
    pub fn get(&self, tp: &TopicPartition) -> Option<i64> {
        self.lock().get(tp).copied()
    }

    /// Records a partition's new log start offset (after DeleteRecords), durably.
    pub fn set(&self, tp: &TopicPartition, offset: i64) -> Result<(), LogError> {
        let mut entries = self.lock();
        if entries.get(tp) == Some(&offset) {
            return Ok(());
        }
        let mut next = entries.clone();
        next.insert(tp.clone(), offset);
        self.file.write(&next)?;
        *entries = next;
        Ok(())
    }

    /// Forgets a deleted topic's partitions.
    pub fn remove_topic(&self, topic: &str) -> Result<(), LogError> {
        let mut entries = self.lock();
        if !entries.keys().any(|tp| tp.topic == topic) {
            return Ok(());
        }
        let mut next = entries.clone();
        next.retain(|tp, _| tp.topic != topic);
        self.file.write(&next)?;
        *entries = next;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<TopicPartition, i64>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_survive_a_reload_and_go_with_their_topic() {
        let dir = tempfile::tempdir().unwrap();
        let a0 = TopicPartition::new("a", 0);
        let b1 = TopicPartition::new("b", 1);
        let starts = LogStarts::load(dir.path());
        assert_eq!(starts.get(&a0), None);
        starts.set(&a0, 40).unwrap();
        starts.set(&b1, 7).unwrap();
        let reloaded = LogStarts::load(dir.path());
        assert_eq!((reloaded.get(&a0), reloaded.get(&b1)), (Some(40), Some(7)));
        reloaded.remove_topic("a").unwrap();
        let again = LogStarts::load(dir.path());
        assert_eq!((again.get(&a0), again.get(&b1)), (None, Some(7)));
        let text = std::fs::read_to_string(dir.path().join(LOG_START_OFFSET_CHECKPOINT)).unwrap();
        assert_eq!(text, "0\n1\nb 1 7\n", "Kafka's checkpoint format");
    }
}
