//! The crate's error type.
//!
//! Every I/O failure carries the operation and the path it was attempted on, because an operator
//! reading "No space left on device" needs to know which log directory filled up. Errors about
//! bytes (a corrupt batch on append, a corrupt file during a read) carry the position or the reason
//! so a produce request can be answered with Kafka's CORRUPT_MESSAGE and the log stays unchanged.

use std::io;
use std::path::{Path, PathBuf};

/// Result alias for this crate.
pub type Result<T, E = LogError> = std::result::Result<T, E>;

/// Why a record batch was refused (on append) or judged corrupt (on read or recovery).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("batch truncated: need {needed} bytes at position {position}, have {available}")]
    Truncated {
        position: usize,
        needed: usize,
        available: usize,
    },
    #[error("batch at position {position} has invalid length {length}")]
    InvalidLength { position: usize, length: i32 },
    #[error("batch at position {position} has unsupported magic {magic} (only v2 is stored)")]
    UnsupportedMagic { position: usize, magic: i8 },
    #[error("batch at position {position} fails its CRC32C: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        position: usize,
        stored: u32,
        computed: u32,
    },
    #[error("batch at position {position} has invalid header field {field} = {value}")]
    InvalidField {
        position: usize,
        field: &'static str,
        value: i64,
    },
    #[error("batch of {size} bytes exceeds max.message.bytes {max}")]
    TooLarge { size: usize, max: usize },
    #[error("empty record set")]
    Empty,
    #[error("batch offsets go backwards: base offset {base_offset} below expected {expected}")]
    OffsetsNotIncreasing { base_offset: i64, expected: i64 },
    #[error("record inside batch is malformed: {0}")]
    MalformedRecord(&'static str),
    /// The batch's header and CRC are fine but its records are not (Kafka's
    /// `InvalidRecordException`, answered with INVALID_RECORD): `record` is the index of the
    /// record at fault inside the batch, if one is.
    #[error("batch at position {position}{}: {reason}", record.map(|r| format!(", record {r}")).unwrap_or_default())]
    InvalidRecord {
        position: usize,
        record: Option<i32>,
        reason: String,
    },
}

/// Errors returned by the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An operating-system I/O call failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A produce/replica record set is not acceptable; nothing was written.
    #[error("invalid record batch: {0}")]
    InvalidBatch(#[from] BatchError),
    /// Bytes already on disk do not parse; the log is not changed by the failed call.
    #[error("corrupt data in {path} at position {position}: {reason}")]
    Corrupt {
        path: PathBuf,
        position: u64,
        reason: String,
    },
    /// The requested offset is not between the log start offset and the log end offset.
    #[error("offset {offset} out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    /// A follower append whose offsets do not follow the log end.
    #[error("unexpected append offset {base_offset}, log end offset is {log_end_offset}")]
    UnexpectedAppendOffset {
        base_offset: i64,
        log_end_offset: i64,
    },
    /// A leader append stamped with an epoch older than the log's newest: the appender lost
    /// the leadership meanwhile (a new epoch started), so the batch must not go in.
    #[error("leader epoch {epoch} is older than the log's latest epoch {latest}")]
    StaleLeaderEpoch { epoch: i32, latest: i32 },
    /// A text checkpoint file could not be parsed.
    #[error("malformed checkpoint file {path} line {line}: {reason}")]
    MalformedCheckpoint {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// A configuration value makes no sense.
    #[error("invalid log configuration: {0}")]
    InvalidConfig(String),
    /// The log was closed or deleted; it accepts no more calls.
    #[error("log {0} is closed")]
    Closed(PathBuf),
}

impl LogError {
    /// Wraps an `io::Error` with the operation and the path.
    pub fn io(op: &'static str, path: impl AsRef<Path>, source: io::Error) -> Self {
        LogError::Io {
            op,
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// The underlying `io::ErrorKind`, if this is an I/O error.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            LogError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// `.map_err(io_err("read", &path))` — keeps call sites short while always naming op and path.
pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> LogError + 'a {
    move |e| LogError::io(op, path, e)
}
