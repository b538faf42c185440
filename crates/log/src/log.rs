//! The log: an ordered list of segments with one writer and many lock-free-ish readers.
//!
//! # Concurrency design
//!
//! * Writers (append, roll, truncate, retention, the cleaner's swap, flush bookkeeping) serialize
//!   on `writer`, a mutex that is never taken by a reader.
//! * The segment list is an immutable [`View`] behind an `RwLock<Arc<View>>`. A reader clones the
//!   `Arc` (a few nanoseconds under the read lock) and then works on its snapshot with positional
//!   reads, holding no lock. A writer that changes the list builds a new `View` and swaps it in.
//! * Appends that do not roll do not touch the view: they `pwrite` into the active segment and
//!   publish the new size and then the log end offset with release stores, so readers never see
//!   a partly written batch.
//! * A segment deleted while a reader still holds it in its snapshot: files are unlinked, readers
//!   with an open handle keep reading; a reader that must open the file gets `NotFound` on a
//!   segment marked deleted and retries with a fresh view (which then reports the offset as out of
//!   range if it is gone).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use crate::batch::{self, BatchHeader};
use crate::config::LogConfig;
use crate::epoch_cache::{EpochEntry, LeaderEpochCache};
use crate::error::{BatchError, LogError, Result};
use crate::fd_cache::{lock, Resources};
use crate::io;
use crate::recovery::{self, RecoveryReport};
use crate::segment::Segment;
use crate::validate::{validate_batch_records, RecordRules};

/// What the caller remembers about a log between runs (Kafka keeps these in the root checkpoint
/// files, see [`crate::OffsetCheckpointFile`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Offset up to which everything was fsynced; recovery validates from the segment holding it.
    /// `None` means unknown: every segment is validated.
    pub recovery_point: Option<i64>,
    /// The log start offset (moved by DeleteRecords); `None` means the first segment's base.
    pub log_start_offset: Option<i64>,
}

/// Result of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset assigned to the first record.
    pub base_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
    /// Log end offset after the append (`last_offset + 1`).
    pub log_end_offset: i64,
    /// Largest batch max timestamp in the appended set.
    pub max_timestamp: i64,
    /// Number of batches appended.
    pub batch_count: usize,
    /// Number of records (sum of the batches' record counts).
    pub record_count: i64,
    /// Bytes appended.
    pub bytes: usize,
}

/// A record found by timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp: i64,
    pub offset: i64,
}

/// Summary of one segment (tools, tests, metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    pub base_offset: i64,
    pub size: u64,
    pub max_timestamp: i64,
}

/// The segment list readers snapshot.
#[derive(Debug, Clone)]
pub(crate) struct View {
    /// Ordered by base offset; never empty; the last one is the active segment.
    pub segments: Vec<Arc<Segment>>,
    pub log_start_offset: i64,
}

impl View {
    pub(crate) fn active(&self) -> &Arc<Segment> {
        // The loader and every writer keep at least one segment.
        &self.segments[self.segments.len() - 1]
    }

    /// Index of the segment that would hold `offset`.
    pub(crate) fn floor_index(&self, offset: i64) -> usize {
        self.segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1)
    }
}

/// State only the writer touches.
#[derive(Debug)]
pub(crate) struct WriterState {
    pub recovery_point: i64,
    pub unflushed_messages: u64,
    pub last_flush_ms: i64,
    /// Bumped by every truncation; lets flush and the cleaner notice that the data they worked
    /// on changed under them.
    pub generation: u64,
    /// New or deleted files whose directory entry is not yet fsynced.
    pub dir_dirty: bool,
}

/// A partition's log. `Send + Sync`: share it as `Arc<Log>`; one thread appends (appends from
/// several threads are serialized), any number read, a cleaner compacts in the background.
#[derive(Debug)]
pub struct Log {
    pub(crate) dir: PathBuf,
    pub(crate) res: Arc<Resources>,
    config: RwLock<Arc<LogConfig>>,
    view: RwLock<Arc<View>>,
    leo: AtomicI64,
    pub(crate) writer: Mutex<WriterState>,
    pub(crate) epochs: Mutex<LeaderEpochCache>,
    closed: AtomicBool,
    report: RecoveryReport,
}

fn read_lock<T: Clone>(l: &RwLock<T>) -> T {
    l.read().unwrap_or_else(PoisonError::into_inner).clone()
}

