//! The rule that decides which batches get index entries, shared by the append path, recovery
//! and the cleaner so that an index rebuilt from the log is identical to the one written while
//! appending (tests rely on that).
//!
//! A batch starting at byte `p` gets an offset-index entry `(lastOffset, p)` when
//! `p - position of the previous entry > index.interval.bytes` (the segment start counts as the
//! first "entry"), and at that moment the time index gets `(max timestamp so far, its offset)` if
//! the maximum grew. This is Kafka's `LogSegment.recover` rule.

use crate::batch::{BatchHeader, NO_TIMESTAMP};
use crate::offset_index::OffsetEntry;
use crate::time_index::{self, TimeEntry};

#[derive(Debug, Clone)]
pub(crate) struct Indexer {
    pub base_offset: i64,
    pub interval: u64,
    pub offsets: Vec<OffsetEntry>,
    pub times: Vec<TimeEntry>,
    pub last_indexed_position: u64,
    pub max_timestamp: i64,
    pub offset_of_max_timestamp: i64,
}

impl Indexer {
    pub(crate) fn new(base_offset: i64, interval: u64) -> Self {
        Indexer {
            base_offset,
            interval,
            offsets: Vec::new(),
            times: Vec::new(),
            last_indexed_position: 0,
            max_timestamp: NO_TIMESTAMP,
            offset_of_max_timestamp: base_offset,
        }
    }

    /// Resumes from existing entries; `max_timestamp`/offset must cover every batch indexed so far.
    pub(crate) fn resume(
        base_offset: i64,
        interval: u64,
        offsets: Vec<OffsetEntry>,
        times: Vec<TimeEntry>,
    ) -> Self {
        let last_indexed_position = offsets.last().map_or(0, |e| u64::from(e.position));
        let (max_timestamp, offset_of_max_timestamp) =
            times.last().map_or((NO_TIMESTAMP, base_offset), |t| {
                (t.timestamp, base_offset + i64::from(t.relative_offset))
            });
        Indexer {
            base_offset,
            interval,
            offsets,
            times,
            last_indexed_position,
            max_timestamp,
            offset_of_max_timestamp,
        }
    }

    fn relative(&self, offset: i64) -> u32 {
        (offset - self.base_offset).clamp(0, i64::from(u32::MAX)) as u32
    }

    /// Accounts for a batch written at `position` of the segment.
    pub(crate) fn add(&mut self, header: &BatchHeader, position: u64) {
        if header.max_timestamp > self.max_timestamp {
            self.max_timestamp = header.max_timestamp;
            self.offset_of_max_timestamp = header.last_offset();
        }
        if position.saturating_sub(self.last_indexed_position) > self.interval {
            self.offsets.push(OffsetEntry {
                relative_offset: self.relative(header.last_offset()),
                position: position as u32,
            });
            let rel = self.relative(self.offset_of_max_timestamp);
            time_index::maybe_append(&mut self.times, self.max_timestamp, rel);
            self.last_indexed_position = position;
        }
    }

    /// The final time-index entry written when a segment stops being active, so that its largest
    /// timestamp can be read from the last entry.
    pub(crate) fn seal(&mut self) {
        let rel = self.relative(self.offset_of_max_timestamp);
        time_index::maybe_append(&mut self.times, self.max_timestamp, rel);
    }
}
