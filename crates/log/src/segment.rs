//! One segment: a `.log` file of batches plus its `.index` and `.timeindex`.
//!
//! # Files
//!
//! `{base_offset:020}.log`, `.index`, `.timeindex` in the log directory, where `base_offset` is
//! the offset of the first record the segment may hold. The `.log` holds v2 batches back to back
//! exactly as appended (see `batch`); the index formats are described in `offset_index` and
//! `time_index`. Positions and relative offsets are u32, so a segment stays below 2 GiB and
//! spans fewer than 2^31 offsets (enforced by the roll rule).
//!
//! # Concurrency
//!
//! A segment is shared (`Arc`) between the writer and readers. Its visible extent is published
//! through atomics: the writer `pwrite`s the bytes first and then stores `size` with `Release`,
//! so a reader that loads `size` with `Acquire` only reads bytes that were completely written.
//! The active segment's index entries live in `live` behind an `RwLock` that is only held for a
//! push or a binary search, never across I/O; sealed segments have no in-memory state besides a
//! few atomics, their indexes come from the shared LRU in [`crate::Resources`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::batch::{BatchHeader, NO_TIMESTAMP};
use crate::error::{io_err, LogError, Result};
use crate::fd_cache::{FileKind, Resources, SegmentIndexes};
use crate::indexer::Indexer;
use crate::io;
use crate::offset_index::{self, OffsetEntry};
use crate::scan::{FileWindow, Step};
use crate::time_index::{self, TimeEntry};

pub(crate) const LOG_SUFFIX: &str = ".log";
pub(crate) const INDEX_SUFFIX: &str = ".index";
pub(crate) const TIME_INDEX_SUFFIX: &str = ".timeindex";

/// Read size when walking headers from an index entry to a target offset: an index entry is at
/// most `index.interval.bytes` plus one batch before the target, so one read usually suffices.
const LOOKUP_CHUNK: usize = 16 << 10;
/// Read size for full scans (recovery, rebuilds, cleaning).
pub(crate) const SCAN_CHUNK: usize = 1 << 20;
/// Pending index entries beyond which the writer persists them during an append.
const PERSIST_BATCH: usize = 1024;

/// `00000000000000001234.log` style names.
pub(crate) fn file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}{suffix}")
}

/// Parses the base offset out of a segment file name with the given suffix.
pub(crate) fn parse_base_offset(name: &str, suffix: &str) -> Option<i64> {
    let stem = name.strip_suffix(suffix)?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

fn read_lock<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}
fn write_lock<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

/// The active segment's in-memory index state.
#[derive(Debug)]
pub(crate) struct LiveIndex {
    pub indexer: Indexer,
    persisted_offsets: usize,
    persisted_times: usize,
}

impl LiveIndex {
    fn pending(&self) -> usize {
        self.indexer.offsets.len() - self.persisted_offsets + self.indexer.times.len()
            - self.persisted_times
    }
}

/// A batch located in a segment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Located {
    pub position: u64,
    pub header: BatchHeader,
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub uid: u64,
    pub base_offset: i64,
    pub log_path: PathBuf,
    pub index_path: PathBuf,
    pub time_index_path: PathBuf,
    /// `index.interval.bytes` in force when the segment was created or opened.
    interval: u64,
    size: AtomicU64,
    next_offset: AtomicI64,
    max_timestamp: AtomicI64,
    roll_started_ms: AtomicI64,
    deleted: AtomicBool,
    live: RwLock<Option<LiveIndex>>,
}

impl Segment {
    fn new(res: &Resources, dir: &Path, base_offset: i64, interval: u64) -> Segment {
        Segment {
            uid: res.new_uid(),
            interval,
            base_offset,
            log_path: dir.join(file_name(base_offset, LOG_SUFFIX)),
            index_path: dir.join(file_name(base_offset, INDEX_SUFFIX)),
            time_index_path: dir.join(file_name(base_offset, TIME_INDEX_SUFFIX)),
            size: AtomicU64::new(0),
            next_offset: AtomicI64::new(base_offset),
            max_timestamp: AtomicI64::new(NO_TIMESTAMP),
            roll_started_ms: AtomicI64::new(res.now_ms()),
            deleted: AtomicBool::new(false),
            live: RwLock::new(None),
        }
    }

