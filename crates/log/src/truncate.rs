//! Truncation from the end: a follower whose log diverged from the new leader's cuts its log
//! back to the offset the OffsetForLeaderEpoch exchange produced.
//!
//! Truncation works at batch granularity: every batch whose last offset is >= the target goes,
//! and the log end becomes `min(target, base offset of the first removed batch)`. Kafka followers
//! always truncate at batch boundaries, where both agree.

use std::sync::Arc;

use crate::error::Result;
use crate::fd_cache::lock;
use crate::log::{Log, View, WriterState};
use crate::segment::Segment;

impl Log {
    /// Removes every batch whose last offset is >= `offset`. A target below the log start (or
    /// the first segment) empties the log and restarts it at `offset`.
    pub fn truncate_to(&self, offset: i64) -> Result<()> {
        let mut w = self.lock_writer()?;
        self.truncate_locked(&mut w, offset)
    }

    /// Deletes everything and restarts the log at `offset` (a follower whose fetch offset is out
    /// of the leader's range).
    pub fn truncate_fully_and_start_at(&self, offset: i64) -> Result<()> {
        let mut w = self.lock_writer()?;
        self.truncate_fully_locked(&mut w, offset)
    }

    pub(crate) fn truncate_locked(&self, w: &mut WriterState, offset: i64) -> Result<()> {
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        let view = self.view();
        if offset < view.log_start_offset || offset <= view.segments[0].base_offset {
            return self.truncate_fully_locked(w, offset);
        }
        let keep = view.segments.partition_point(|s| s.base_offset < offset);
        let last = Arc::clone(&view.segments[keep - 1]);
        let new_leo = last.truncate_to(&self.res, offset)?;
        let removed: Vec<Arc<Segment>> = view.segments[keep..].to_vec();
        // The batch holding `offset` may start below the log start (DeleteRecords inside a
        // batch); the log start then follows the log end down, as in Kafka.
        self.publish(View {
            segments: view.segments[..keep].to_vec(),
            log_start_offset: view.log_start_offset.min(new_leo),
        });
        self.set_log_end_offset(new_leo);
        w.generation += 1;
        w.recovery_point = w.recovery_point.min(new_leo);
        w.dir_dirty |= !removed.is_empty();
        for seg in &removed {
            seg.delete_files(&self.res)?;
        }
        let mut epochs = lock(&self.epochs);
        if epochs.truncate_from_end(new_leo) {
            epochs.persist(self.res.faults())?;
        }
        tracing::info!(dir = %self.dir.display(), offset, new_leo, "truncated log");
        Ok(())
    }

    pub(crate) fn truncate_fully_locked(&self, w: &mut WriterState, offset: i64) -> Result<()> {
        let view = self.view();
        let cfg = self.config();
        // Reuse a segment already named for `offset` (cut to nothing), else create a fresh one.
        let reuse = view
            .segments
            .iter()
            .find(|s| s.base_offset == offset)
            .cloned();
        let active = match reuse {
            Some(seg) => {
                seg.truncate_to(&self.res, offset)?;
                seg
            }
            None => Segment::create(&self.res, &self.dir, offset, cfg.index_interval_bytes)?,
        };
        self.publish(View {
            segments: vec![Arc::clone(&active)],
            log_start_offset: offset,
        });
        self.set_log_end_offset(offset);
        w.generation += 1;
        w.recovery_point = offset;
        w.dir_dirty = true;
        for seg in view.segments.iter().filter(|s| s.uid != active.uid) {
            seg.delete_files(&self.res)?;
        }
        let mut epochs = lock(&self.epochs);
        if epochs.clear() {
            epochs.persist(self.res.faults())?;
        }
        tracing::info!(dir = %self.dir.display(), offset, "truncated log fully");
        Ok(())
    }
}
