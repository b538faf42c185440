//! Sequential walking of the batches in a segment file with few, large reads.
//!
//! Every consumer of a segment's bytes other than a fetch (lookups from an index entry, recovery,
//! index rebuilds, truncation, the cleaner, timestamp search) walks batch headers forward from a
//! position. [`FileWindow`] keeps a buffer over the file so a walk costs one `pread` per chunk,
//! not one per batch, and never reads past the segment's visible size.

use std::fs::File;
use std::path::Path;

use crate::batch::{self, BatchHeader, HEADER_SIZE};
use crate::error::Result;
use crate::io;

/// Outcome of looking at the bytes at a position.
#[derive(Debug)]
pub(crate) enum Step {
    /// A batch whose header parsed and whose full length lies within the window's end.
    Batch(BatchHeader),
    /// Exactly at the end.
    End,
    /// Bytes that are not a whole valid batch: a torn or corrupt tail (reason).
    Invalid(String),
}

pub(crate) struct FileWindow<'a> {
    file: &'a File,
    path: &'a Path,
    end: u64,
    chunk: usize,
    buf: Vec<u8>,
    start: u64,
}

impl<'a> FileWindow<'a> {
    /// A window over `[0, end)` of `file` that reads `chunk` bytes at a time.
    pub(crate) fn new(file: &'a File, path: &'a Path, end: u64, chunk: usize) -> Self {
        FileWindow {
            file,
            path,
            end,
            chunk: chunk.max(HEADER_SIZE),
            buf: Vec::new(),
            start: 0,
        }
    }

    /// The bytes `[pos, pos+len)`, or `None` if they extend past the end (or the file is shorter
    /// than expected).
    pub(crate) fn bytes(&mut self, pos: u64, len: usize) -> Result<Option<&[u8]>> {
        if pos + len as u64 > self.end {
            return Ok(None);
        }
        let have = pos >= self.start && pos + len as u64 <= self.start + self.buf.len() as u64;
        if !have {
            let want = len.max(self.chunk).min((self.end - pos) as usize);
            self.buf.resize(want, 0);
            let n = io::read_at_most(self.file, self.path, &mut self.buf, pos)?;
            self.buf.truncate(n);
            self.start = pos;
            if n < len {
                return Ok(None);
            }
        }
        let from = (pos - self.start) as usize;
        Ok(Some(&self.buf[from..from + len]))
    }

    /// Parses the batch header at `pos`.
    pub(crate) fn header(&mut self, pos: u64) -> Result<Step> {
        if pos >= self.end {
            return Ok(Step::End);
        }
        let Some(bytes) = self.bytes(pos, HEADER_SIZE)? else {
            return Ok(Step::Invalid(format!(
                "{} trailing bytes are not a batch header",
                self.end - pos
            )));
        };
        let header = match BatchHeader::parse(bytes, pos) {
            Ok(h) => h,
            Err(e) => return Ok(Step::Invalid(e.to_string())),
        };
        if pos + header.total_size() as u64 > self.end {
            return Ok(Step::Invalid(format!(
                "batch of {} bytes runs past the end ({} bytes left)",
                header.total_size(),
                self.end - pos
            )));
        }
        Ok(Step::Batch(header))
    }

    /// Parses the header at `pos` and checks the CRC of the whole batch; returns the batch bytes.
    pub(crate) fn validated(&mut self, pos: u64) -> Result<(Step, Option<&[u8]>)> {
        let step = self.header(pos)?;
        let Step::Batch(header) = step else {
            return Ok((step, None));
        };
        let Some(bytes) = self.bytes(pos, header.total_size())? else {
            return Ok((Step::Invalid("batch shorter than its length".into()), None));
        };
        if let Err(e) = batch::verify_crc(bytes, &header) {
            return Ok((Step::Invalid(e.to_string()), None));
        }
        Ok((Step::Batch(header), Some(bytes)))
    }
}
