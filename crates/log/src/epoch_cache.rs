//! The leader-epoch cache: which leader epoch started at which offset.
//!
//! A follower that becomes leader, or a follower of a new leader, asks "where does your log end
//! for epoch E?" (OffsetForLeaderEpoch) and truncates to the answer, which is how replicas that
//! diverged in an unclean moment converge without losing acknowledged records.
//!
//! # File format (`leader-epoch-checkpoint` in the log directory, Kafka's)
//!
//! ```text
//! 0            version
//! 2            number of entries
//! 0 0          epoch startOffset
//! 3 1500
//! ```
//!
//! Rewritten atomically whenever an entry is added or truncated (rare: once per leader change).

use std::path::{Path, PathBuf};

use crate::checkpoint;
use crate::error::{LogError, Result};
use crate::fault::FaultInjector;
use crate::io;

/// File name inside the log directory.
pub const LEADER_EPOCH_CHECKPOINT: &str = "leader-epoch-checkpoint";
/// Epoch value meaning "unknown".
pub const UNDEFINED_EPOCH: i32 = -1;
/// Offset value meaning "unknown".
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// One cache entry: `epoch` started at `start_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// The epoch -> start offset map of one log, kept sorted by epoch and by offset.
#[derive(Debug)]
pub struct LeaderEpochCache {
    path: PathBuf,
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// Loads the cache from `dir/leader-epoch-checkpoint` (empty if the file is missing).
    pub(crate) fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(LEADER_EPOCH_CHECKPOINT);
        let mut entries: Vec<EpochEntry> = Vec::new();
        if let Some(bytes) = io::read_file_if_exists(&path)? {
            let content = String::from_utf8_lossy(&bytes);
            for (i, line) in checkpoint::parse(&path, &content)?.into_iter().enumerate() {
                let bad = || LogError::MalformedCheckpoint {
                    path: path.clone(),
                    line: i + 3,
                    reason: format!("expected `epoch startOffset`, got {line:?}"),
                };
                let mut f = line.split(' ');
                let (Some(e), Some(o), None) = (f.next(), f.next(), f.next()) else {
                    return Err(bad());
                };
                let entry = EpochEntry {
                    epoch: e.parse().map_err(|_| bad())?,
                    start_offset: o.parse().map_err(|_| bad())?,
                };
                if entries
                    .last()
                    .is_some_and(|l| entry.epoch <= l.epoch || entry.start_offset < l.start_offset)
                {
                    return Err(bad());
                }
                entries.push(entry);
            }
        }
        Ok(LeaderEpochCache { path, entries })
    }

    /// Writes the cache to its checkpoint file.
    pub(crate) fn persist(&self, faults: &FaultInjector) -> Result<()> {
        let lines: Vec<String> = self
            .entries
            .iter()
            .map(|e| format!("{} {}", e.epoch, e.start_offset))
            .collect();
        io::write_file_atomically(faults, &self.path, checkpoint::render(&lines).as_bytes())
    }

    /// All entries, oldest first.
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    /// The newest epoch, if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts at `start_offset`; returns whether the cache changed. Entries
    /// that conflict (an equal or newer epoch, or a start at or after this one) are dropped,
    /// as Kafka does, so the cache stays monotonic in both columns.
    pub(crate) fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 || start_offset < 0 {
            return false;
        }
        if let Some(last) = self.entries.last() {
            if last.epoch == epoch && last.start_offset <= start_offset {
                return false;
            }
        }
        while self
            .entries
            .last()
            .is_some_and(|e| e.epoch >= epoch || e.start_offset >= start_offset)
        {
            self.entries.pop();
        }
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        true
    }

    /// OffsetForLeaderEpoch: the largest epoch <= `requested` and the offset where the next
    /// epoch starts (or the log end offset for the latest epoch). Mirrors Kafka's `endOffsetFor`.
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> (i32, i64) {
        if requested == UNDEFINED_EPOCH || self.entries.is_empty() {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        if self.latest_epoch() == Some(requested) {
            return (requested, log_end_offset);
        }
        let higher = self.entries.partition_point(|e| e.epoch <= requested);
        if higher == self.entries.len() {
            // Newer than anything we know.
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        let higher_start = self.entries[higher].start_offset;
        if higher == 0 {
            (requested, higher_start)
        } else {
            (self.entries[higher - 1].epoch, higher_start)
        }
    }

    /// Drops entries starting at or after `end_offset` (the log was truncated to it).
    pub(crate) fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        let keep = self
            .entries
            .partition_point(|e| e.start_offset < end_offset);
        let changed = keep < self.entries.len();
        self.entries.truncate(keep);
        changed
    }

    /// Drops entries wholly before `start_offset` (the log start moved), keeping the epoch that
    /// covers `start_offset` with its start moved up to it.
    pub(crate) fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let below = self
            .entries
            .partition_point(|e| e.start_offset <= start_offset);
        if below == 0 {
            return false;
        }
        let last_below = self.entries[below - 1];
        if below == 1 && last_below.start_offset == start_offset {
            return false;
        }
        self.entries.drain(..below);
        self.entries.insert(
            0,
            EpochEntry {
                epoch: last_below.epoch,
                start_offset,
            },
        );
        true
    }

    /// Removes every entry.
    pub(crate) fn clear(&mut self) -> bool {
        let changed = !self.entries.is_empty();
        self.entries.clear();
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> (tempfile::TempDir, LeaderEpochCache) {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::load(dir.path()).unwrap();
        for (e, o) in entries {
            assert!(c.assign(*e, *o));
        }
        (dir, c)
    }

    #[test]
    fn persists_in_kafka_format() {
        let (dir, c) = cache(&[(0, 0), (3, 1500)]);
        c.persist(&FaultInjector::default()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(LEADER_EPOCH_CHECKPOINT)).unwrap();
        assert_eq!(text, "0\n2\n0 0\n3 1500\n");
        let back = LeaderEpochCache::load(dir.path()).unwrap();
        assert_eq!(back.entries(), c.entries());
    }

    #[test]
    fn rejects_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEADER_EPOCH_CHECKPOINT);
        for bad in ["0\n1\nx 1\n", "0\n2\n3 5\n1 9\n", "0\n1\n1 2 3\n"] {
            std::fs::write(&path, bad).unwrap();
            assert!(LeaderEpochCache::load(dir.path()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn assign_keeps_cache_monotonic() {
        let (_d, mut c) = cache(&[(1, 0), (2, 10), (4, 20)]);
        assert!(!c.assign(4, 25));
        assert!(c.assign(3, 15)); // conflicting newer epoch 4 is dropped
        assert_eq!(
            c.entries(),
            &[
                EpochEntry {
                    epoch: 1,
                    start_offset: 0
                },
                EpochEntry {
                    epoch: 2,
                    start_offset: 10
                },
                EpochEntry {
                    epoch: 3,
                    start_offset: 15
                }
            ]
        );
        assert!(!c.assign(-1, 30));
    }

    #[test]
    fn end_offset_for_matches_kafka() {
        let (_d, c) = cache(&[(1, 0), (2, 10), (4, 20)]);
        assert_eq!(c.end_offset_for(4, 30), (4, 30));
        assert_eq!(c.end_offset_for(2, 30), (2, 20));
        assert_eq!(c.end_offset_for(3, 30), (2, 20));
        assert_eq!(c.end_offset_for(0, 30), (0, 0));
        assert_eq!(
            c.end_offset_for(5, 30),
            (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
        );
        assert_eq!(
            c.end_offset_for(UNDEFINED_EPOCH, 30),
            (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
        );
    }

    #[test]
    fn truncation_both_ends() {
        let (_d, mut c) = cache(&[(1, 0), (2, 10), (4, 20)]);
        assert!(c.truncate_from_end(20));
        assert_eq!(c.latest_epoch(), Some(2));
        assert!(!c.truncate_from_end(20));
        assert!(c.truncate_from_start(15));
        assert_eq!(
            c.entries(),
            &[EpochEntry {
                epoch: 2,
                start_offset: 15
            }]
        );
        assert!(!c.truncate_from_start(15));
        assert!(!c.truncate_from_start(3));
        assert!(c.clear());
    }
}
