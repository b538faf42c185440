//! Opening a log directory: leftover cleanup, interrupted compaction swaps, index checks and
//! crash recovery.
//!
//! # What recovery guarantees
//!
//! Every batch at or after the start of the segment holding the recovery point is read back and
//! validated (header sanity, CRC32C, offsets increasing and within the segment's range). At the
//! first batch that fails, the segment is cut at that position and every later segment is deleted:
//! bytes after a torn or corrupt batch cannot be trusted to be a continuation of the log. The
//! indexes of validated segments are rebuilt from the data. Segments below the recovery point were
//! fsynced and are trusted; only their index files are checked (present, sane length) and rebuilt
//! from the data if not.
//!
//! A clean close leaves the recovery point at the log end: then the active segment's index is
//! loaded and validated, the few bytes after its last entry are walked, and if they end exactly
//! at the recovery point no full scan is needed.
//!
//! # Leftover files
//!
//! * `*.cleaned`, `*.deleted`, `*.tmp`: an interrupted compaction, deletion or checkpoint write;
//!   deleted.
//! * `*.log.swap`: the cleaner's commit point was reached (see `cleaner`): the segments it
//!   replaces are deleted and the swap file renamed into place; its indexes are rebuilt.
//! * `.index`/`.timeindex` without a `.log`: deleted.
//!
//! # Leader epochs
//!
//! The leader-epoch checkpoint is written (atomically) *before* the data of an append that
//! starts a new epoch, so after any crash it covers every batch on disk; recovery only truncates
//! it to the recovered log end and start. It is not rebuilt from batch headers, as in Kafka.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::batch::HEADER_SIZE;
use crate::config::LogConfig;
use crate::epoch_cache::LeaderEpochCache;
use crate::error::{io_err, Result};
use crate::fd_cache::{FileKind, Resources, SegmentIndexes};
use crate::indexer::Indexer;
use crate::io;
use crate::offset_index;
use crate::scan::{FileWindow, Step};
use crate::segment::{self, Segment, INDEX_SUFFIX, LOG_SUFFIX, SCAN_CHUNK, TIME_INDEX_SUFFIX};
use crate::time_index;
use crate::OpenOptions;

/// Suffix of a compacted segment being written.
pub(crate) const CLEANED_SUFFIX: &str = ".cleaned";
/// Suffix of a compacted segment that is committed but not yet renamed into place.
pub(crate) const SWAP_SUFFIX: &str = ".swap";
/// Suffix of a file scheduled for deletion (Kafka renames before deleting).
pub(crate) const DELETED_SUFFIX: &str = ".deleted";

/// Where recovery cut a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// Base offset of the segment that was cut.
    pub segment_base_offset: i64,
    /// Byte position of the cut.
    pub position: u64,
    /// Bytes removed from that segment.
    pub bytes: u64,
    /// Why the bytes at `position` were rejected.
    pub reason: String,
}

/// What opening a log found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments whose every batch was read and validated.
    pub validated_segments: usize,
    /// Batches validated.
    pub validated_batches: u64,
    /// Set if a torn or corrupt tail was cut.
    pub truncation: Option<Truncation>,
    /// Segments deleted because they followed a corrupt point, with their sizes.
    pub deleted_segments: Vec<(i64, u64)>,
    /// Segments whose indexes were rebuilt from the data.
    pub rebuilt_indexes: Vec<i64>,
    /// Interrupted compaction swaps that were completed (base offsets).
    pub completed_swaps: Vec<i64>,
    /// Leftover files removed.
    pub removed_files: Vec<PathBuf>,
    /// True if the active segment needed no scan (clean shutdown).
    pub clean: bool,
    pub log_end_offset: i64,
    pub duration: Duration,
}

impl RecoveryReport {
    /// Total bytes dropped by recovery (the cut tail plus deleted later segments).
    pub fn truncated_bytes(&self) -> u64 {
        self.truncation.as_ref().map_or(0, |t| t.bytes)
            + self.deleted_segments.iter().map(|d| d.1).sum::<u64>()
    }
}

pub(crate) struct Loaded {
    pub segments: Vec<Arc<Segment>>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub recovery_point: i64,
    pub report: RecoveryReport,
}

