//! Durability: fsync policy and the recovery point.
//!
//! Kafka's default is to leave flushing to the OS and rely on replication; `flush.messages` and
//! `flush.ms` (or `flush.messages=1` for every append) make the log fsync itself. Whatever was
//! fsynced is below the *recovery point*, which the broker checkpoints; recovery after a crash
//! only validates segments from the one holding the recovery point onward.
//!
//! An explicit [`Log::flush`] fsyncs without holding the writer lock, so a periodic flusher
//! thread does not stall appends for the duration of an fsync.

use std::sync::Arc;

use crate::error::{LogError, Result};
use crate::fd_cache::lock;
use crate::log::{Log, WriterState};
use crate::segment::Segment;

impl Log {
    /// fsyncs everything appended so far and advances the recovery point to the log end.
    pub fn flush(&self) -> Result<()> {
        let (target, segments, generation, dir_dirty) = {
            let mut w = self.lock_writer()?;
            let target = self.log_end_offset();
            let segments = self.unflushed_segments(w.recovery_point);
            w.unflushed_messages = 0;
            w.last_flush_ms = self.res.now_ms();
            (target, segments, w.generation, w.dir_dirty)
        };
        self.sync_segments(&segments, dir_dirty)?;
        let mut w = lock(&self.writer);
        if w.generation == generation {
            w.recovery_point = w.recovery_point.max(target).min(self.log_end_offset());
            if dir_dirty {
                w.dir_dirty = false;
            }
        }
        Ok(())
    }

    /// Flushes if `flush.ms` has elapsed since the last flush (for a periodic scheduler).
    pub fn maybe_flush(&self, now_ms: i64) -> Result<bool> {
        let due = {
            let w = self.lock_writer()?;
            let cfg = self.config();
            w.recovery_point < self.log_end_offset()
                && cfg
                    .flush_ms
                    .is_some_and(|ms| now_ms - w.last_flush_ms >= ms as i64)
        };
        if due {
            self.flush()?;
        }
        Ok(due)
    }

    /// Flush with the writer lock held (flush policy on append).
    pub(crate) fn flush_locked(&self, w: &mut WriterState) -> Result<()> {
        let target = self.log_end_offset();
        let segments = self.unflushed_segments(w.recovery_point);
        self.sync_segments(&segments, w.dir_dirty)?;
        w.dir_dirty = false;
        w.recovery_point = w.recovery_point.max(target);
        w.unflushed_messages = 0;
        w.last_flush_ms = self.res.now_ms();
        Ok(())
    }

    fn unflushed_segments(&self, recovery_point: i64) -> Vec<Arc<Segment>> {
        let view = self.view();
        let from = view.floor_index(recovery_point);
        view.segments[from..].to_vec()
    }

    fn sync_segments(&self, segments: &[Arc<Segment>], dir_dirty: bool) -> Result<()> {
        for seg in segments {
            match seg.sync(&self.res) {
                Ok(()) => {}
                // Deleted meanwhile by retention or truncation: nothing left to make durable.
                Err(LogError::Io { ref source, .. })
                    if seg.is_deleted() && source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if dir_dirty {
            self.dir_sync()?;
        }
        Ok(())
    }
}
