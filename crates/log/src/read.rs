//! Reading a log: whole batches copied out ([`Log::read`]), or, for a follower's fetch, where
//! they lie in their segment file ([`Log::read_file_slice`]) so that the broker sends them
//! with `sendfile` instead of copying them.

use std::fs::File;
use std::sync::Arc;

use crate::error::{LogError, Result};
use crate::log::Log;
use crate::segment::Segment;

/// Result of a read: whole batches (possibly none) and the log's bounds at the time of the read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadResult {
    /// Batches back to back, exactly as stored; the first one contains the requested offset (it
    /// may start before it, as in a Kafka fetch).
    pub records: Vec<u8>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

/// Where batches lie in a segment file: `len` bytes from `position`, every batch whole.
#[derive(Debug, Clone)]
pub struct FileRead {
    pub file: Arc<File>,
    pub position: u64,
    pub len: usize,
    pub log_start_offset: i64,
}

impl Log {
    /// Reads whole batches starting with the one holding `offset`, up to `max_bytes` (but at least
    /// one batch), never returning a batch whose last offset is >= `max_offset` (pass the high
    /// watermark for consumers, `None` for replicas). Only batches of one segment are returned
    /// per call, as in Kafka.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: Option<i64>,
    ) -> Result<ReadResult> {
        let max_offset = max_offset.unwrap_or(i64::MAX);
        retrying(|| {
            let start = self.find(offset)?;
            let records = match &start.batch {
                None => Vec::new(),
                Some((seg, position)) => seg
                    .read(&self.res, *position, max_bytes, max_offset)
                    .map_err(|e| ReadErr::classify(e, seg))?,
            };
            Ok(ReadResult {
                records,
                log_start_offset: start.log_start_offset,
                log_end_offset: start.log_end_offset,
            })
        })
    }

    /// The batches from the one holding `offset` to the end of its segment, as a slice of the
    /// segment file, when they are `min_bytes` to `max_bytes` (a follower keeping up asks for
    /// what was appended since its last fetch: all of it, in whole batches, as a segment only
    /// ever grows by whole batches). `None` otherwise: [`Log::read`] cuts a larger read, and
    /// copies a smaller one more cheaply than a slice is sent.
    pub fn read_file_slice(
        &self,
        offset: i64,
        min_bytes: usize,
        max_bytes: usize,
    ) -> Result<Option<FileRead>> {
        retrying(|| {
            let start = self.find(offset)?;
            let Some((seg, position)) = &start.batch else {
                return Ok(None);
            };
            let len = seg.size().saturating_sub(*position);
            if len == 0 || len < min_bytes as u64 || len > max_bytes as u64 {
                return Ok(None);
            }
            let file = seg
                .log_file(&self.res)
                .map_err(|e| ReadErr::classify(e, seg))?;
            Ok(Some(FileRead {
                file,
                position: *position,
                len: len as usize,
                log_start_offset: start.log_start_offset,
            }))
        })
    }

    /// Where the batch holding `offset` starts, in the current view; an offset outside the log
    /// is OFFSET_OUT_OF_RANGE, the log end has no batch.
    fn find(&self, offset: i64) -> Result<Start, ReadErr> {
        self.check_open()?;
        let log_end_offset = self.log_end_offset();
        let view = self.view();
        let mut start = Start {
            log_start_offset: view.log_start_offset,
            log_end_offset,
            batch: None,
        };
        if offset < view.log_start_offset || offset > log_end_offset {
            return Err(ReadErr::Other(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: view.log_start_offset,
                log_end_offset,
            }));
        }
        if offset == log_end_offset {
            return Ok(start);
        }
        for seg in &view.segments[view.floor_index(offset)..] {
            let located = seg
                .locate(&self.res, offset)
                .map_err(|e| ReadErr::classify(e, seg))?;
            if let Some(l) = located {
                start.batch = Some((Arc::clone(seg), l.position));
                return Ok(start);
            }
        }
        Ok(start)
    }
}

/// Where a read starts ([`Log::find`]), with the log's bounds when it was found.
struct Start {
    log_start_offset: i64,
    log_end_offset: i64,
    batch: Option<(Arc<Segment>, u64)>,
}

/// Runs a read again while segments vanish under it (see [`Log::read`]).
fn retrying<T>(mut read: impl FnMut() -> Result<T, ReadErr>) -> Result<T> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match read() {
            // A segment in our snapshot was deleted or replaced (retention, compaction swap,
            // truncation). Every such change publishes the new view before the files go (or
            // while holding the view's lock), so a fresh view never lists it: retry at once,
            // without sleeping. More than one retry only happens when another change raced
            // this one.
            Err(ReadErr::SegmentGone(_)) if attempt < MAX_READ_ATTEMPTS => continue,
            Err(ReadErr::SegmentGone(e)) | Err(ReadErr::Other(e)) => return Err(e),
            Ok(r) => return Ok(r),
        }
    }
}

/// Reads retried when segments vanish under them before the error is returned.
const MAX_READ_ATTEMPTS: usize = 16;

/// Distinguishes "the segment was deleted under this reader" (retry with a fresh view) from
/// real errors.
enum ReadErr {
    SegmentGone(LogError),
    Other(LogError),
}

impl ReadErr {
    fn classify(e: LogError, seg: &Segment) -> Self {
        if seg.is_deleted() {
            ReadErr::SegmentGone(e)
        } else {
            ReadErr::Other(e)
        }
    }
}

impl From<LogError> for ReadErr {
    fn from(e: LogError) -> Self {
        ReadErr::Other(e)
    }
}
