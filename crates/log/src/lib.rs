//! # ferry-log: the segmented commit-log storage engine
//!
//! One [`Log`] per partition: an append-only sequence of Kafka record batches (magic v2) in a
//! directory of segment files, byte-compatible with Kafka's own on-disk layout so that an existing
//! Kafka log directory opens as it is and Kafka's tools can read what Ferry writes. The crate has
//! no network code and no async: the broker calls it from its request handlers (appends and reads
//! are short positional syscalls) and runs flushing, retention and compaction from background
//! threads.
//!
//! ## On-disk layout
//!
//! ```text
//! <log.dirs>/                          one or more roots (the broker's business)
//!   recovery-point-offset-checkpoint   "topic partition offset" per log   (checkpoint.rs)
//!   log-start-offset-checkpoint        "topic partition offset" per log   (checkpoint.rs)
//!   <topic>-<partition>/               one Log
//!     00000000000000000000.log         record batches exactly as appended (batch.rs, segment.rs)
//!     00000000000000000000.index       relative offset u32 -> position u32 (offset_index.rs)
//!     00000000000000000000.timeindex   timestamp i64 -> relative offset u32 (time_index.rs)
//!     00000000000000123456.log ...     next segment, named by its base offset (20 digits)
//!     leader-epoch-checkpoint          "epoch startOffset" lines            (epoch_cache.rs)
//! ```
//!
//! Every format is documented in the module that writes it. Transient names: `*.cleaned` and
//! `*.swap` (compaction, see `cleaner`), `*.tmp` (checkpoint being replaced); recovery deals with
//! leftovers. Kafka's `.txnindex`, `.snapshot` (producer state) and `partition.metadata` files are
//! ignored and left alone.
//!
//! ## Invariants
//!
//! * Segments are ordered by base offset, never empty as a list, and the last one is the only
//!   one appended to (the *active* segment). Within a segment, batch offsets strictly increase,
//!   positions and relative offsets fit in u32/i31 (the roll rule guarantees it).
//! * `log_start_offset <= log_end_offset`; reads below the start or above the end fail with
//!   [`LogError::OffsetOutOfRange`]. The high watermark is the caller's: pass it as `max_offset`
//!   to [`Log::read`] for consumers. [`Log::read_file_slice`] gives a follower's read as a
//!   slice of the segment file (for `sendfile`) when it needs no cutting (`read.rs`).
//! * A batch becomes visible to readers only after all its bytes are written (size published
//!   with release ordering after the `pwrite`).
//! * An append either fully succeeds or leaves the log as it was: the whole record set is
//!   validated (header, CRC32C, size) before anything is written, and a failed write is cut back.
//! * The leader-epoch checkpoint is written before the data that starts a new epoch, so it always
//!   covers what is on disk.
//! * Nothing read from disk can panic the process: every length and offset is checked and errors
//!   name the file, the position and the reason.
//!
//! ## Module map (one concept each)
//!
//! | module | concept |
//! |---|---|
//! | `batch` | v2 batch header: parse, validate, CRC32C, offset/epoch rewrite |
//! | `record`, `compression`, `builder` | records inside a batch (varints), gzip, building batches |
//! | `offset_index`, `time_index`, `indexer` | the two sparse indexes and the rule that fills them |
//! | `segment`, `scan` | one segment's files; chunked header walking |
//! | `log` | the segment list, append, read, roll; concurrency design |
//! | `flush`, `truncate`, `retention`, `time_lookup` | durability, follower truncation, deletion, ListOffsets by time |
//! | `recovery` | opening a directory: leftovers, swaps, index checks, crash recovery ([`RecoveryReport`]) |
//! | `cleaner` | compaction (`cleaner::offset_map`, `cleaner::filter`) |
//! | `epoch_cache`, `checkpoint` | leader-epoch cache and Kafka's text checkpoint files |
//! | `fd_cache`, `lru` | [`Resources`]: shared open-file and index caches, clock, fault injection |
//!
//! ## Concurrency
//!
//! One writer and any number of readers per log, plus a background cleaner. Writers serialize on
//! a mutex readers never take; readers snapshot the segment list (`Arc` clone under a short
//! read lock) and then do positional reads (`pread` via `FileExt`) without holding any lock, so
//! a slow reader never delays an append. Details in `log`.
//!
//! ## Indexes: in memory, not mmap
//!
//! Kafka mmaps preallocated index files. Mapping needs `unsafe` (denied in this workspace) and
//! turns a shrinking file into SIGBUS. Index entries are 0.2% of the data, so the active segment
//! keeps them in a `Vec` (appended to the file lazily; they are rebuilt by recovery if lost) and
//! sealed segments load their index file on first use into an LRU with a byte budget shared by all
//! logs. A lookup is a binary search over a slice plus one or two `pread`s.
//!
//! ## Thousands of logs
//!
//! Segments hold no file handles. [`Resources`] opens files lazily and closes the least recently
//! used beyond `max_open_files` (default 512), shared by all logs of a broker, so the fd count is
//! bounded regardless of how many partitions and segments exist.
//!
//! ## Durability and recovery
//!
//! Flushing follows `flush.messages` / `flush.ms` (default: never, relying on replication, as
//! Kafka). [`Log::flush`] fsyncs and advances the recovery point, which the broker writes to the
//! root `recovery-point-offset-checkpoint` ([`OffsetCheckpointFile`]) and passes back in
//! [`OpenOptions`]. On open, segments from the one holding the recovery point are read back
//! batch by batch with CRC checks; the first bad batch and everything after it is cut, and the
//! indexes are rebuilt ([`RecoveryReport`] says what was cut and why). A clean [`Log::close`]
//! makes the next open skip the scan.
//!
//! ## Faults
//!
//! I/O errors carry the operation and path ([`LogError::Io`]). A full disk fails the append and
//! leaves the log readable and appendable once space is back. After an fsync failure the caller
//! should treat the log directory as failed (as Kafka takes it offline): the page cache state is
//! unknown. [`FaultInjector`] (in [`Resources`]) lets tests fail writes and syncs on demand.
//!
//! ## Not done here (yet)
//!
//! * Compaction decodes uncompressed and gzip batches only; snappy, lz4 and zstd batches are kept
//!   untouched (never corrupted) and then no tombstone is dropped in that pass.
//! * No producer-state snapshots or transaction index (`.snapshot`, `.txnindex`): idempotence and
//!   transactions need them at the broker level; compaction does not keep empty batches for
//!   producer state; `min.compaction.lag.ms`, the dirty ratio and the cleaner checkpoint are the
//!   scheduler's business (each [`Log::compact`] pass cleans all sealed segments within its map
//!   budget).
//! * `message.timestamp.type=LogAppendTime` stamping, and record-level validation on append
//!   (Kafka's LogValidator: key required for compacted topics, per-record checks): records are
//!   stored as received.
//! * File preallocation (`file.preallocate`) and asynchronous deletion (`.deleted` + delay).
//!
//! ## Testing
//!
//! `cargo test -p ferry-log`: unit tests beside each module, `src/log_tests.rs` for the log as a
//! whole, `tests/model.rs` (proptest against an in-memory model), `tests/crash.rs` (kill -9 of a
//! child process that appends and compacts, plus simulated torn writes), `tests/concurrency.rs`
//! (writer, readers, cleaner and flusher at once). Benchmark:
//! `cargo run --release -p ferry-log --example logbench` (prints figures, asserts nothing).
#![forbid(unsafe_code)]

