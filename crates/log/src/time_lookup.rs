//! ListOffsets by timestamp: the first record whose timestamp is at or after T.
//!
//! Segments whose largest timestamp is below T are skipped; in the first candidate segment the
//! time index bounds where the search starts, the offset index finds the batch, and batch headers
//! (max timestamp) are walked until one may contain a match. That batch's records are decoded to
//! find the exact record; if its codec cannot be decoded here (snappy, lz4, zstd) the batch's
//! first offset is returned, which is earlier than or equal to the exact answer.

use std::borrow::Cow;

use crate::batch::{BatchHeader, Compression, HEADER_SIZE};
use crate::compression;
use crate::error::{LogError, Result};
use crate::log::{Log, TimestampOffset};
use crate::record::RecordIter;
use crate::scan::{FileWindow, Step};
use crate::segment::SCAN_CHUNK;
use crate::time_index;

impl Log {
    /// The earliest record (at or above the log start offset) with timestamp >= `timestamp`, or
    /// `None` if every record is older.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<TimestampOffset>> {
        let view = self.view();
        let log_start = view.log_start_offset;
        let segs = &view.segments;
        for (i, seg) in segs.iter().enumerate() {
            if segs.get(i + 1).is_some_and(|n| n.base_offset <= log_start)
                || seg.max_timestamp() < timestamp
            {
                continue;
            }
            let from = seg
                .with_indexes(&self.res, |_, times| {
                    time_index::scan_start(times, seg.base_offset, timestamp)
                })?
                .max(log_start);
            let Some(located) = seg.locate(&self.res, from)? else {
                continue;
            };
            let file = seg.log_file(&self.res)?;
            let mut window = FileWindow::new(&file, &seg.log_path, seg.size(), SCAN_CHUNK);
            let mut pos = located.position;
            loop {
                let h = match window.header(pos)? {
                    Step::Batch(h) => h,
                    Step::End => break,
                    Step::Invalid(reason) => {
                        return Err(LogError::Corrupt {
                            path: seg.log_path.clone(),
                            position: pos,
                            reason,
                        })
                    }
                };
                if h.last_offset() >= from && h.max_timestamp >= timestamp && !h.is_control() {
                    let bytes = window.bytes(pos, h.total_size())?.unwrap_or_default();
                    if let Some(found) = find_in_batch(&h, bytes, from, timestamp) {
                        return Ok(Some(found));
                    }
                }
                pos += h.total_size() as u64;
            }
        }
        Ok(None)
    }
}

/// The first record of the batch at or after `from` with timestamp >= `target`.
fn find_in_batch(h: &BatchHeader, batch: &[u8], from: i64, target: i64) -> Option<TimestampOffset> {
    let conservative = Some(TimestampOffset {
        timestamp: h.max_timestamp,
        offset: h.base_offset.max(from),
    });
    if batch.len() < HEADER_SIZE {
        return conservative;
    }
    let section = &batch[HEADER_SIZE..];
    let records: Cow<'_, [u8]> = match h.compression() {
        Compression::None => Cow::Borrowed(section),
        codec => match compression::decompress(codec, section) {
            Ok(Some(v)) => Cow::Owned(v),
            _ => return conservative,
        },
    };
    for r in RecordIter::new(&records, h.records_count) {
        let Ok(r) = r else { return conservative };
        let offset = h.base_offset + i64::from(r.offset_delta);
        let ts = if h.is_log_append_time() {
            h.max_timestamp
        } else {
            h.base_timestamp.saturating_add(r.timestamp_delta)
        };
        if offset >= from && ts >= target {
            return Some(TimestampOffset {
                timestamp: ts,
                offset,
            });
        }
    }
    None
}