impl Log {
    /// Opens (creating if needed) the log in `dir`, recovering it after an unclean stop.
    pub fn open(
        dir: impl AsRef<Path>,
        config: LogConfig,
        res: Arc<Resources>,
        opts: OpenOptions,
    ) -> Result<Log> {
        config.validate()?;
        let dir = dir.as_ref().to_path_buf();
        let mut epochs = LeaderEpochCache::load(&dir)?;
        let loaded = recovery::load(&dir, &config, &res, opts, &mut epochs)?;
        let leo = loaded.log_end_offset;
        let now = res.now_ms();
        Ok(Log {
            dir,
            config: RwLock::new(Arc::new(config)),
            view: RwLock::new(Arc::new(View {
                segments: loaded.segments,
                log_start_offset: loaded.log_start_offset,
            })),
            leo: AtomicI64::new(leo),
            writer: Mutex::new(WriterState {
                recovery_point: loaded.recovery_point,
                unflushed_messages: 0,
                last_flush_ms: now,
                generation: 0,
                dir_dirty: false,
            }),
            epochs: Mutex::new(epochs),
            closed: AtomicBool::new(false),
            report: loaded.report,
            res,
        })
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<LogConfig> {
        read_lock(&self.config)
    }

    /// Replaces the configuration (dynamic topic config); applies from the next operation.
    /// A changed `index.interval.bytes` applies to segments created afterwards.
    pub fn set_config(&self, config: LogConfig) -> Result<()> {
        config.validate()?;
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
        Ok(())
    }

    /// What recovery found and did when this log was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    pub(crate) fn view(&self) -> Arc<View> {
        read_lock(&self.view)
    }

    pub(crate) fn publish(&self, view: View) {
        *self.view.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(view);
    }

    /// Publishes the view `replace` builds, holding the view's lock while it runs: for a
    /// change that must delete or rename files of segments the current view still lists.
    /// Readers that take a view meanwhile wait for the new one, so a reader whose segment
    /// vanished under it finds the replacement at its first retry.
    pub(crate) fn replace_view(&self, replace: impl FnOnce() -> Result<View>) -> Result<()> {
        let mut current = self.view.write().unwrap_or_else(PoisonError::into_inner);
        *current = Arc::new(replace()?);
        Ok(())
    }

