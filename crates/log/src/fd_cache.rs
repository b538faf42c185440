//! Resources shared by every log of a broker: the open-file LRU, the index LRU, the clock and the
//! fault injector.
//!
//! A broker may host thousands of partitions with dozens of segments each; keeping three open
//! files per segment (as Kafka does) needs a very high fd limit. Here a segment holds no file
//! handle of its own: every access asks this cache, which opens files lazily and closes the least
//! recently used when more than `max_open_files` are open. Handles are `Arc<File>`, so a reader in
//! the middle of a `pread` keeps its handle alive even if it is evicted meanwhile; the cap can
//! therefore be exceeded briefly by the number of concurrent operations, never by the number of
//! segments. Sealed segments' indexes live in a second LRU bounded in bytes.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::clock::{Clock, SystemClock};
use crate::error::{LogError, Result};
use crate::fault::FaultInjector;
use crate::lru::Lru;
use crate::offset_index::OffsetEntry;
use crate::time_index::TimeEntry;

/// Which of a segment's three files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FileKind {
    Log,
    Index,
    TimeIndex,
}

/// A sealed segment's two indexes, loaded into memory.
#[derive(Debug, Default, Clone)]
pub(crate) struct SegmentIndexes {
    pub offsets: Vec<OffsetEntry>,
    pub times: Vec<TimeEntry>,
}

impl SegmentIndexes {
    fn weight(&self) -> usize {
        64 + self.offsets.len() * 8 + self.times.len() * 16
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Limits and shared state for a set of logs (normally one per broker). Cheap to share via `Arc`.
#[derive(Debug)]
pub struct Resources {
    files: Mutex<Lru<(u64, FileKind), Arc<File>>>,
    indexes: Mutex<Lru<u64, Arc<SegmentIndexes>>>,
    faults: FaultInjector,
    clock: Arc<dyn Clock>,
    next_uid: AtomicU64,
    opens: AtomicU64,
}

impl std::fmt::Debug for Lru<(u64, FileKind), Arc<File>> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileLru({} open)", self.len())
    }
}
impl std::fmt::Debug for Lru<u64, Arc<SegmentIndexes>> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IndexLru({} bytes)", self.weight())
    }
}

impl Default for Resources {
    fn default() -> Self {
        Resources::new(
            Self::DEFAULT_MAX_OPEN_FILES,
            Self::DEFAULT_MAX_INDEX_BYTES,
            Arc::new(SystemClock),
        )
    }
}

impl Resources {
    /// Default cap on open segment files.
    pub const DEFAULT_MAX_OPEN_FILES: usize = 512;
    /// Default memory budget for sealed segments' indexes.
    pub const DEFAULT_MAX_INDEX_BYTES: usize = 256 << 20;

    /// Shared resources with explicit limits and clock.
    pub fn new(max_open_files: usize, max_index_bytes: usize, clock: Arc<dyn Clock>) -> Self {
        Resources {
            files: Mutex::new(Lru::new(max_open_files.max(1))),
            indexes: Mutex::new(Lru::new(max_index_bytes)),
            faults: FaultInjector::default(),
            clock,
            next_uid: AtomicU64::new(1),
            opens: AtomicU64::new(0),
        }
    }

    /// Shared resources with default limits and the given clock.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Resources::new(
            Self::DEFAULT_MAX_OPEN_FILES,
            Self::DEFAULT_MAX_INDEX_BYTES,
            clock,
        )
    }

    /// The fault injector (tests).
    pub fn faults(&self) -> &FaultInjector {
        &self.faults
    }

    /// Current time according to the configured clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Number of segment files the cache holds open right now.
    pub fn open_files(&self) -> usize {
        lock(&self.files).len()
    }

    /// Total number of file opens so far (to observe cache effectiveness).
    pub fn file_opens(&self) -> u64 {
        self.opens.load(Ordering::Relaxed)
    }

    pub(crate) fn new_uid(&self) -> u64 {
        self.next_uid.fetch_add(1, Ordering::Relaxed)
    }

    /// The open handle for a segment file, opening it (read-write, never creating) on a miss.
    pub(crate) fn file(&self, uid: u64, kind: FileKind, path: &Path) -> Result<Arc<File>> {
        if let Some(f) = lock(&self.files).get(&(uid, kind)) {
            return Ok(f);
        }
        // Open outside the lock: opening can block on a slow disk.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| LogError::io("open", path, e))?;
        self.opens.fetch_add(1, Ordering::Relaxed);
        let file = Arc::new(file);
        let evicted = lock(&self.files).insert((uid, kind), Arc::clone(&file), 1);
        drop(evicted); // closes evicted handles outside the lock
        Ok(file)
    }

    pub(crate) fn cached_index(&self, uid: u64) -> Option<Arc<SegmentIndexes>> {
        lock(&self.indexes).get(&uid)
    }

    pub(crate) fn cache_index(&self, uid: u64, indexes: Arc<SegmentIndexes>) {
        let w = indexes.weight();
        let evicted = lock(&self.indexes).insert(uid, indexes, w);
        drop(evicted);
    }

    /// Drops everything cached for a segment (it was deleted, replaced or became active).
    pub(crate) fn forget(&self, uid: u64) {
        let mut files = lock(&self.files);
        let handles: Vec<_> = [FileKind::Log, FileKind::Index, FileKind::TimeIndex]
            .iter()
            .filter_map(|k| files.remove(&(uid, *k)))
            .collect();
        drop(files);
        drop(handles);
        let idx = lock(&self.indexes).remove(&uid);
        drop(idx);
    }

    pub(crate) fn forget_index(&self, uid: u64) {
        let idx = lock(&self.indexes).remove(&uid);
        drop(idx);
    }
}
