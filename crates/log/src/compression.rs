//! Decompression and recompression of a batch's records section, needed by compaction,
//! record-level timestamp lookups and the tools. Appends decompress only to validate (see
//! `validate`), and store what the producer sent.
//!
//! Every codec Kafka has is read: none, gzip, snappy (plain or snappy-java framed), lz4
//! (frame format) and zstd, all in pure Rust. Writing supports none, gzip, snappy (framed, as
//! Kafka's Java clients write it) and lz4; zstd batches are stored and served as they are but
//! not rewritten by the cleaner (it leaves a batch it cannot re-encode untouched).

use std::io::{Read, Write};

use crate::batch::Compression;
use crate::error::BatchError;
use crate::validate::{records_reader, MAX_DECOMPRESSED};

/// Returns the decompressed records (`Ok(None)` is kept for codecs a build cannot read; every
/// codec reads today). A section decompressing to more than [`MAX_DECOMPRESSED`] bytes is
/// treated as undecodable rather than allowed to exhaust memory.
pub fn decompress(codec: Compression, data: &[u8]) -> Result<Option<Vec<u8>>, BatchError> {
    let undecodable = |_| BatchError::MalformedRecord("compressed records do not decompress");
    let reader = records_reader(codec, data, MAX_DECOMPRESSED).map_err(undecodable)?;
    let mut out = Vec::with_capacity(data.len().saturating_mul(2).min(MAX_DECOMPRESSED));
    let read = reader
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| BatchError::MalformedRecord("compressed records do not decompress"))?;
    if read > MAX_DECOMPRESSED {
        return Err(BatchError::MalformedRecord(
            "decompressed records too large",
        ));
    }
    Ok(Some(out))
}

/// Compresses a records section with `codec`; `None` if the codec cannot be written here.
pub fn compress(codec: Compression, data: &[u8]) -> Option<Vec<u8>> {
    match codec {
        Compression::None => Some(data.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(data.len() / 2),
                flate2::Compression::default(),
            );
            // Writing into a Vec cannot fail.
            enc.write_all(data).ok()?;
            enc.finish().ok()
        }
        Compression::Snappy => snappy_framed(data),
        Compression::Lz4 => {
            let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(data.len() / 2));
            enc.write_all(data).ok()?;
            enc.finish().ok()
        }
        Compression::Zstd => None,
    }
}

/// snappy-java's framing: its 16-byte header, then (length, block) pairs of at most 32 KiB of
/// input each, which both Kafka's Java clients and librdkafka read.
fn snappy_framed(data: &[u8]) -> Option<Vec<u8>> {
    const BLOCK: usize = 32 * 1024;
    let mut out = b"\x82SNAPPY\0".to_vec();
    out.extend_from_slice(&1i32.to_be_bytes()); // version
    out.extend_from_slice(&1i32.to_be_bytes()); // compatible version
    let mut encoder = snap::raw::Encoder::new();
    for chunk in data.chunks(BLOCK) {
        let block = encoder.compress_vec(chunk).ok()?;
        out.extend_from_slice(&u32::try_from(block.len()).ok()?.to_be_bytes());
        out.extend_from_slice(&block);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let data = b"hello hello hello hello".repeat(3000);
        for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4] {
            let c = compress(codec, &data).unwrap();
            assert!(c.len() < data.len(), "{codec:?}");
            assert_eq!(decompress(codec, &c).unwrap().unwrap(), data, "{codec:?}");
        }
    }

    #[test]
    fn corrupt_data_is_an_error() {
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            assert!(decompress(codec, b"not compressed").is_err(), "{codec:?}");
        }
        assert!(compress(Compression::Zstd, b"x").is_none());
    }
}
