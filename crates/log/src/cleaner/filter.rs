//! Rewriting one batch for compaction: keep the records that are still the latest for their key.
//!
//! A rewritten batch keeps every header field that matters for consumers and idempotent producers
//! (base offset, last offset delta, timestamps, producer id/epoch/sequence, leader epoch,
//! attributes); only `recordsCount`, `batchLength` and the CRC change. Offsets of the surviving
//! records are unchanged because each record stores its offset delta. A batch that loses nothing
//! is copied byte for byte; one that loses everything is dropped.

use crate::batch::{BatchHeader, HEADER_SIZE};
use crate::builder::RawHeader;
use crate::cleaner::offset_map::OffsetMap;
use crate::compression;
use crate::error::BatchError;
use crate::record::RecordIter;

/// What to do with a batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Filtered {
    /// Keep the original bytes.
    Unchanged,
    /// Replace with these bytes (`removed` records, of which `tombstones` were tombstones).
    Rewritten {
        bytes: Vec<u8>,
        removed: u64,
        tombstones: u64,
    },
    /// Drop the whole batch.
    Dropped { removed: u64, tombstones: u64 },
    /// Could not be decoded here (codec or malformed records): kept as it is.
    Undecodable,
}

/// The records section of a whole batch, decompressed; `Ok(None)` if this build cannot decode
/// its codec (snappy, lz4, zstd). Iterate it with [`crate::RecordIter`].
pub fn records_of(h: &BatchHeader, batch: &[u8]) -> Result<Option<Vec<u8>>, BatchError> {
    if batch.len() < HEADER_SIZE {
        return Err(BatchError::MalformedRecord("batch shorter than its header"));
    }
    compression::decompress(h.compression(), &batch[HEADER_SIZE..])
}

/// Adds the batch's keys to the map; returns false if the batch could not be decoded.
pub(crate) fn index_keys(h: &BatchHeader, batch: &[u8], map: &mut OffsetMap) -> bool {
    if h.is_control() {
        return true;
    }
    let Ok(Some(records)) = records_of(h, batch) else {
        return false;
    };
    let mut parsed = Vec::new();
    for r in RecordIter::new(&records, h.records_count) {
        match r {
            Ok(r) => parsed.push(r),
            Err(_) => return false,
        }
    }
    for r in parsed {
        if let Some(key) = r.key {
            map.insert(key, h.base_offset + i64::from(r.offset_delta));
        }
    }
    true
}

/// Filters one batch against the map. `drop_tombstones`: tombstones that are the latest for
/// their key are past `delete.retention.ms` and may go.
pub(crate) fn filter_batch(
    h: &BatchHeader,
    batch: &[u8],
    map: &OffsetMap,
    drop_tombstones: bool,
) -> Filtered {
    if h.is_control() {
        return Filtered::Unchanged;
    }
    let Ok(Some(records)) = records_of(h, batch) else {
        return Filtered::Undecodable;
    };
    let mut kept = Vec::with_capacity(records.len());
    let mut kept_count = 0i32;
    let mut removed = 0u64;
    let mut tombstones = 0u64;
    for r in RecordIter::new(&records, h.records_count) {
        let Ok(r) = r else {
            return Filtered::Undecodable;
        };
        let offset = h.base_offset + i64::from(r.offset_delta);
        let superseded = r
            .key
            .and_then(|k| map.latest(k))
            .is_some_and(|latest| latest > offset);
        let expired_tombstone = drop_tombstones && r.key.is_some() && r.value.is_none();
        if superseded || expired_tombstone {
            removed += 1;
            if r.value.is_none() {
                tombstones += 1;
            }
        } else {
            kept.extend_from_slice(r.raw);
            kept_count += 1;
        }
    }
    if removed == 0 {
        return Filtered::Unchanged;
    }
    if kept_count == 0 {
        return Filtered::Dropped {
            removed,
            tombstones,
        };
    }
    let codec = h.compression();
    let Some(section) = compression::compress(codec, &kept) else {
        return Filtered::Undecodable;
    };
    let bytes = RawHeader::from_header(h).encode_with(&section, kept_count);
    Filtered::Rewritten {
        bytes,
        removed,
        tombstones,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Compression;
    use crate::batch::{set_base_offset, validate_record_set};
    use crate::builder::BatchBuilder;

    fn batch(
        base: i64,
        recs: &[(&str, Option<&str>)],
        codec: Compression,
    ) -> (BatchHeader, Vec<u8>) {
        let mut b = BatchBuilder::new(1000)
            .compression(codec)
            .producer(7, 1, 42);
        for (k, v) in recs {
            b.append(Some(k.as_bytes()), v.map(str::as_bytes), 1000);
        }
        let mut bytes = b.build();
        set_base_offset(&mut bytes, base);
        (validate_record_set(&bytes, usize::MAX).unwrap()[0], bytes)
    }

    #[test]
    fn rewrites_keeping_offsets_and_producer_fields() {
        for codec in [Compression::None, Compression::Gzip] {
            let (h1, b1) = batch(
                10,
                &[("a", Some("1")), ("b", Some("1")), ("a", Some("2"))],
                codec,
            );
            let (h2, b2) = batch(13, &[("b", None)], codec);
            let mut map = OffsetMap::default();
            assert!(index_keys(&h1, &b1, &mut map));
            assert!(index_keys(&h2, &b2, &mut map));
            let Filtered::Rewritten {
                bytes,
                removed,
                tombstones,
            } = filter_batch(&h1, &b1, &map, false)
            else {
                panic!()
            };
            assert_eq!((removed, tombstones), (2, 0));
            let h = validate_record_set(&bytes, usize::MAX).unwrap()[0];
            assert_eq!(
                (
                    h.base_offset,
                    h.last_offset_delta,
                    h.records_count,
                    h.producer_id,
                    h.base_sequence
                ),
                (10, 2, 1, 7, 42)
            );
            assert_eq!(h.compression(), codec);
            let recs = records_of(&h, &bytes).unwrap().unwrap();
            let r: Vec<_> = RecordIter::new(&recs, 1).map(Result::unwrap).collect();
            assert_eq!(
                (r[0].offset_delta, r[0].key, r[0].value),
                (2, Some(&b"a"[..]), Some(&b"2"[..]))
            );
            assert_eq!(filter_batch(&h2, &b2, &map, false), Filtered::Unchanged);
            assert_eq!(
                filter_batch(&h2, &b2, &map, true),
                Filtered::Dropped {
                    removed: 1,
                    tombstones: 1
                }
            );
        }
    }

    #[test]
    fn unsupported_codecs_and_control_batches_are_kept() {
        let (mut h, b) = batch(0, &[("a", Some("1"))], Compression::None);
        let mut map = OffsetMap::default();
        map.insert(b"a", 100);
        h.attributes |= 4; // pretend zstd
        assert_eq!(filter_batch(&h, &b, &map, true), Filtered::Undecodable);
        assert!(!index_keys(&h, &b, &mut map));
        h.attributes = 0x20;
        assert_eq!(filter_batch(&h, &b, &map, true), Filtered::Unchanged);
    }
}
