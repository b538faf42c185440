//! Log compaction (`cleanup.policy=compact` or `compact,delete`).
//!
//! # A pass
//!
//! 1. Snapshot the sealed segments (the active segment is never touched).
//! 2. Read them oldest first and build key -> latest offset ([`offset_map`]), within a memory
//!    budget; segments past the budget are left for a later pass.
//! 3. Group consecutive segments so that each group's cleaned output fits one segment
//!    (`segment.bytes`, offsets within 2^31 of the base), and write each group's surviving
//!    batches ([`filter`]) to `BASE.log.cleaned` with freshly built `.index.cleaned` and
//!    `.timeindex.cleaned`, fsynced.
//! 4. Swap under the writer lock (held only for renames and deletes): rename the cleaned log to
//!    `BASE.log.swap` and fsync the directory — the commit point, after which recovery finishes
//!    the swap —, delete the old segments, rename the new files into place, fsync the directory,
//!    publish the new segment list. The swap is abandoned if the log was truncated or the group's
//!    segments were deleted by retention while the pass ran.
//!
//! Reads and appends go on during steps 1-3; readers holding the old segments keep reading them
//! (unlinked files stay readable through open handles; otherwise they retry with the new list).
//!
//! # Rules
//!
//! A record is removed when a later record in the cleaned range has the same key. A tombstone
//! (null value) that is the latest for its key is removed once its segment's largest timestamp
//! is older than `delete.retention.ms`, giving consumers that long to observe the deletion.
//! Records without a key, control batches, and batches whose codec this build cannot decode
//! (snappy, lz4, zstd) are kept as they are; if any undecodable batch was seen, no tombstone is
//! removed in that pass, because the batch might hold an older value of the key that the
//! tombstone must keep hiding. Batches left empty are dropped (Kafka keeps the last empty batch of
//! an idempotent producer to preserve its sequence state; producer state is not kept here).

pub(crate) mod filter;
pub(crate) mod offset_map;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{io_err, LogError, Result};
use crate::fault::FaultInjector;
use crate::fd_cache::{Resources, SegmentIndexes};
use crate::indexer::Indexer;
use crate::io;
use crate::log::{Log, View};
use crate::offset_index;
use crate::recovery::{CLEANED_SUFFIX, SWAP_SUFFIX};
use crate::scan::{FileWindow, Step};
use crate::segment::{self, Segment, INDEX_SUFFIX, LOG_SUFFIX, SCAN_CHUNK, TIME_INDEX_SUFFIX};
use crate::time_index;
use filter::Filtered;
use offset_map::OffsetMap;

/// What a compaction pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanerStats {
    /// Segments read to build the key map.
    pub segments_scanned: usize,
    /// Segments replaced by cleaned ones.
    pub segments_cleaned: usize,
    /// Cleaned segments written.
    pub groups_written: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_removed: u64,
    pub tombstones_removed: u64,
    /// Batches kept as they were because they could not be decoded.
    pub undecodable_batches: u64,
    /// Keys in the map.
    pub keys: usize,
    /// True if the log changed under the pass (truncation, retention) and a swap was abandoned.
    pub aborted: bool,
}

/// The files of one cleaned group before the swap.
struct Cleaned {
    base_offset: i64,
    log: PathBuf,
    index: PathBuf,
    time_index: PathBuf,
    size: u64,
    indexer: Indexer,
    max_timestamp: i64,
}

impl Log {
    /// Runs one compaction pass as of `now_ms` (for tombstone expiry). A no-op unless the
    /// cleanup policy includes `compact`. Safe to call from a background thread while the log is
    /// being appended to and read.
    pub fn compact(&self, now_ms: i64) -> Result<CleanerStats> {
        let cfg = self.config();
        let mut stats = CleanerStats::default();
        if !cfg.cleanup_policy.compacts() {
            return Ok(stats);
        }
        let (view, generation) = {
            let w = self.lock_writer()?;
            (self.view(), w.generation)
        };
        let sealed = &view.segments[..view.segments.len() - 1];
        if sealed.is_empty() {
            return Ok(stats);
        }

        // Pass 1: key map over as many sealed segments as the budget allows.
        let mut map = OffsetMap::default();
        let mut undecodable = false;
        let mut scanned = 0;
        for seg in sealed {
            for_each_batch(&self.res, seg, |h, bytes| {
                stats.bytes_read += bytes.len() as u64;
                if !filter::index_keys(h, bytes, &mut map) {
                    undecodable = true;
                }
            })?;
            scanned += 1;
            if map.bytes() > cfg.cleaner_map_bytes {
                break;
            }
        }
        stats.segments_scanned = scanned;
        stats.keys = map.len();
        let cleanable = &sealed[..scanned];
        let tombstone_horizon =
            now_ms.saturating_sub(cfg.delete_retention_ms.min(i64::MAX as u64) as i64);

        // Pass 2: write and swap group by group.
        let mut i = 0;
        while i < cleanable.len() {
            let first = &cleanable[i];
            let mut end = i + 1;
            let mut size = first.size();
            while end < cleanable.len() {
                let bound = view.segments[end + 1].base_offset;
                let next_size = size + cleanable[end].size();
                if next_size > cfg.segment_bytes || bound - first.base_offset > i64::from(i32::MAX)
                {
                    break;
                }
                size = next_size;
                end += 1;
            }
            let group = &cleanable[i..end];
            i = end;
            let cleaned =
                self.clean_group(group, &map, undecodable, tombstone_horizon, &mut stats)?;
            let Some(cleaned) = cleaned else { continue };
            if !self.swap(group, cleaned, generation, &mut stats)? {
                stats.aborted = true;
                break;
            }
        }
        tracing::info!(dir = %self.dir.display(), ?stats, "compaction pass done");
        Ok(stats)
    }