    pub(crate) fn lock_writer(&self) -> Result<MutexGuard<'_, WriterState>> {
        self.check_open()?;
        Ok(lock(&self.writer))
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(LogError::Closed(self.dir.clone()));
        }
        Ok(())
    }

    /// The offset the next appended record gets.
    pub fn log_end_offset(&self) -> i64 {
        self.leo.load(Ordering::Acquire)
    }

    pub(crate) fn set_log_end_offset(&self, leo: i64) {
        self.leo.store(leo, Ordering::Release);
    }

    /// The first offset still readable.
    pub fn log_start_offset(&self) -> i64 {
        self.view().log_start_offset
    }

    /// Everything below this offset is fsynced.
    pub fn recovery_point(&self) -> i64 {
        lock(&self.writer).recovery_point
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.view().segments.iter().map(|s| s.size()).sum()
    }

    /// The segments, oldest first; the last one is active.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.view()
            .segments
            .iter()
            .map(|s| SegmentInfo {
                base_offset: s.base_offset,
                size: s.size(),
                max_timestamp: s.max_timestamp(),
            })
            .collect()
    }

    /// The leader-epoch cache entries, oldest first.
    pub fn epoch_entries(&self) -> Vec<EpochEntry> {
        lock(&self.epochs).entries().to_vec()
    }

    /// The newest leader epoch recorded in the log.
    pub fn latest_epoch(&self) -> Option<i32> {
        lock(&self.epochs).latest_epoch()
    }

    /// Starts leader epoch `epoch` at the log end, as a new leader does before its first
    /// append (Kafka's `LeaderEpochFileCache.assign` on becoming leader), so that
    /// OffsetForLeaderEpoch answers where the previous epoch ended even before anything is
    /// appended in this one. Persisted to `leader-epoch-checkpoint` before it returns.
    pub fn assign_leader_epoch(&self, epoch: i32) -> Result<()> {
        let _writer = self.lock_writer()?;
        let mut epochs = lock(&self.epochs);
        if epochs.assign(epoch, self.log_end_offset()) {
            epochs.persist(self.res.faults())?;
        }
        Ok(())
    }

    /// OffsetForLeaderEpoch: `(epoch, end offset)` for the largest epoch <= `requested`.
    pub fn end_offset_for_epoch(&self, requested: i32) -> (i32, i64) {
        let epochs = lock(&self.epochs);
        epochs.end_offset_for(requested, self.log_end_offset())
    }

    /// Appends a produce request's record set as leader: validates every batch (header, CRC,
    /// size, and every record inside, decompressing compressed batches: see
    /// [`crate::validate_batch_records`]), then assigns offsets from the log end and stamps
    /// `leader_epoch`, rewriting the buffer in place. Nothing is written unless every batch is
    /// valid; the validation runs before the writer lock is taken.
    pub fn append_as_leader(&self, records: &mut [u8], leader_epoch: i32) -> Result<AppendInfo> {
        self.append_as_leader_from(records, leader_epoch, AppendOrigin::Client)
    }

    /// [`Log::append_as_leader`] for records of a given origin: the broker's own coordinators
    /// may write control batches (transaction markers), clients may not.
    pub fn append_as_leader_from(
        &self,
        records: &mut [u8],
        leader_epoch: i32,
        origin: AppendOrigin,
    ) -> Result<AppendInfo> {
        self.check_open()?;
        let cfg = self.config();
        let mut headers = batch::validate_record_set(records, cfg.max_message_bytes)?;
        let rules = RecordRules {
            require_keys: cfg.cleanup_policy.compacts(),
            from_client: origin == AppendOrigin::Client,
            ..RecordRules::default()
        };
        for h in &headers {
            let at = h.position as usize;
            validate_batch_records(&records[at..at + h.total_size()], h, &rules)?;
        }
        let mut w = self.lock_writer()?;
        // Under the writer lock, so a new epoch started by `assign_leader_epoch` is seen.
        if let Some(latest) = lock(&self.epochs).latest_epoch() {
            if leader_epoch >= 0 && leader_epoch < latest {
                return Err(LogError::StaleLeaderEpoch {
                    epoch: leader_epoch,
                    latest,
                });
            }
        }
        let mut next = self.log_end_offset();
        for h in &mut headers {
            let at = h.position as usize;
            batch::set_base_offset(&mut records[at..], next);
            batch::set_partition_leader_epoch(&mut records[at..], leader_epoch);
            h.base_offset = next;
            h.partition_leader_epoch = leader_epoch;
            next = h.next_offset();
        }
        self.append_locked(&mut w, &cfg, records, &headers)
    }

    /// Appends batches replicated from the leader, keeping their offsets and epochs. The first
    /// batch must start at or after the log end and offsets must increase.
    pub fn append_as_follower(&self, records: &[u8]) -> Result<AppendInfo> {
        self.check_open()?;
        let cfg = self.config();
        let headers = batch::validate_record_set(records, cfg.max_message_bytes)?;
        let mut w = self.lock_writer()?;
        let leo = self.log_end_offset();
        let mut expected = leo;
        for h in &headers {
            if h.base_offset < expected {
                if expected == leo {
                    return Err(LogError::UnexpectedAppendOffset {
                        base_offset: h.base_offset,
                        log_end_offset: leo,
                    });
                }
                return Err(BatchError::OffsetsNotIncreasing {
                    base_offset: h.base_offset,
                    expected,
                }
                .into());
            }
            expected = h.next_offset();
        }
        self.append_locked(&mut w, &cfg, records, &headers)
    }

    fn append_locked(
        &self,
        w: &mut WriterState,
        cfg: &LogConfig,
        buf: &[u8],
        headers: &[BatchHeader],
    ) -> Result<AppendInfo> {
        let (Some(first), Some(last)) = (headers.first(), headers.last()) else {
            return Err(BatchError::Empty.into());
        };
        let leo = self.log_end_offset();
        let view = self.view();
        let mut active = Arc::clone(view.active());
        if self.should_roll(
            &active,
            cfg,
            buf.len() as u64,
            first.base_offset,
            last.last_offset(),
        ) {
            active = self.roll_locked(w, cfg, first.base_offset)?;
        }
        let epoch_changed = {
            let mut epochs = lock(&self.epochs);
            let mut changed = false;
            for h in headers {
                if h.partition_leader_epoch >= 0
                    && epochs.latest_epoch() != Some(h.partition_leader_epoch)
                {
                    changed |= epochs.assign(h.partition_leader_epoch, h.base_offset);
                }
            }
            if changed {
                if let Err(e) = epochs.persist(self.res.faults()) {
                    epochs.truncate_from_end(leo);
                    return Err(e);
                }
            }
            changed
        };
        if let Err(e) = active.append(&self.res, buf, headers) {
            if epoch_changed {
                let mut epochs = lock(&self.epochs);
                epochs.truncate_from_end(leo);
                let _ = epochs.persist(self.res.faults());
            }
            return Err(e);
        }
        self.set_log_end_offset(last.next_offset());
        let record_count: i64 = headers.iter().map(|h| i64::from(h.records_count)).sum();
        w.unflushed_messages += record_count.max(0) as u64;
        let now = self.res.now_ms();
        let flush_due = cfg
            .flush_messages
            .is_some_and(|n| w.unflushed_messages >= n)
            || cfg
                .flush_ms
                .is_some_and(|ms| now - w.last_flush_ms >= ms as i64);
        if flush_due {
            if let Err(e) = self.flush_locked(w) {
                // Not durable as promised by the flush policy: take the append back.
                let _ = self.truncate_locked(w, leo);
                return Err(e);
            }
        }
        Ok(AppendInfo {
            base_offset: first.base_offset,
            last_offset: last.last_offset(),
            log_end_offset: last.next_offset(),
            max_timestamp: headers
                .iter()
                .map(|h| h.max_timestamp)
                .max()
                .unwrap_or(batch::NO_TIMESTAMP),
            batch_count: headers.len(),
            record_count,
            bytes: buf.len(),
        })
    }

    fn should_roll(
        &self,
        active: &Segment,
        cfg: &LogConfig,
        len: u64,
        first_offset: i64,
        last_offset: i64,
    ) -> bool {
        let size = active.size();
        // Relative offsets and positions must fit the index formats.
        let offsets_overflow = last_offset - active.base_offset > i64::from(i32::MAX);
        if size == 0 {
            return offsets_overflow || first_offset < active.base_offset;
        }
        let aged = self.res.now_ms() - active.roll_started_ms()
            >= cfg.segment_ms.min(i64::MAX as u64) as i64;
        size + len > cfg.segment_bytes || aged || offsets_overflow
    }

    /// Closes the active segment and starts a new one at the log end (if the active one holds
    /// anything).
    pub fn roll(&self) -> Result<()> {
        let mut w = self.lock_writer()?;
        let cfg = self.config();
        if self.view().active().size() > 0 {
            self.roll_locked(&mut w, &cfg, self.log_end_offset())?;
        }
        Ok(())
    }

    /// Starts a new active segment at `base_offset` and returns it.
    pub(crate) fn roll_locked(
        &self,
        w: &mut WriterState,
        cfg: &LogConfig,
        base_offset: i64,
    ) -> Result<Arc<Segment>> {
        let view = self.view();
        let old = Arc::clone(view.active());
        let mut segments = view.segments.clone();
        if old.size() == 0 {
            // An empty active segment at the wrong base is replaced rather than sealed.
            if old.base_offset == base_offset {
                return Ok(old);
            }
            old.delete_files(&self.res)?;
            segments.pop();
        }
        let new = Segment::create(&self.res, &self.dir, base_offset, cfg.index_interval_bytes)?;
        if old.size() > 0 {
            if let Err(e) = old.seal(&self.res) {
                let _ = new.delete_files(&self.res);
                return Err(e);
            }
        }
        w.dir_dirty = true;
        segments.push(Arc::clone(&new));
        self.publish(View {
            segments,
            log_start_offset: view.log_start_offset,
        });
        tracing::debug!(dir = %self.dir.display(), base_offset, "rolled segment");
        Ok(new)
    }

    /// Marks the log closed after flushing it; later calls fail with [`LogError::Closed`].
    pub fn close(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        self.flush()?;
        let _w = lock(&self.writer);
        self.closed.store(true, Ordering::Release);
        for seg in &self.view().segments {
            self.res.forget(seg.uid);
        }
        Ok(())
    }

    /// Deletes the log's files and directory (topic deletion). The log is closed afterwards.
    pub fn delete(&self) -> Result<()> {
        let _w = self.lock_writer()?;
        self.closed.store(true, Ordering::Release);
        for seg in &self.view().segments {
            seg.delete_files(&self.res)?;
        }
        std::fs::remove_dir_all(&self.dir)
            .map_err(|e| LogError::io("delete directory", &self.dir, e))
    }

    pub(crate) fn dir_sync(&self) -> Result<()> {
        io::sync_dir(self.res.faults(), &self.dir)
    }
}

/// Who wrote the records a leader appends (Kafka's `AppendOrigin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOrigin {
    /// A producer: every record validated, no control batches.
    Client,
    /// The broker's own group or transaction coordinator.
    Coordinator,
}
