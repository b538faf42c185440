//! The Kafka record batch, magic v2: header parsing, validation and offset assignment.
//!
//! # On-disk / on-wire layout (all integers big-endian)
//!
//! ```text
//! offset  size  field
//!      0     8  baseOffset            first offset of the batch        (not covered by the CRC)
//!      8     4  batchLength           bytes that follow this field     (not covered by the CRC)
//!     12     4  partitionLeaderEpoch  epoch of the leader that wrote it (not covered by the CRC)
//!     16     1  magic                 always 2 here
//!     17     4  crc                   CRC32C (Castagnoli) of bytes 21..end
//!     21     2  attributes            bits 0-2 compression, 3 timestamp type, 4 transactional,
//!                                     5 control, 6 has delete horizon
//!     23     4  lastOffsetDelta
//!     27     8  baseTimestamp
//!     35     8  maxTimestamp
//!     43     8  producerId
//!     51     2  producerEpoch
//!     53     4  baseSequence
//!     57     4  recordsCount
//!     61     -  records (possibly compressed as one block)
//! ```
//!
//! Because the CRC starts at `attributes`, the broker can assign offsets and stamp the leader
//! epoch by overwriting bytes 0..8 and 12..16 without decoding or re-checksumming the records.
//! A segment's `.log` file is nothing but these batches back to back, exactly as received.

use crate::error::BatchError;

/// Size of the fixed batch header; the smallest possible batch.
pub const HEADER_SIZE: usize = 61;
/// `batchLength` counts the bytes after the length field, i.e. the batch size minus 12.
pub const LOG_OVERHEAD: usize = 12;
/// The only batch format this log stores.
pub const MAGIC_V2: i8 = 2;
/// Partition leader epoch value meaning "unknown".
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
/// Timestamp value meaning "no timestamp".
pub const NO_TIMESTAMP: i64 = -1;

const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;

/// Compression codec stored in attribute bits 0..2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    fn from_attributes(attributes: i16) -> Result<Self, i16> {
        match attributes & 0x07 {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            other => Err(other),
        }
    }

    /// The attribute bits for this codec.
    pub fn attribute_bits(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }
}

/// The parsed fixed header of one batch, plus where it sits in the buffer or file it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Byte position of the batch in the buffer or file it was parsed from.
    pub position: u64,
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

impl BatchHeader {
    /// Parses and sanity-checks a header from `buf` (which must start at the batch). Checks the
    /// length and magic so that a caller can safely skip `total_size()` bytes; does not check the
    /// CRC (see [`verify_crc`]).
    pub fn parse(buf: &[u8], position: u64) -> Result<Self, BatchError> {
        let pos = position as usize;
        if buf.len() < HEADER_SIZE {
            return Err(BatchError::Truncated {
                position: pos,
                needed: HEADER_SIZE,
                available: buf.len(),
            });
        }
        let batch_length = be_i32(buf, 8);
        if batch_length < (HEADER_SIZE - LOG_OVERHEAD) as i32 {
            return Err(BatchError::InvalidLength {
                position: pos,
                length: batch_length,
            });
        }
        let magic = buf[16] as i8;
        if magic != MAGIC_V2 {
            return Err(BatchError::UnsupportedMagic {
                position: pos,
                magic,
            });
        }
        let h = BatchHeader {
            position,
            base_offset: be_i64(buf, 0),
            batch_length,
            partition_leader_epoch: be_i32(buf, 12),
            magic,
            crc: be_i32(buf, CRC_OFFSET) as u32,
            attributes: be_i16(buf, ATTRIBUTES_OFFSET),
            last_offset_delta: be_i32(buf, 23),
            base_timestamp: be_i64(buf, 27),
            max_timestamp: be_i64(buf, 35),
            producer_id: be_i64(buf, 43),
            producer_epoch: be_i16(buf, 51),
            base_sequence: be_i32(buf, 53),
            records_count: be_i32(buf, 57),
        };
        let bad = |field, value: i64| BatchError::InvalidField {
            position: pos,
            field,
            value,
        };
        if h.last_offset_delta < 0 {
            return Err(bad("lastOffsetDelta", h.last_offset_delta.into()));
        }
        if h.records_count < 0 {
            return Err(bad("recordsCount", h.records_count.into()));
        }
        if h.base_offset < 0
            || h.base_offset
                .checked_add(h.last_offset_delta.into())
                .is_none()
        {
            return Err(bad("baseOffset", h.base_offset));
        }
        if let Err(codec) = Compression::from_attributes(h.attributes) {
            return Err(bad("compression", codec.into()));
        }
        Ok(h)
    }

    /// Size of the whole batch in bytes, header included.
    pub fn total_size(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }
    /// Offset of the last record (also valid for compacted batches whose records have gaps).
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }
    /// The offset after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
    /// The batch's compression codec.
    pub fn compression(&self) -> Compression {
        Compression::from_attributes(self.attributes).unwrap_or(Compression::None)
    }
    /// True for transaction markers and other control batches.
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
    /// True if timestamps are the broker's LogAppendTime (then every record has `max_timestamp`).
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & 0x08 != 0
    }
    /// True for transactional batches.
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }
}

/// Computes the CRC32C the header should carry for `batch` (a whole batch).
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..])
}

