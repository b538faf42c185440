//! Reading jute records from a stream a block at a time, with a running CRC: snapshots of
//! millions of nodes are decoded without ever being in memory whole.

use std::io::Read;

use ferry_jute::{DecodeError, Reader};

use super::snapshot::SnapshotError;

const BLOCK: usize = 1 << 20;

pub struct ChunkedReader<R: Read> {
    source: R,
    buf: Vec<u8>,
    /// Where the next record starts in `buf`; the bytes before it are consumed.
    pos: usize,
    /// CRC32C of every byte consumed and dropped from `buf` so far.
    crc: u32,
    eof: bool,
}

impl<R: Read> ChunkedReader<R> {
    pub fn new(source: R) -> Self {
        Self {
            source,
            buf: Vec::new(),
            pos: 0,
            crc: 0,
            eof: false,
        }
    }

    /// Decodes the next record, reading more of the stream until it is complete. (A record
    /// longer than the rest of the stream is an error, however long it claims to be: reading
    /// goes a block at a time, never by a length taken from the data.)
    pub fn record<T>(
        &mut self,
        decode: impl Fn(&mut Reader<'_>) -> Result<T, DecodeError>,
    ) -> Result<T, SnapshotError> {
        loop {
            let mut reader = Reader::new(&self.buf[self.pos..]);
            match decode(&mut reader) {
                Ok(value) => {
                    self.pos += reader.position();
                    return Ok(value);
                }
                Err(DecodeError::Truncated { .. }) if !self.eof => self.fill()?,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Checks that what is left is exactly the CRC32C of everything before it.
    pub fn finish(mut self) -> Result<(), SnapshotError> {
        while !self.eof {
            self.fill()?;
        }
        let rest = &self.buf[self.pos..];
        let stored: [u8; 4] = rest.try_into().map_err(|_| {
            SnapshotError::Corrupt(format!(
                "{} bytes after the last node, not a CRC",
                rest.len()
            ))
        })?;
        let crc = crc32c::crc32c_append(self.crc, &self.buf[..self.pos]);
        if crc != u32::from_be_bytes(stored) {
            return Err(SnapshotError::Corrupt("CRC mismatch".into()));
        }
        Ok(())
    }

    /// Drops the consumed bytes (into the CRC) and appends up to a block from the stream.
    fn fill(&mut self) -> Result<(), SnapshotError> {
        self.crc = crc32c::crc32c_append(self.crc, &self.buf[..self.pos]);
        self.buf.drain(..self.pos);
        self.pos = 0;
        let start = self.buf.len();
        self.buf.resize(start + BLOCK, 0);
        let mut filled = start;
        while filled < self.buf.len() {
            match self.source.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SnapshotError::Read(e)),
            }
        }
        self.buf.truncate(filled);
        Ok(())
    }
}