pub(crate) fn load(
    dir: &Path,
    cfg: &LogConfig,
    res: &Resources,
    opts: OpenOptions,
    epochs: &mut LeaderEpochCache,
) -> Result<Loaded> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    let mut report = RecoveryReport::default();
    let mut bases = scan_directory(dir, res, &mut report)?;
    let interval = cfg.index_interval_bytes;

    if bases.is_empty() {
        let start = opts.log_start_offset.unwrap_or(0).max(0);
        let seg = Segment::create(res, dir, start, interval)?;
        io::sync_dir(res.faults(), dir)?;
        report.clean = true;
        report.log_end_offset = start;
        report.duration = started.elapsed();
        return Ok(Loaded {
            segments: vec![seg],
            log_start_offset: start,
            log_end_offset: start,
            recovery_point: start,
            report,
        });
    }

    let mut segments: Vec<Arc<Segment>> = Vec::with_capacity(bases.len());
    for &base in &bases {
        let path = dir.join(segment::file_name(base, LOG_SUFFIX));
        let size = std::fs::metadata(&path)
            .map_err(io_err("stat", &path))?
            .len();
        segments.push(Arc::new(Segment::sealed(
            res, dir, base, interval, size, -1,
        )));
    }
    let rp = opts.recovery_point.unwrap_or(i64::MIN);
    let first_unflushed = segments
        .partition_point(|s| s.base_offset <= rp)
        .saturating_sub(1);

    // Below the recovery point: trusted data, cheap index checks.
    for i in 0..first_unflushed {
        let seg = &segments[i];
        seg.set_next_offset(segments[i + 1].base_offset);
        check_sealed_indexes(res, seg, &mut report)?;
    }

    // From the recovery point on: the clean fast path, or a full validating scan.
    let last = segments.len() - 1;
    let mut leo = None;
    if first_unflushed == last && opts.recovery_point.is_some() {
        leo = try_clean_open(res, &segments[last], rp)?;
        report.clean = leo.is_some();
    }
    if leo.is_none() {
        let mut i = first_unflushed;
        loop {
            let seg = Arc::clone(&segments[i]);
            let expected = if i == 0 {
                seg.base_offset
            } else {
                segments[i - 1].next_offset().max(seg.base_offset)
            };
            let outcome = recover_segment(res, &seg, expected, &mut report)?;
            if outcome.truncated {
                for later in segments.drain(i + 1..) {
                    report
                        .deleted_segments
                        .push((later.base_offset, later.size()));
                    later.delete_files(res)?;
                }
            }
            let mut indexer = outcome.indexer;
            if i == segments.len() - 1 {
                write_indexes(res, &seg, &indexer)?;
                let (po, pt) = (indexer.offsets.len(), indexer.times.len());
                seg.activate(res, indexer, po, pt);
                seg.sync(res)?;
                break;
            }
            indexer.seal();
            write_indexes(res, &seg, &indexer)?;
            res.cache_index(
                seg.uid,
                Arc::new(SegmentIndexes {
                    offsets: indexer.offsets,
                    times: indexer.times,
                }),
            );
            seg.sync(res)?;
            i += 1;
        }
        io::sync_dir(res.faults(), dir)?;
        leo = Some(segments[segments.len() - 1].next_offset());
    }
    let mut log_end_offset = leo.unwrap_or(segments[segments.len() - 1].base_offset);

    let mut log_start_offset = opts
        .log_start_offset
        .unwrap_or(i64::MIN)
        .max(segments[0].base_offset);
    if log_start_offset > log_end_offset {
        // The checkpointed start is beyond what survived: restart the log there.
        tracing::warn!(dir = %dir.display(), log_start_offset, log_end_offset, "log start beyond log end after recovery; emptying log");
        for seg in segments.drain(..) {
            report.deleted_segments.push((seg.base_offset, seg.size()));
            seg.delete_files(res)?;
        }
        segments.push(Segment::create(res, dir, log_start_offset, interval)?);
        io::sync_dir(res.faults(), dir)?;
        log_end_offset = log_start_offset;
        if epochs.clear() {
            epochs.persist(res.faults())?;
        }
    }
    log_start_offset = log_start_offset.min(log_end_offset);
    let mut epochs_changed = epochs.truncate_from_end(log_end_offset);
    epochs_changed |= epochs.truncate_from_start(log_start_offset);
    if epochs_changed {
        epochs.persist(res.faults())?;
    }
    bases.clear();
    report.log_end_offset = log_end_offset;
    report.duration = started.elapsed();
    if report.truncation.is_some() || !report.deleted_segments.is_empty() {
        tracing::warn!(dir = %dir.display(), truncated_bytes = report.truncated_bytes(), ?report.truncation, "recovery truncated the log");
    }
    Ok(Loaded {
        segments,
        log_start_offset,
        log_end_offset,
        recovery_point: log_end_offset,
        report,
    })
}