    /// Creates a new, empty active segment on disk. An existing empty `.log` (left by a crash
    /// right after a roll) is reused; a non-empty one is an error rather than overwritten.
    pub(crate) fn create(
        res: &Resources,
        dir: &Path,
        base_offset: i64,
        interval: u64,
    ) -> Result<Arc<Segment>> {
        let seg = Segment::new(res, dir, base_offset, interval);
        if let Ok(meta) = std::fs::metadata(&seg.log_path) {
            if meta.len() > 0 {
                return Err(LogError::io(
                    "create segment",
                    &seg.log_path,
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "a non-empty segment file already exists",
                    ),
                ));
            }
        }
        for path in [&seg.log_path, &seg.index_path, &seg.time_index_path] {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)
                .map_err(io_err("create", path))?;
        }
        *write_lock(&seg.live) = Some(LiveIndex {
            indexer: Indexer::new(base_offset, interval),
            persisted_offsets: 0,
            persisted_times: 0,
        });
        Ok(Arc::new(seg))
    }

    /// A sealed segment found on disk. `next_offset` is a lower bound fixed up by the caller.
    pub(crate) fn sealed(
        res: &Resources,
        dir: &Path,
        base_offset: i64,
        interval: u64,
        size: u64,
        max_timestamp: i64,
    ) -> Segment {
        let seg = Segment::new(res, dir, base_offset, interval);
        seg.size.store(size, Ordering::Release);
        seg.max_timestamp.store(max_timestamp, Ordering::Release);
        seg
    }

    /// Makes this segment active with the given (already validated) index state.
    pub(crate) fn interval(&self) -> u64 {
        self.interval
    }

    pub(crate) fn activate(
        &self,
        res: &Resources,
        indexer: Indexer,
        persisted_offsets: usize,
        persisted_times: usize,
    ) {
        self.max_timestamp
            .store(indexer.max_timestamp, Ordering::Release);
        *write_lock(&self.live) = Some(LiveIndex {
            indexer,
            persisted_offsets,
            persisted_times,
        });
        self.roll_started_ms.store(res.now_ms(), Ordering::Release);
        res.forget_index(self.uid);
    }

    pub(crate) fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }
    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset.load(Ordering::Acquire)
    }
    pub(crate) fn set_next_offset(&self, next: i64) {
        self.next_offset.store(next, Ordering::Release);
    }
    pub(crate) fn set_size(&self, size: u64) {
        self.size.store(size, Ordering::Release);
    }
    /// Sets the largest timestamp of a segment that is not active (from its time index).
    pub(crate) fn set_max_timestamp_hint(&self, ts: i64) {
        self.max_timestamp.store(ts, Ordering::Release);
    }
    pub(crate) fn max_timestamp(&self) -> i64 {
        self.max_timestamp.load(Ordering::Acquire)
    }
    pub(crate) fn roll_started_ms(&self) -> i64 {
        self.roll_started_ms.load(Ordering::Acquire)
    }
    pub(crate) fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }
    pub(crate) fn mark_deleted(&self) {
        self.deleted.store(true, Ordering::Release);
    }

    /// The largest timestamp for time retention: the largest record timestamp, or the file's
    /// modification time for a segment without timestamps (as Kafka does).
    pub(crate) fn largest_timestamp(&self) -> i64 {
        let ts = self.max_timestamp();
        if ts >= 0 {
            return ts;
        }
        std::fs::metadata(&self.log_path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64)
    }

    pub(crate) fn log_file(&self, res: &Resources) -> Result<Arc<std::fs::File>> {
        res.file(self.uid, FileKind::Log, &self.log_path)
    }

    /// Appends already validated batches (`headers` carry the final offsets and their positions
    /// within `buf`). On failure the file is cut back and nothing becomes visible.
    pub(crate) fn append(
        &self,
        res: &Resources,
        buf: &[u8],
        headers: &[BatchHeader],
    ) -> Result<()> {
        let start = self.size();
        let file = self.log_file(res)?;
        if let Err(e) = io::write_all_at(res.faults(), &file, &self.log_path, buf, start) {
            // Best effort: drop a partial write so the file matches what readers can see.
            let _ = file.set_len(start);
            return Err(e);
        }
        let mut persist = false;
        {
            let mut live = write_lock(&self.live);
            if let Some(live) = live.as_mut() {
                for h in headers {
                    live.indexer.add(h, start + h.position);
                }
                self.max_timestamp
                    .store(live.indexer.max_timestamp, Ordering::Release);
                persist = live.pending() >= PERSIST_BATCH;
            }
        }
        if start == 0 {
            self.roll_started_ms.store(res.now_ms(), Ordering::Release);
        }
        if let Some(last) = headers.last() {
            self.next_offset
                .store(last.next_offset(), Ordering::Release);
        }
        self.size.store(start + buf.len() as u64, Ordering::Release);
        if persist {
            // The data is durable-by-recovery regardless; a failure here is retried at flush.
            if let Err(e) = self.persist_index(res) {
                tracing::warn!(error = %e, "deferring index write");
            }
        }
        Ok(())
    }

    /// Writes index entries that exist only in memory.
    pub(crate) fn persist_index(&self, res: &Resources) -> Result<()> {
        let mut guard = write_lock(&self.live);
        let Some(live) = guard.as_mut() else {
            return Ok(());
        };
        if live.persisted_offsets < live.indexer.offsets.len() {
            let bytes = offset_index::encode(&live.indexer.offsets[live.persisted_offsets..]);
            let file = res.file(self.uid, FileKind::Index, &self.index_path)?;
            let pos = (live.persisted_offsets * offset_index::ENTRY_SIZE) as u64;
            io::write_all_at(res.faults(), &file, &self.index_path, &bytes, pos)?;
            live.persisted_offsets = live.indexer.offsets.len();
        }
        if live.persisted_times < live.indexer.times.len() {
            let bytes = time_index::encode(&live.indexer.times[live.persisted_times..]);
            let file = res.file(self.uid, FileKind::TimeIndex, &self.time_index_path)?;
            let pos = (live.persisted_times * time_index::ENTRY_SIZE) as u64;
            io::write_all_at(res.faults(), &file, &self.time_index_path, &bytes, pos)?;
            live.persisted_times = live.indexer.times.len();
        }
        Ok(())
    }

    /// Stops being the active segment: final time-index entry, indexes written, in-memory state
    /// handed to the shared index cache.
    pub(crate) fn seal(&self, res: &Resources) -> Result<()> {
        {
            let mut guard = write_lock(&self.live);
            if let Some(live) = guard.as_mut() {
                live.indexer.seal();
                self.max_timestamp
                    .store(live.indexer.max_timestamp, Ordering::Release);
            }
        }
        self.persist_index(res)?;
        let taken = write_lock(&self.live).take();
        if let Some(live) = taken {
            res.cache_index(
                self.uid,
                Arc::new(SegmentIndexes {
                    offsets: live.indexer.offsets,
                    times: live.indexer.times,
                }),
            );
        }
        Ok(())
    }

    /// fsyncs the log and both indexes.
    pub(crate) fn sync(&self, res: &Resources) -> Result<()> {
        self.persist_index(res)?;
        for (kind, path) in [
            (FileKind::Log, &self.log_path),
            (FileKind::Index, &self.index_path),
            (FileKind::TimeIndex, &self.time_index_path),
        ] {
            let file = res.file(self.uid, kind, path)?;
            io::sync(res.faults(), &file, path)?;
        }
        Ok(())
    }

    /// Runs `f` over the segment's indexes: the live ones, or the sealed ones from the cache,
    /// loading (and if need be rebuilding) them on a miss.
    pub(crate) fn with_indexes<R>(
        &self,
        res: &Resources,
        f: impl FnOnce(&[OffsetEntry], &[TimeEntry]) -> R,
    ) -> Result<R> {
        {
            let guard = read_lock(&self.live);
            if let Some(live) = guard.as_ref() {
                return Ok(f(&live.indexer.offsets, &live.indexer.times));
            }
        }
        let idx = match res.cached_index(self.uid) {
            Some(idx) => idx,
            None => {
                let idx = Arc::new(self.load_indexes(res)?);
                res.cache_index(self.uid, Arc::clone(&idx));
                idx
            }
        };
        Ok(f(&idx.offsets, &idx.times))
    }

    /// Reads and validates the index files; rebuilds from the log if they are missing or corrupt.
    pub(crate) fn load_indexes(&self, res: &Resources) -> Result<SegmentIndexes> {
        let size = self.size();
        let offsets = io::read_file_if_exists(&self.index_path)?
            .ok_or_else(|| "missing".to_string())
            .and_then(|b| offset_index::decode(&b, size.max(1)));
        let times = io::read_file_if_exists(&self.time_index_path)?
            .ok_or_else(|| "missing".to_string())
            .and_then(|b| time_index::decode(&b, None));
        match (offsets, times) {
            (Ok(offsets), Ok(times)) => Ok(SegmentIndexes { offsets, times }),
            (o, t) => {
                let reason = o.err().or(t.err()).unwrap_or_default();
                tracing::warn!(segment = %self.log_path.display(), %reason, "rebuilding index of sealed segment in memory");
                let (mut indexer, _) = self.rebuild_indexer(res)?;
                indexer.seal();
                Ok(SegmentIndexes {
                    offsets: indexer.offsets,
                    times: indexer.times,
                })
            }
        }
    }

    /// Scans the whole segment (headers only) and recomputes index entries and max timestamp.
    /// Returns the indexer and the offset after the last batch.
    pub(crate) fn rebuild_indexer(&self, res: &Resources) -> Result<(Indexer, i64)> {
        let file = self.log_file(res)?;
        let mut window = FileWindow::new(&file, &self.log_path, self.size(), SCAN_CHUNK);
        let mut indexer = Indexer::new(self.base_offset, self.interval);
        let mut pos = 0;
        let mut next = self.base_offset;
        while let Step::Batch(h) = window.header(pos)? {
            indexer.add(&h, pos);
            next = h.next_offset();
            pos += h.total_size() as u64;
        }
        Ok((indexer, next))
    }

    /// Finds the first batch whose last offset is >= `target`, walking forward from the index.
    pub(crate) fn locate(&self, res: &Resources, target: i64) -> Result<Option<Located>> {
        let (_, start) = self.with_indexes(res, |offsets, _| {
            offset_index::lookup(offsets, self.base_offset, target)
        })?;
        self.locate_from(res, u64::from(start), target)
    }

    pub(crate) fn locate_from(
        &self,
        res: &Resources,
        start: u64,
        target: i64,
    ) -> Result<Option<Located>> {
        let size = self.size();
        let file = self.log_file(res)?;
        let mut window = FileWindow::new(&file, &self.log_path, size, LOOKUP_CHUNK);
        let mut pos = start;
        loop {
            match window.header(pos)? {
                Step::Batch(h) if h.last_offset() >= target => {
                    return Ok(Some(Located {
                        position: pos,
                        header: h,
                    }))
                }
                Step::Batch(h) => pos += h.total_size() as u64,
                Step::End => return Ok(None),
                Step::Invalid(reason) => {
                    return Err(LogError::Corrupt {
                        path: self.log_path.clone(),
                        position: pos,
                        reason,
                    })
                }
            }
        }
    }

    /// Reads whole batches starting at `position`: as many as fit in `max_bytes`, but at least
    /// the first one even if it is larger; stops before the first batch whose last offset is
    /// >= `max_offset` (the high watermark or last stable offset).
    pub(crate) fn read(
        &self,
        res: &Resources,
        position: u64,
        max_bytes: usize,
        max_offset: i64,
    ) -> Result<Vec<u8>> {
        let size = self.size();
        if position >= size {
            return Ok(Vec::new());
        }
        let file = self.log_file(res)?;
        let want = (max_bytes.max(crate::batch::HEADER_SIZE) as u64).min(size - position) as usize;
        let mut buf = vec![0u8; want];
        let n = io::read_at_most(&file, &self.log_path, &mut buf, position)?;
        buf.truncate(n);
        let mut end = 0usize;
        loop {
            let rest = &buf[end..];
            if rest.len() < crate::batch::HEADER_SIZE {
                break;
            }
            let header = match BatchHeader::parse(rest, position + end as u64) {
                Ok(h) => h,
                Err(e) if end == 0 => {
                    return Err(LogError::Corrupt {
                        path: self.log_path.clone(),
                        position,
                        reason: e.to_string(),
                    })
                }
                Err(_) => break,
            };
            if header.last_offset() >= max_offset {
                break;
            }
            let total = header.total_size();
            if total > rest.len() {
                if end == 0 && position + total as u64 <= size {
                    // The first batch is returned whole even when larger than max_bytes.
                    let mut whole = vec![0u8; total];
                    let n = io::read_at_most(&file, &self.log_path, &mut whole, position)?;
                    whole.truncate(n);
                    if n == total {
                        return Ok(whole);
                    }
                }
                break;
            }
            end += total;
        }
        buf.truncate(end);
        Ok(buf)
    }

    /// Cuts the segment so that no batch with last offset >= `target` remains; returns the new
    /// next offset (`min(target, base of the first removed batch)`). Makes the segment active.
    pub(crate) fn truncate_to(&self, res: &Resources, target: i64) -> Result<i64> {
        let interval = self.interval;
        // Index state to resume from: the live one, or the sealed one from the files.
        let live = write_lock(&self.live).take();
        let (offsets, times, persisted_offsets, persisted_times) = match live {
            Some(l) => (
                l.indexer.offsets,
                l.indexer.times,
                l.persisted_offsets,
                l.persisted_times,
            ),
            None => {
                let idx = self.load_indexes(res)?;
                let (o, t) = (idx.offsets.len(), idx.times.len());
                (idx.offsets, idx.times, o, t)
            }
        };
        let (_, from) = offset_index::lookup(&offsets, self.base_offset, target);
        let located = self
            .locate_from(res, u64::from(from), target)
            .or_else(|e| match e {
                // A corrupt tail is cut away like any other tail.
                LogError::Corrupt { position, .. } => Ok(Some(Located {
                    position,
                    header: fake_header(target),
                })),
                other => Err(other),
            });
        let located = match located {
            Ok(l) => l,
            Err(e) => {
                self.restore_live(offsets, times, persisted_offsets, persisted_times, interval);
                return Err(e);
            }
        };
        let (cut, new_next) = match located {
            Some(l) => (l.position, target.min(l.header.base_offset)),
            None => (self.size(), target),
        };
        let file = self.log_file(res)?;
        io::set_len(&file, &self.log_path, cut)?;
        let mut offsets = offsets;
        let mut times = times;
        offsets.truncate(offset_index::entries_before_position(&offsets, cut));
        times.truncate(time_index::entries_below(
            &times,
            self.base_offset,
            new_next,
        ));
        let po = persisted_offsets.min(offsets.len());
        let pt = persisted_times.min(times.len());
        let idx_file = res.file(self.uid, FileKind::Index, &self.index_path)?;
        io::set_len(
            &idx_file,
            &self.index_path,
            (po * offset_index::ENTRY_SIZE) as u64,
        )?;
        let t_file = res.file(self.uid, FileKind::TimeIndex, &self.time_index_path)?;
        io::set_len(
            &t_file,
            &self.time_index_path,
            (pt * time_index::ENTRY_SIZE) as u64,
        )?;
        self.size.store(cut, Ordering::Release);
        self.next_offset.store(new_next, Ordering::Release);
        // The max timestamp of what remains: the time index covers every batch up to the last
        // offset-index entry, the rest is scanned.
        let mut indexer = Indexer::resume(self.base_offset, interval, offsets, times);
        let mut window = FileWindow::new(&file, &self.log_path, cut, SCAN_CHUNK);
        let mut pos = indexer.last_indexed_position;
        while let Step::Batch(h) = window.header(pos)? {
            if h.max_timestamp > indexer.max_timestamp {
                indexer.max_timestamp = h.max_timestamp;
                indexer.offset_of_max_timestamp = h.last_offset();
            }
            pos += h.total_size() as u64;
        }
        self.activate(res, indexer, po, pt);
        Ok(new_next)
    }

    fn restore_live(
        &self,
        offsets: Vec<OffsetEntry>,
        times: Vec<TimeEntry>,
        po: usize,
        pt: usize,
        interval: u64,
    ) {
        let mut indexer = Indexer::resume(self.base_offset, interval, offsets, times);
        indexer.max_timestamp = indexer.max_timestamp.max(self.max_timestamp());
        *write_lock(&self.live) = Some(LiveIndex {
            indexer,
            persisted_offsets: po,
            persisted_times: pt,
        });
    }

    /// Deletes the segment's files (readers holding an open handle can finish reading).
    pub(crate) fn delete_files(&self, res: &Resources) -> Result<()> {
        self.mark_deleted();
        res.forget(self.uid);
        for path in [&self.log_path, &self.index_path, &self.time_index_path] {
            io::remove_file_if_exists(path)?;
        }
        Ok(())
    }
}

