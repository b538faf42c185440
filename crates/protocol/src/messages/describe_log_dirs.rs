//! DescribeLogDirs (key 35), versions 0-4, flexible from 2.
//!
//! What kafka-log-dirs.sh and the consoles use for the size of each partition's log: every
//! log directory of the broker asked, and the partitions in it.

use crate::message::message;

message! {
    /// The partitions to describe (null: every partition in every directory).
    pub struct DescribeLogDirsRequest {
        topics: Option<Vec<DescribableLogDirTopic>> [nullable 0..],
    }

    /// Partitions of one topic.
    pub struct DescribableLogDirTopic {
        topic: String,
        partitions: Vec<i32>,
    }

    /// One result per log directory.
    pub struct DescribeLogDirsResponse {
        throttle_time_ms: i32,
        error_code: i16 [versions 3..],
        results: Vec<DescribeLogDirsResult>,
    }

    /// One log directory and the partitions it holds.
    pub struct DescribeLogDirsResult {
        error_code: i16,
        log_dir: String,
        topics: Vec<DescribeLogDirsTopic>,
        total_bytes: i64 [versions 4..] = -1,
        usable_bytes: i64 [versions 4..] = -1,
    }

    /// Partitions of one topic in the directory.
    pub struct DescribeLogDirsTopic {
        name: String,
        partitions: Vec<DescribeLogDirsPartition>,
    }

    /// A partition's log: its size in bytes, and how far a future replica is behind (always 0
    /// here: there are no future replicas, which only moves between directories make).
    pub struct DescribeLogDirsPartition {
        partition_index: i32,
        partition_size: i64,
        offset_lag: i64,
        is_future_key: bool,
    }
}