/// Lists segment bases, cleaning up leftovers and completing interrupted swaps.
fn scan_directory(dir: &Path, res: &Resources, report: &mut RecoveryReport) -> Result<Vec<i64>> {
    let mut logs = BTreeSet::new();
    let mut indexes = Vec::new();
    let mut swaps = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(io_err("list directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(io_err("list directory", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.ends_with(CLEANED_SUFFIX)
            || name.ends_with(DELETED_SUFFIX)
            || name.ends_with(".tmp")
        {
            io::remove_file_if_exists(&path)?;
            report.removed_files.push(path);
        } else if let Some(stem) = name.strip_suffix(SWAP_SUFFIX) {
            match segment::parse_base_offset(stem, LOG_SUFFIX) {
                Some(base) => swaps.push((base, path)),
                None => {
                    io::remove_file_if_exists(&path)?;
                    report.removed_files.push(path);
                }
            }
        } else if let Some(base) = segment::parse_base_offset(&name, LOG_SUFFIX) {
            logs.insert(base);
        } else if let Some(base) = segment::parse_base_offset(&name, INDEX_SUFFIX)
            .or_else(|| segment::parse_base_offset(&name, TIME_INDEX_SUFFIX))
        {
            indexes.push((base, path));
        }
    }
    swaps.sort();
    for (base, swap_path) in swaps {
        // The swap holds offsets [base, last]; the segments it replaced started in that range.
        let last = last_offset_in(&swap_path)?;
        let replaced: Vec<i64> = logs.range(base..=last.max(base)).copied().collect();
        for old in replaced {
            for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
                io::remove_file_if_exists(&dir.join(segment::file_name(old, suffix)))?;
            }
            logs.remove(&old);
        }
        for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            io::remove_file_if_exists(&dir.join(segment::file_name(base, suffix)))?;
        }
        let target = dir.join(segment::file_name(base, LOG_SUFFIX));
        std::fs::rename(&swap_path, &target).map_err(io_err("rename", &swap_path))?;
        logs.insert(base);
        report.completed_swaps.push(base);
        io::sync_dir(res.faults(), dir)?;
    }
    for (base, path) in indexes {
        if !logs.contains(&base) && path.exists() {
            io::remove_file_if_exists(&path)?;
            report.removed_files.push(path);
        }
    }
    Ok(logs.into_iter().collect())
}

/// Last offset of the valid batches in a file (its base offset if there are none).
fn last_offset_in(path: &Path) -> Result<i64> {
    let file = std::fs::File::open(path).map_err(io_err("open", path))?;
    let size = file.metadata().map_err(io_err("stat", path))?.len();
    let mut window = FileWindow::new(&file, path, size, SCAN_CHUNK);
    let mut pos = 0;
    let mut last = -1;
    while let Step::Batch(h) = window.header(pos)? {
        last = h.last_offset();
        pos += h.total_size() as u64;
    }
    Ok(last)
}

/// Checks a trusted sealed segment's index files without reading them whole; rebuilds them
/// from the data if one is missing or has an impossible length. Reads the largest timestamp from
/// the last time-index entry.
fn check_sealed_indexes(res: &Resources, seg: &Segment, report: &mut RecoveryReport) -> Result<()> {
    let index_ok = std::fs::metadata(&seg.index_path).is_ok_and(|m| {
        m.len() % offset_index::ENTRY_SIZE as u64 == 0
            && m.len() / offset_index::ENTRY_SIZE as u64 <= seg.size() / HEADER_SIZE as u64 + 1
    });
    let time_bytes = io::read_file_if_exists(&seg.time_index_path)?;
    let time_ok = time_bytes
        .as_ref()
        .is_some_and(|b| b.len() % time_index::ENTRY_SIZE == 0);
    if index_ok && time_ok {
        let max = time_bytes
            .as_deref()
            .and_then(time_index::last_entry)
            .map_or(-1, |e| e.timestamp);
        seg.set_max_timestamp_hint(max);
        return Ok(());
    }
    tracing::warn!(segment = %seg.log_path.display(), "rebuilding missing or malformed index files");
    let (mut indexer, _) = seg.rebuild_indexer(res)?;
    indexer.seal();
    write_indexes(res, seg, &indexer)?;
    seg.set_max_timestamp_hint(indexer.max_timestamp);
    report.rebuilt_indexes.push(seg.base_offset);
    Ok(())
}