mod batch;
mod builder;
mod checkpoint;
mod cleaner;
mod clock;
mod compression;
mod config;
mod epoch_cache;
mod error;
mod fault;
mod fd_cache;
mod flush;
mod indexer;
mod io;
mod log;
mod lru;
mod offset_index;
mod read;
mod record;
mod recovery;
mod retention;
mod scan;
mod segment;
mod time_index;
mod time_lookup;
mod truncate;
mod validate;

pub use batch::{
    compute_crc, set_base_offset, set_partition_leader_epoch, validate_record_set, verify_crc,
    BatchHeader, BatchIter, Compression, HEADER_SIZE, MAGIC_V2, NO_PARTITION_LEADER_EPOCH,
    NO_TIMESTAMP,
};
pub use builder::BatchBuilder;
pub use checkpoint::{
    OffsetCheckpointFile, TopicPartition, LOG_START_OFFSET_CHECKPOINT, RECOVERY_POINT_CHECKPOINT,
    REPLICATION_OFFSET_CHECKPOINT,
};
pub use cleaner::filter::records_of as decompressed_records;
pub use cleaner::CleanerStats;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{CleanupPolicy, LogConfig};
pub use epoch_cache::{
    EpochEntry, LEADER_EPOCH_CHECKPOINT, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET,
};
pub use error::{BatchError, LogError, Result};
pub use fault::FaultInjector;
pub use fd_cache::Resources;
pub use log::{AppendInfo, AppendOrigin, Log, OpenOptions, SegmentInfo, TimestampOffset};
pub use read::{FileRead, ReadResult};
pub use record::{read_varint, read_varlong, Record, RecordIter};
pub use recovery::{RecoveryReport, Truncation};
pub use retention::RetentionReport;
pub use validate::{validate_batch_records, RecordRules, MAX_DECOMPRESSED};

#[cfg(test)]
mod log_tests;
