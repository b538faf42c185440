//! Per-log configuration, named after Kafka's topic configs.

use crate::error::{LogError, Result};

/// `cleanup.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CleanupPolicy {
    /// Delete whole segments by time and size (Kafka's default).
    #[default]
    Delete,
    /// Keep the latest record per key.
    Compact,
    /// Both.
    CompactDelete,
}

impl CleanupPolicy {
    /// Parses Kafka's config value (`delete`, `compact`, `compact,delete` in any order).
    pub fn parse(s: &str) -> Result<Self> {
        let mut compact = false;
        let mut delete = false;
        for part in s.split(',').map(str::trim) {
            match part {
                "compact" => compact = true,
                "delete" => delete = true,
                other => {
                    return Err(LogError::InvalidConfig(format!(
                        "unknown cleanup.policy {other:?}"
                    )))
                }
            }
        }
        Ok(match (compact, delete) {
            (true, true) => CleanupPolicy::CompactDelete,
            (true, false) => CleanupPolicy::Compact,
            _ => CleanupPolicy::Delete,
        })
    }
    pub fn compacts(self) -> bool {
        matches!(self, CleanupPolicy::Compact | CleanupPolicy::CompactDelete)
    }
    pub fn deletes(self) -> bool {
        matches!(self, CleanupPolicy::Delete | CleanupPolicy::CompactDelete)
    }
}

/// Configuration of one log. Defaults are Kafka's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll when the active segment would grow past this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll when the active segment is older than this (counted from its first
    /// append, or from the open for a reopened segment).
    pub segment_ms: u64,
    /// `index.interval.bytes`: bytes of log between two index entries.
    pub index_interval_bytes: u64,
    /// `max.message.bytes`: largest batch accepted.
    pub max_message_bytes: usize,
    /// `flush.messages`: fsync after this many messages; `Some(1)` = every append; `None` = leave
    /// it to the OS and to explicit `flush` calls (Kafka's default, relying on replication).
    pub flush_messages: Option<u64>,
    /// `flush.ms`: fsync (on the next append) when the last flush is older than this.
    pub flush_ms: Option<u64>,
    /// `retention.ms`; `None` = keep forever.
    pub retention_ms: Option<u64>,
    /// `retention.bytes`; `None` = no size limit.
    pub retention_bytes: Option<u64>,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `delete.retention.ms`: how long tombstones survive compaction.
    pub delete_retention_ms: u64,
    /// Memory budget of one compaction pass's key map (`log.cleaner.dedupe.buffer.size`).
    pub cleaner_map_bytes: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            index_interval_bytes: 4096,
            max_message_bytes: 1_048_588,
            flush_messages: None,
            flush_ms: None,
            retention_ms: Some(7 * 24 * 3600 * 1000),
            retention_bytes: None,
            cleanup_policy: CleanupPolicy::Delete,
            delete_retention_ms: 24 * 3600 * 1000,
            cleaner_map_bytes: 128 << 20,
        }
    }
}

impl LogConfig {
    /// Rejects values that would break invariants (positions and relative offsets are u32).
    pub fn validate(&self) -> Result<()> {
        if self.segment_bytes < 14 || self.segment_bytes > i32::MAX as u64 {
            return Err(LogError::InvalidConfig(format!(
                "segment.bytes {} must be in [14, {}]",
                self.segment_bytes,
                i32::MAX
            )));
        }
        if self.max_message_bytes > i32::MAX as usize {
            return Err(LogError::InvalidConfig(
                "max.message.bytes too large".into(),
            ));
        }
        if self.flush_messages == Some(0) {
            return Err(LogError::InvalidConfig(
                "flush.messages must be >= 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_policies() {
        assert_eq!(
            CleanupPolicy::parse("delete").unwrap(),
            CleanupPolicy::Delete
        );
        assert_eq!(
            CleanupPolicy::parse("compact").unwrap(),
            CleanupPolicy::Compact
        );
        assert_eq!(
            CleanupPolicy::parse("delete, compact").unwrap(),
            CleanupPolicy::CompactDelete
        );
        assert!(CleanupPolicy::parse("shred").is_err());
        assert!(LogConfig::default().validate().is_ok());
        assert!(LogConfig {
            segment_bytes: 1,
            ..LogConfig::default()
        }
        .validate()
        .is_err());
    }
}