/// The clean-shutdown fast path: the active segment's index is valid and the bytes after its last
/// entry end exactly at the recovery point. Returns the log end offset if so.
fn try_clean_open(res: &Resources, seg: &Segment, rp: i64) -> Result<Option<i64>> {
    let size = seg.size();
    let Some(offset_bytes) = io::read_file_if_exists(&seg.index_path)? else {
        return Ok(None);
    };
    let Some(time_bytes) = io::read_file_if_exists(&seg.time_index_path)? else {
        return Ok(None);
    };
    let (Ok(offsets), Ok(times)) = (
        offset_index::decode(&offset_bytes, size.max(1)),
        time_index::decode(&time_bytes, None),
    ) else {
        return Ok(None);
    };
    let mut indexer = Indexer::resume(seg.base_offset, seg.interval(), offsets, times);
    let file = seg.log_file(res)?;
    let mut window = FileWindow::new(&file, &seg.log_path, size, SCAN_CHUNK);
    let mut pos = indexer.last_indexed_position;
    let mut next = seg.base_offset;
    loop {
        match window.header(pos)? {
            Step::Batch(h) => {
                // Re-adding the batch at the last entry's position adds no entry (distance 0)
                // but accounts for its timestamp.
                indexer.add(&h, pos);
                next = h.next_offset();
                pos += h.total_size() as u64;
            }
            Step::End => break,
            Step::Invalid(_) => return Ok(None),
        }
    }
    if next != rp {
        return Ok(None);
    }
    seg.set_next_offset(next);
    write_indexes(res, seg, &indexer)?;
    let (po, pt) = (indexer.offsets.len(), indexer.times.len());
    seg.activate(res, indexer, po, pt);
    Ok(Some(next))
}

pub(crate) struct Recovered {
    pub indexer: Indexer,
    pub truncated: bool,
}

/// Validates every batch of `seg`, cutting at the first bad one. `expected` is the lowest offset
/// the first batch may have.
fn recover_segment(
    res: &Resources,
    seg: &Segment,
    expected: i64,
    report: &mut RecoveryReport,
) -> Result<Recovered> {
    let size = seg.size();
    let file = seg.log_file(res)?;
    let mut window = FileWindow::new(&file, &seg.log_path, size, SCAN_CHUNK);
    let mut indexer = Indexer::new(seg.base_offset, seg.interval());
    let mut pos = 0u64;
    let mut next = expected;
    let mut bad = None;
    loop {
        let (step, _) = window.validated(pos)?;
        match step {
            Step::End => break,
            Step::Invalid(reason) => {
                bad = Some(reason);
                break;
            }
            Step::Batch(h) => {
                if h.base_offset < next {
                    bad = Some(format!(
                        "batch base offset {} below expected {next}",
                        h.base_offset
                    ));
                    break;
                }
                if h.last_offset() - seg.base_offset > i64::from(i32::MAX)
                    || pos > u64::from(u32::MAX)
                {
                    bad = Some(format!(
                        "batch offset {} out of the segment's range",
                        h.last_offset()
                    ));
                    break;
                }
                indexer.add(&h, pos);
                report.validated_batches += 1;
                next = h.next_offset();
                pos += h.total_size() as u64;
            }
        }
    }
    report.validated_segments += 1;
    seg.set_next_offset(next);
    let truncated = if let Some(reason) = bad {
        io::set_len(&file, &seg.log_path, pos)?;
        seg.set_size(pos);
        report.truncation = Some(Truncation {
            segment_base_offset: seg.base_offset,
            position: pos,
            bytes: size - pos,
            reason,
        });
        true
    } else {
        false
    };
    seg.set_max_timestamp_hint(indexer.max_timestamp);
    report.rebuilt_indexes.push(seg.base_offset);
    Ok(Recovered { indexer, truncated })
}

/// Rewrites both index files of `seg` from `indexer`.
fn write_indexes(res: &Resources, seg: &Segment, indexer: &Indexer) -> Result<()> {
    for (kind, path, bytes) in [
        (
            FileKind::Index,
            &seg.index_path,
            offset_index::encode(&indexer.offsets),
        ),
        (
            FileKind::TimeIndex,
            &seg.time_index_path,
            time_index::encode(&indexer.times),
        ),
    ] {
        if !path.exists() {
            std::fs::File::create(path).map_err(io_err("create", path))?;
        }
        let file = res.file(seg.uid, kind, path)?;
        io::write_all_at(res.faults(), &file, path, &bytes, 0)?;
        io::set_len(&file, path, bytes.len() as u64)?;
    }
    Ok(())
}
