//! `<log.dirs>/replication-offset-checkpoint`: each hosted partition's high watermark, in
//! Kafka's checkpoint format (version line, count line, `topic partition offset` lines),
//! written every `replica.high.watermark.checkpoint.interval.ms` and at shutdown, read at
//! startup so that a restarted leader does not start from zero.
//!
//! A high watermark read back is only a starting point: a leader moves it as its ISR
//! fetches, a follower takes its leader's, and both cap it at the log end.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use ferry_log::{LogError, OffsetCheckpointFile, TopicPartition, REPLICATION_OFFSET_CHECKPOINT};

use super::Partition;

/// The checkpoint file and what it held at startup.
pub struct HighWatermarks {
    file: OffsetCheckpointFile,
    at_start: Mutex<BTreeMap<TopicPartition, i64>>,
}

impl HighWatermarks {
    /// Reads the checkpoint in `dir`; a missing or unreadable one starts every partition at 0.
    pub fn load(dir: &Path) -> Self {
        let file = OffsetCheckpointFile::new(dir.join(REPLICATION_OFFSET_CHECKPOINT));
        let at_start = file.read().unwrap_or_else(|error| {
            tracing::warn!(path = %file.path().display(), %error,
                "high watermark checkpoint unreadable; starting from 0");
            BTreeMap::new()
        });
        HighWatermarks {
            file,
            at_start: Mutex::new(at_start),
        }
    }

    /// The checkpointed high watermark of `tp` (0 if none).
    pub fn get(&self, tp: &TopicPartition) -> i64 {
        self.at_start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(tp)
            .copied()
            .unwrap_or(0)
    }

    /// Writes the high watermarks of `partitions` (blocking file I/O).
    pub fn write(&self, partitions: &[std::sync::Arc<Partition>]) -> Result<(), LogError> {
        let entries: BTreeMap<TopicPartition, i64> = partitions
            .iter()
            .map(|p| (p.tp.clone(), p.high_watermark()))
            .collect();
        self.file.write(&entries)
    }
}