/// Checks the stored CRC of a whole batch against its content.
pub fn verify_crc(batch: &[u8], header: &BatchHeader) -> Result<(), BatchError> {
    let computed = compute_crc(batch);
    if computed != header.crc {
        return Err(BatchError::CrcMismatch {
            position: header.position as usize,
            stored: header.crc,
            computed,
        });
    }
    Ok(())
}

/// Overwrites the base offset of the batch starting at `batch` (outside the CRC).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Overwrites the partition leader epoch of the batch starting at `batch` (outside the CRC).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[12..16].copy_from_slice(&epoch.to_be_bytes());
}

/// Rewrites `recordsCount`, `batchLength` and the CRC after the records section was replaced;
/// used by the cleaner, which is the only writer that changes CRC-covered bytes.
pub(crate) fn finish_rewritten(batch: &mut [u8], records_count: i32) {
    let len = (batch.len() - LOG_OVERHEAD) as i32;
    batch[8..12].copy_from_slice(&len.to_be_bytes());
    batch[57..61].copy_from_slice(&records_count.to_be_bytes());
    let crc = compute_crc(batch);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Walks a buffer holding whole batches back to back, checking each header and CRC. This is
/// what a produce request's record set goes through before anything touches the disk.
pub fn validate_record_set(
    buf: &[u8],
    max_batch_bytes: usize,
) -> Result<Vec<BatchHeader>, BatchError> {
    if buf.is_empty() {
        return Err(BatchError::Empty);
    }
    let mut headers = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let header = BatchHeader::parse(rest, pos as u64)?;
        let size = header.total_size();
        if size > rest.len() {
            return Err(BatchError::Truncated {
                position: pos,
                needed: size,
                available: rest.len(),
            });
        }
        if size > max_batch_bytes {
            return Err(BatchError::TooLarge {
                size,
                max: max_batch_bytes,
            });
        }
        verify_crc(&rest[..size], &header)?;
        headers.push(header);
        pos += size;
    }
    Ok(headers)
}

/// Iterates whole batches of an in-memory buffer (e.g. a fetch result) without CRC checks;
/// stops at the first incomplete or malformed batch.
pub struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> BatchIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        BatchIter { buf, pos: 0 }
    }
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = (BatchHeader, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        let header = BatchHeader::parse(rest, self.pos as u64).ok()?;
        let size = header.total_size();
        if size > rest.len() {
            return None;
        }
        self.pos += size;
        Some((header, &rest[..size]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::BatchBuilder;

    fn sample() -> Vec<u8> {
        let mut b = BatchBuilder::new(1_000);
        b.append(Some(b"k"), Some(b"v1"), 1_000);
        b.append(Some(b"k"), Some(b"v2"), 1_005);
        b.build()
    }

    #[test]
    fn parses_header_fields() {
        let batch = sample();
        let h = BatchHeader::parse(&batch, 0).unwrap();
        assert_eq!(h.base_offset, 0);
        assert_eq!(h.magic, 2);
        assert_eq!(h.records_count, 2);
        assert_eq!(h.last_offset_delta, 1);
        assert_eq!(h.max_timestamp, 1_005);
        assert_eq!(h.total_size(), batch.len());
        verify_crc(&batch, &h).unwrap();
    }

    #[test]
    fn offset_and_epoch_rewrite_keep_crc_valid() {
        let mut batch = sample();
        set_base_offset(&mut batch, 77);
        set_partition_leader_epoch(&mut batch, 9);
        let h = BatchHeader::parse(&batch, 0).unwrap();
        assert_eq!(
            (h.base_offset, h.partition_leader_epoch, h.last_offset()),
            (77, 9, 78)
        );
        verify_crc(&batch, &h).unwrap();
    }

    #[test]
    fn detects_flipped_bit() {
        let mut batch = sample();
        let last = batch.len() - 1;
        batch[last] ^= 1;
        let err = validate_record_set(&batch, 1 << 20).unwrap_err();
        assert!(matches!(err, BatchError::CrcMismatch { .. }), "{err}");
    }

    #[test]
    fn rejects_bad_magic_length_and_truncation() {
        let batch = sample();
        let mut m = batch.clone();
        m[16] = 1;
        assert!(matches!(
            validate_record_set(&m, 1 << 20),
            Err(BatchError::UnsupportedMagic { .. })
        ));
        let mut l = batch.clone();
        l[8..12].copy_from_slice(&3i32.to_be_bytes());
        assert!(matches!(
            validate_record_set(&l, 1 << 20),
            Err(BatchError::InvalidLength { .. })
        ));
        assert!(matches!(
            validate_record_set(&batch[..batch.len() - 1], 1 << 20),
            Err(BatchError::Truncated { .. })
        ));
        assert!(matches!(
            validate_record_set(&batch[..10], 1 << 20),
            Err(BatchError::Truncated { .. })
        ));
        assert!(matches!(
            validate_record_set(&batch, 10),
            Err(BatchError::TooLarge { .. })
        ));
        assert_eq!(validate_record_set(&[], 10), Err(BatchError::Empty));
    }

    #[test]
    fn validates_multi_batch_sets() {
        let mut set = sample();
        set.extend_from_slice(&sample());
        let headers = validate_record_set(&set, 1 << 20).unwrap();
        assert_eq!(headers.len(), 2);
        assert_eq!(headers[1].position as usize, set.len() / 2);
        assert_eq!(BatchIter::new(&set).count(), 2);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678_u64;
        for len in 0..300 {
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = validate_record_set(&buf, 1 << 20);
            let _ = BatchIter::new(&buf).count();
        }
    }
}