    /// Writes the cleaned version of `group`; `None` if it would be identical.
    fn clean_group(
        &self,
        group: &[Arc<Segment>],
        map: &OffsetMap,
        undecodable: bool,
        tombstone_horizon: i64,
        stats: &mut CleanerStats,
    ) -> Result<Option<Cleaned>> {
        let base = group[0].base_offset;
        let name = |suffix: &str| {
            self.dir.join(format!(
                "{}{CLEANED_SUFFIX}",
                segment::file_name(base, suffix)
            ))
        };
        let cleaned = Cleaned {
            base_offset: base,
            log: name(LOG_SUFFIX),
            index: name(INDEX_SUFFIX),
            time_index: name(TIME_INDEX_SUFFIX),
            size: 0,
            indexer: Indexer::new(base, group[0].interval()),
            max_timestamp: group.iter().map(|s| s.max_timestamp()).max().unwrap_or(-1),
        };
        let result = self.write_cleaned(group, map, undecodable, tombstone_horizon, stats, cleaned);
        if !matches!(result, Ok(Some(_))) {
            for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
                let _ = io::remove_file_if_exists(&name(suffix));
            }
        }
        result
    }

    fn write_cleaned(
        &self,
        group: &[Arc<Segment>],
        map: &OffsetMap,
        undecodable: bool,
        tombstone_horizon: i64,
        stats: &mut CleanerStats,
        mut cleaned: Cleaned,
    ) -> Result<Option<Cleaned>> {
        let faults = self.res.faults();
        let file = std::fs::File::create(&cleaned.log).map_err(io_err("create", &cleaned.log))?;
        let mut out = Output::new(&file, &cleaned.log, faults);
        let mut changed = group.len() > 1;
        for seg in group {
            let drop_tombstones = !undecodable && seg.largest_timestamp() < tombstone_horizon;
            let mut failure = None;
            for_each_batch(&self.res, seg, |h, bytes| {
                if failure.is_some() {
                    return;
                }
                let written = match filter::filter_batch(h, bytes, map, drop_tombstones) {
                    Filtered::Unchanged => Some(bytes.to_vec()),
                    Filtered::Undecodable => {
                        stats.undecodable_batches += 1;
                        Some(bytes.to_vec())
                    }
                    Filtered::Rewritten {
                        bytes,
                        removed,
                        tombstones,
                    } => {
                        stats.records_removed += removed;
                        stats.tombstones_removed += tombstones;
                        changed = true;
                        Some(bytes)
                    }
                    Filtered::Dropped {
                        removed,
                        tombstones,
                    } => {
                        stats.records_removed += removed;
                        stats.tombstones_removed += tombstones;
                        changed = true;
                        None
                    }
                };
                if let Some(b) = written {
                    let mut header = *h;
                    header.batch_length = (b.len() - crate::batch::LOG_OVERHEAD) as i32;
                    cleaned.indexer.add(&header, out.position());
                    if let Err(e) = out.write(&b) {
                        failure = Some(e);
                    }
                }
            })?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        out.finish()?;
        if !changed {
            return Ok(None);
        }
        cleaned.size = out.position();
        cleaned.indexer.seal();
        io::sync(faults, &file, &cleaned.log)?;
        for (path, bytes) in [
            (
                &cleaned.index,
                offset_index::encode(&cleaned.indexer.offsets),
            ),
            (
                &cleaned.time_index,
                time_index::encode(&cleaned.indexer.times),
            ),
        ] {
            let f = std::fs::File::create(path).map_err(io_err("create", path))?;
            io::write_all_at(faults, &f, path, &bytes, 0)?;
            io::sync(faults, &f, path)?;
        }
        stats.bytes_written += cleaned.size;
        Ok(Some(cleaned))
    }

    /// Replaces `group` by the cleaned segment; false if the log changed and the swap was abandoned.
    fn swap(
        &self,
        group: &[Arc<Segment>],
        cleaned: Cleaned,
        generation: u64,
        stats: &mut CleanerStats,
    ) -> Result<bool> {
        let mut w = self.lock_writer()?;
        let view = self.view();
        let start = view.segments.iter().position(|s| s.uid == group[0].uid);
        let intact = w.generation == generation
            && start.is_some_and(|st| {
                st + group.len() < view.segments.len()
                    && view.segments[st..st + group.len()]
                        .iter()
                        .zip(group)
                        .all(|(a, b)| a.uid == b.uid)
            });
        let Some(start) = start.filter(|_| intact) else {
            for p in [&cleaned.log, &cleaned.index, &cleaned.time_index] {
                io::remove_file_if_exists(p)?;
            }
            return Ok(false);
        };
        let faults = self.res.faults();
        let swap_path = self.dir.join(format!(
            "{}{SWAP_SUFFIX}",
            segment::file_name(cleaned.base_offset, LOG_SUFFIX)
        ));
        rename(&cleaned.log, &swap_path)?;
        io::sync_dir(faults, &self.dir)?; // commit point
                                          // The old segments' files go and the cleaned one takes the first one's name while the
                                          // view is locked: a reader never sees a listed segment whose files are not its own.
        self.replace_view(|| {
            for seg in group {
                seg.delete_files(&self.res)?;
            }
            let seg = Segment::sealed(
                &self.res,
                &self.dir,
                cleaned.base_offset,
                group[0].interval(),
                cleaned.size,
                if cleaned.indexer.max_timestamp >= 0 {
                    cleaned.indexer.max_timestamp
                } else {
                    cleaned.max_timestamp
                },
            );
            rename(&cleaned.index, &seg.index_path)?;
            rename(&cleaned.time_index, &seg.time_index_path)?;
            rename(&swap_path, &seg.log_path)?;
            seg.set_next_offset(view.segments[start + group.len()].base_offset);
            self.res.cache_index(
                seg.uid,
                Arc::new(SegmentIndexes {
                    offsets: cleaned.indexer.offsets,
                    times: cleaned.indexer.times,
                }),
            );
            let mut segments = view.segments[..start].to_vec();
            segments.push(Arc::new(seg));
            segments.extend_from_slice(&view.segments[start + group.len()..]);
            Ok(View {
                segments,
                log_start_offset: view.log_start_offset,
            })
        })?;
        // The renames are durable from here on (readers need not wait for it).
        io::sync_dir(faults, &self.dir)?;
        w.dir_dirty = false;
        stats.segments_cleaned += group.len();
        stats.groups_written += 1;
        Ok(true)
    }
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| LogError::io("rename", from, e))
}

