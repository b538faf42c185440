//! Kafka's text checkpoint files.
//!
//! # Format
//!
//! ```text
//! 0                     version
//! 2                     number of entry lines
//! my-topic 0 1234       one entry per line, fields separated by single spaces
//! my-topic 1 99
//! ```
//!
//! The same layout serves `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`,
//! `replication-offset-checkpoint` and `cleaner-offset-checkpoint` (entries `topic partition
//! offset`, one file per log directory *root*, covering every partition in it) and each log's own
//! `leader-epoch-checkpoint` (entries `epoch startOffset`, see `epoch_cache`). Files are replaced
//! atomically (write `NAME.tmp`, fsync, rename, fsync the directory), as Kafka does, so a crash
//! leaves the old or the new version.
//!
//! The log itself does not write the root files: it only exposes its recovery point and log start
//! offset; the broker's log manager collects them from all partitions and writes one file with
//! [`OffsetCheckpointFile`], and passes the values back in [`crate::OpenOptions`] on startup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{LogError, Result};
use crate::fault::FaultInjector;
use crate::io;

/// File name of the per-root recovery point checkpoint.
pub const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";
/// File name of the per-root log start offset checkpoint.
pub const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";
/// File name of the per-root high watermark checkpoint.
pub const REPLICATION_OFFSET_CHECKPOINT: &str = "replication-offset-checkpoint";

const VERSION: u32 = 0;

/// Renders a checkpoint file from its entry lines.
pub(crate) fn render(lines: &[String]) -> String {
    let mut out = format!("{VERSION}\n{}\n", lines.len());
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Parses a checkpoint file into its entry lines, checking version and count.
pub(crate) fn parse<'a>(path: &Path, content: &'a str) -> Result<Vec<&'a str>> {
    let bad = |line: usize, reason: String| LogError::MalformedCheckpoint {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = content.lines();
    let version = lines.next().ok_or_else(|| bad(1, "empty file".into()))?;
    if version.trim() != VERSION.to_string() {
        return Err(bad(1, format!("unsupported version {version:?}")));
    }
    let count: usize = lines
        .next()
        .ok_or_else(|| bad(2, "missing entry count".into()))?
        .trim()
        .parse()
        .map_err(|e| bad(2, format!("bad entry count: {e}")))?;
    let entries: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    if entries.len() != count {
        return Err(bad(
            2,
            format!("expected {count} entries, found {}", entries.len()),
        ));
    }
    Ok(entries)
}

/// A partition, as named in the root checkpoint files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }

    /// Kafka's partition directory name, `topic-partition`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    /// Parses a partition directory name (the topic may itself contain dashes).
    pub fn from_dir_name(name: &str) -> Option<Self> {
        let (topic, partition) = name.rsplit_once('-')?;
        if topic.is_empty() {
            return None;
        }
        Some(TopicPartition::new(topic, partition.parse().ok()?))
    }
}

/// A `topic partition offset` checkpoint file in a log directory root.
#[derive(Debug, Clone)]
pub struct OffsetCheckpointFile {
    path: PathBuf,
}

impl OffsetCheckpointFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OffsetCheckpointFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads all entries; a missing file reads as empty.
    pub fn read(&self) -> Result<BTreeMap<TopicPartition, i64>> {
        let Some(bytes) = io::read_file_if_exists(&self.path)? else {
            return Ok(BTreeMap::new());
        };
        let content = String::from_utf8_lossy(&bytes);
        let mut out = BTreeMap::new();
        for (i, line) in parse(&self.path, &content)?.into_iter().enumerate() {
            let bad = |reason: &str| LogError::MalformedCheckpoint {
                path: self.path.clone(),
                line: i + 3,
                reason: format!("{reason}: {line:?}"),
            };
            let mut f = line.split(' ');
            let (Some(topic), Some(p), Some(o), None) = (f.next(), f.next(), f.next(), f.next())
            else {
                return Err(bad("expected `topic partition offset`"));
            };
            let partition = p.parse().map_err(|_| bad("bad partition"))?;
            let offset = o.parse().map_err(|_| bad("bad offset"))?;
            out.insert(TopicPartition::new(topic, partition), offset);
        }
        Ok(out)
    }

    /// Atomically replaces the file with `entries`.
    pub fn write(&self, entries: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        let lines: Vec<String> = entries
            .iter()
            .map(|(tp, o)| format!("{} {} {}", tp.topic, tp.partition, o))
            .collect();
        io::write_file_atomically(
            &FaultInjector::default(),
            &self.path,
            render(&lines).as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_kafka_format() {
        let dir = tempfile::tempdir().unwrap();
        let file = OffsetCheckpointFile::new(dir.path().join(RECOVERY_POINT_CHECKPOINT));
        assert!(file.read().unwrap().is_empty());
        let mut m = BTreeMap::new();
        m.insert(TopicPartition::new("my-topic", 0), 1234);
        m.insert(TopicPartition::new("__consumer_offsets", 17), 5);
        file.write(&m).unwrap();
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert_eq!(text, "0\n2\n__consumer_offsets 17 5\nmy-topic 0 1234\n");
        assert_eq!(file.read().unwrap(), m);
    }

    #[test]
    fn rejects_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp");
        let file = OffsetCheckpointFile::new(&path);
        for bad in [
            "",
            "1\n0\n",
            "0\n2\nt 0 1\n",
            "0\n1\nt x 1\n",
            "0\n1\nt 0\n",
            "0\nz\n",
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(file.read().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dir_names() {
        let tp = TopicPartition::from_dir_name("my-topic-12").unwrap();
        assert_eq!(tp, TopicPartition::new("my-topic", 12));
        assert_eq!(tp.dir_name(), "my-topic-12");
        assert!(TopicPartition::from_dir_name("-1").is_none());
        assert!(TopicPartition::from_dir_name("nodash").is_none());
    }
}