/// A header standing for "the corrupt bytes at this position", used to cut there.
fn fake_header(target: i64) -> BatchHeader {
    BatchHeader {
        position: 0,
        base_offset: target,
        batch_length: 49,
        partition_leader_epoch: -1,
        magic: 2,
        crc: 0,
        attributes: 0,
        last_offset_delta: 0,
        base_timestamp: -1,
        max_timestamp: -1,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        records_count: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{set_base_offset, validate_record_set};
    use crate::builder::BatchBuilder;

    fn batch(base: i64, n: usize, value_len: usize, ts: i64) -> (Vec<u8>, BatchHeader) {
        let mut b = BatchBuilder::new(ts);
        for i in 0..n {
            b.append(
                Some(format!("k{i}").as_bytes()),
                Some(&vec![b'x'; value_len]),
                ts + i as i64,
            );
        }
        let mut bytes = b.build();
        set_base_offset(&mut bytes, base);
        let h = validate_record_set(&bytes, usize::MAX).unwrap()[0];
        (bytes, h)
    }

    #[test]
    fn names() {
        assert_eq!(file_name(1234, LOG_SUFFIX), "00000000000000001234.log");
        assert_eq!(
            parse_base_offset("00000000000000001234.log", LOG_SUFFIX),
            Some(1234)
        );
        assert_eq!(
            parse_base_offset("0000000000000001234.log", LOG_SUFFIX),
            None
        );
        assert_eq!(
            parse_base_offset("0000000000000000123x.log", LOG_SUFFIX),
            None
        );
        assert_eq!(
            parse_base_offset("00000000000000001234.index", LOG_SUFFIX),
            None
        );
    }

    #[test]
    fn append_locate_read_seal_and_reload_index() {
        let dir = tempfile::tempdir().unwrap();
        let res = Resources::default();
        let seg = Segment::create(&res, dir.path(), 100, 1000).unwrap();
        let mut next = 100;
        let mut positions = Vec::new();
        for i in 0..50 {
            let (bytes, h) = batch(next, 3, 200, 1_000 + i);
            positions.push(seg.size());
            seg.append(&res, &bytes, &[h]).unwrap();
            next = h.next_offset();
        }
        assert_eq!(seg.next_offset(), 250);
        assert_eq!(seg.max_timestamp(), 1_049 + 2);
        let live_entries = seg
            .with_indexes(&res, |o, t| (o.to_vec(), t.to_vec()))
            .unwrap();
        assert!(live_entries.0.len() > 5, "{:?}", live_entries.0);
        for target in [100, 101, 102, 103, 170, 249] {
            let l = seg.locate(&res, target).unwrap().unwrap();
            assert!(l.header.base_offset <= target && target <= l.header.last_offset());
            assert_eq!(l.position, positions[((target - 100) / 3) as usize]);
        }
        assert!(seg.locate(&res, 250).unwrap().is_none());
        // read: max_bytes smaller than one batch still returns that batch whole.
        let one = seg.read(&res, positions[3], 10, i64::MAX).unwrap();
        assert_eq!(validate_record_set(&one, usize::MAX).unwrap().len(), 1);
        let some = seg.read(&res, positions[3], 2000, i64::MAX).unwrap();
        assert!(validate_record_set(&some, usize::MAX).unwrap().len() > 1);
        let capped = seg.read(&res, positions[3], 1 << 20, 115).unwrap();
        let hs = validate_record_set(&capped, usize::MAX).unwrap();
        assert_eq!(hs.last().unwrap().last_offset(), 114);
        seg.seal(&res).unwrap();
        let rebuilt = seg.rebuild_indexer(&res).unwrap();
        let mut ri = rebuilt.0;
        ri.seal();
        res.forget_index(seg.uid);
        let loaded = seg.load_indexes(&res).unwrap();
        assert_eq!(loaded.offsets, ri.offsets);
        assert_eq!(loaded.times, ri.times);
        assert_eq!(loaded.offsets, live_entries.0);
        assert_eq!(rebuilt.1, 250);
    }

    #[test]
    fn truncate_inside_and_between_batches() {
        let dir = tempfile::tempdir().unwrap();
        let res = Resources::default();
        let seg = Segment::create(&res, dir.path(), 0, 100).unwrap();
        for i in 0..10 {
            let (bytes, h) = batch(i * 5, 5, 50, 10 * i);
            seg.append(&res, &bytes, &[h]).unwrap();
        }
        seg.seal(&res).unwrap();
        assert_eq!(seg.truncate_to(&res, 22).unwrap(), 20);
        assert_eq!(seg.next_offset(), 20);
        assert_eq!(seg.max_timestamp(), 34);
        assert!(seg.locate(&res, 19).unwrap().is_some());
        assert!(seg.locate(&res, 20).unwrap().is_none());
        assert_eq!(seg.truncate_to(&res, 15).unwrap(), 15);
        assert_eq!(seg.truncate_to(&res, 0).unwrap(), 0);
        assert_eq!(seg.size(), 0);
        assert_eq!(std::fs::metadata(&seg.log_path).unwrap().len(), 0);
    }

    #[test]
    fn corrupt_index_files_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let res = Resources::default();
        let seg = Segment::create(&res, dir.path(), 0, 100).unwrap();
        for i in 0..20 {
            let (bytes, h) = batch(i * 2, 2, 100, i);
            seg.append(&res, &bytes, &[h]).unwrap();
        }
        seg.seal(&res).unwrap();
        let good = seg.load_indexes(&res).unwrap();
        std::fs::write(&seg.index_path, [1, 2, 3]).unwrap();
        std::fs::remove_file(&seg.time_index_path).unwrap();
        let rebuilt = seg.load_indexes(&res).unwrap();
        assert_eq!(rebuilt.offsets.len(), good.offsets.len());
        assert_eq!(rebuilt.times, good.times);
    }
}
