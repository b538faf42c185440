//! Deleting old data: time and size retention, DeleteRecords, and the log start offset.
//!
//! Retention only ever removes a *prefix of whole sealed segments*; the active segment is never
//! deleted (so the log end offset and the next append are never affected). Rules, as in Kafka:
//!
//! * `retention.ms`: a segment goes when its largest timestamp is older than `now - retention.ms`
//!   (only if `cleanup.policy` includes `delete`); segments are considered oldest first and the
//!   scan stops at the first one that must stay.
//! * `retention.bytes`: oldest segments go while the log stays at or above the limit without them.
//! * Log start offset (moved by DeleteRecords): a segment goes when the next segment starts at or
//!   below it. Records below the log start in a surviving segment are hidden from reads.

use std::sync::Arc;

use crate::error::{LogError, Result};
use crate::fd_cache::lock;
use crate::log::{Log, View, WriterState};

/// What a retention pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Base offsets of the deleted segments.
    pub deleted_segments: Vec<i64>,
    pub deleted_bytes: u64,
    /// The log start offset afterwards.
    pub log_start_offset: i64,
}

impl Log {
    /// Applies time, size and log-start-offset retention as of `now_ms`.
    pub fn apply_retention(&self, now_ms: i64) -> Result<RetentionReport> {
        let mut w = self.lock_writer()?;
        let cfg = self.config();
        let view = self.view();
        let segs = &view.segments;
        let sealed = segs.len() - 1;
        let mut count = breached_prefix(&view);
        if cfg.cleanup_policy.deletes() {
            if let Some(ms) = cfg.retention_ms {
                let cutoff = now_ms.saturating_sub(ms.min(i64::MAX as u64) as i64);
                let expired = segs[..sealed]
                    .iter()
                    .take_while(|s| s.largest_timestamp() < cutoff)
                    .count();
                count = count.max(expired);
            }
            if let Some(limit) = cfg.retention_bytes {
                let total: u64 = segs.iter().map(|s| s.size()).sum();
                let mut excess = total.saturating_sub(limit);
                let mut over = 0;
                for s in &segs[..sealed] {
                    if s.size() > excess {
                        break;
                    }
                    excess -= s.size();
                    over += 1;
                }
                count = count.max(over);
            }
        }
        self.delete_prefix_locked(&mut w, &view, count)
    }

    /// DeleteRecords: moves the log start offset up to `offset` (which the caller has checked
    /// against the high watermark) and deletes segments wholly below it. Returns the new log
    /// start offset.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64> {
        let mut w = self.lock_writer()?;
        let view = self.view();
        let leo = self.log_end_offset();
        if offset > leo || offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: view.log_start_offset,
                log_end_offset: leo,
            });
        }
        if offset <= view.log_start_offset {
            return Ok(view.log_start_offset);
        }
        let moved = View {
            segments: view.segments.clone(),
            log_start_offset: offset,
        };
        self.publish(moved.clone());
        let count = breached_prefix(&moved);
        let report = self.delete_prefix_locked(&mut w, &moved, count)?;
        Ok(report.log_start_offset)
    }

    fn delete_prefix_locked(
        &self,
        w: &mut WriterState,
        view: &View,
        count: usize,
    ) -> Result<RetentionReport> {
        let count = count.min(view.segments.len() - 1);
        let mut report = RetentionReport {
            log_start_offset: view.log_start_offset,
            ..RetentionReport::default()
        };
        if count == 0 {
            self.move_epoch_start(view.log_start_offset)?;
            return Ok(report);
        }
        let remaining: Vec<_> = view.segments[count..].to_vec();
        let new_start = view.log_start_offset.max(remaining[0].base_offset);
        self.publish(View {
            segments: remaining,
            log_start_offset: new_start,
        });
        w.dir_dirty = true;
        for seg in &view.segments[..count] {
            report.deleted_segments.push(seg.base_offset);
            report.deleted_bytes += seg.size();
            seg.delete_files(&self.res)?;
        }
        report.log_start_offset = new_start;
        self.move_epoch_start(new_start)?;
        tracing::info!(dir = %self.dir.display(), segments = count, log_start_offset = new_start, "deleted old segments");
        Ok(report)
    }

    fn move_epoch_start(&self, log_start: i64) -> Result<()> {
        let mut epochs = lock(&self.epochs);
        if epochs.truncate_from_start(log_start) {
            epochs.persist(self.res.faults())?;
        }
        Ok(())
    }
}

/// Sealed segments whose successor starts at or below the log start offset.
fn breached_prefix(view: &View) -> usize {
    let segs: &[Arc<_>] = &view.segments;
    (0..segs.len() - 1)
        .take_while(|&i| segs[i + 1].base_offset <= view.log_start_offset)
        .count()
}