/// Calls `f` with every batch of a sealed segment (header and whole bytes).
fn for_each_batch(
    res: &Resources,
    seg: &Segment,
    mut f: impl FnMut(&crate::BatchHeader, &[u8]),
) -> Result<()> {
    let file = seg.log_file(res)?;
    let mut window = FileWindow::new(&file, &seg.log_path, seg.size(), SCAN_CHUNK);
    let mut pos = 0;
    loop {
        let (step, bytes) = window.validated(pos)?;
        match (step, bytes) {
            (Step::Batch(h), Some(bytes)) => {
                f(&h, bytes);
                pos += h.total_size() as u64;
            }
            (Step::End, _) => return Ok(()),
            (Step::Invalid(reason), _) => return Err(corrupt(seg, pos, reason)),
            (Step::Batch(_), None) => {
                return Err(corrupt(seg, pos, "batch shorter than its length".into()))
            }
        }
    }
}

fn corrupt(seg: &Segment, position: u64, reason: String) -> LogError {
    LogError::Corrupt {
        path: seg.log_path.clone(),
        position,
        reason,
    }
}

/// Buffered positional writer for the cleaned log.
struct Output<'a> {
    file: &'a std::fs::File,
    path: &'a Path,
    faults: &'a FaultInjector,
    buf: Vec<u8>,
    written: u64,
}

impl<'a> Output<'a> {
    fn new(file: &'a std::fs::File, path: &'a Path, faults: &'a FaultInjector) -> Self {
        Output {
            file,
            path,
            faults,
            buf: Vec::with_capacity(1 << 20),
            written: 0,
        }
    }
    fn position(&self) -> u64 {
        self.written + self.buf.len() as u64
    }
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= 1 << 20 {
            self.finish()?;
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            io::write_all_at(self.faults, self.file, self.path, &self.buf, self.written)?;
            self.written += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }
}
