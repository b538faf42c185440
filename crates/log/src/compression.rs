//! Decompression and recompression of a batch's records section, needed only by compaction and
//! record-level timestamp lookups. Appends never decompress.
//!
//! Supported: none and gzip (pure-Rust `flate2`). Snappy, LZ4 and zstd batches are stored and
//! served as they are, but the cleaner leaves them untouched (see `cleaner`) and a timestamp
//! lookup answers with the batch's base offset, which is conservative (a consumer starting there
//! sees a few records older than the requested time, and never misses one).

use std::io::{Read, Write};

use crate::batch::Compression;
use crate::error::BatchError;

/// Upper bound on a decompressed records section; a batch claiming more is treated as
/// undecodable rather than allowed to exhaust memory.
const MAX_DECOMPRESSED: u64 = 256 << 20;

/// Returns the decompressed records, `Ok(None)` if the codec is not supported here.
pub fn decompress(codec: Compression, data: &[u8]) -> Result<Option<Vec<u8>>, BatchError> {
    match codec {
        Compression::None => Ok(Some(data.to_vec())),
        Compression::Gzip => {
            let mut out = Vec::with_capacity(data.len() * 4);
            let read = flate2::read::GzDecoder::new(data)
                .take(MAX_DECOMPRESSED + 1)
                .read_to_end(&mut out)
                .map_err(|_| BatchError::MalformedRecord("gzip data does not decompress"))?;
            if read as u64 > MAX_DECOMPRESSED {
                return Err(BatchError::MalformedRecord(
                    "decompressed records too large",
                ));
            }
            Ok(Some(out))
        }
        Compression::Snappy | Compression::Lz4 | Compression::Zstd => Ok(None),
    }
}

/// Compresses a records section with `codec`; `None` if the codec is not supported here.
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
        Compression::Snappy | Compression::Lz4 | Compression::Zstd => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trip() {
        let data = b"hello hello hello hello".repeat(100);
        let c = compress(Compression::Gzip, &data).unwrap();
        assert!(c.len() < data.len());
        assert_eq!(decompress(Compression::Gzip, &c).unwrap().unwrap(), data);
    }

    #[test]
    fn unsupported_and_corrupt() {
        assert_eq!(decompress(Compression::Zstd, b"x").unwrap(), None);
        assert!(decompress(Compression::Gzip, b"not gzip").is_err());
        assert!(compress(Compression::Lz4, b"x").is_none());
    }
}
