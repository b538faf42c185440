//! The sparse offset index (`.index` file): offset -> byte position in the segment's `.log`.
//!
//! # File format (Kafka's)
//!
//! A flat array of 8-byte entries, no header:
//!
//! ```text
//! relativeOffset  u32 BE   offset - segment base offset (the last offset of the indexed batch)
//! position        u32 BE   byte position of that batch in the .log file
//! ```
//!
//! An entry is added for a batch when more than `index.interval.bytes` of log were written since
//! the previous entry (or the segment start). Keying an entry by the batch's *last* offset mirrors
//! Kafka (its DumpLogSegments verifies exactly that), and makes a lookup conservative: the entry
//! found for a target offset points at a batch that ends at or before the target, so a forward
//! scan from there finds the batch containing it.
//!
//! # Why in memory, not mmap
//!
//! Kafka preallocates index files and mmaps them. Mapping memory needs `unsafe` (denied in this
//! workspace) and exposes the process to SIGBUS if a file shrinks under it. Entries are small (8
//! bytes per ~4 KiB of log, 0.2%), so the active segment keeps its entries in a `Vec` and appends
//! them to the file, and sealed segments load their file into memory on first use through a shared
//! LRU with a byte budget ([`crate::Resources`]). A lookup is then a binary search over a slice:
//! no syscall, no page fault, no lock held during I/O. Files are written exactly sized (never
//! preallocated), so a Kafka broker reading them sees no trailing zero entries.

/// One index entry, relative to the segment's base offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    pub relative_offset: u32,
    pub position: u32,
}

/// Size of one entry in the file.
pub const ENTRY_SIZE: usize = 8;

/// Encodes entries in the file format.
pub(crate) fn encode(entries: &[OffsetEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * ENTRY_SIZE);
    for e in entries {
        out.extend_from_slice(&e.relative_offset.to_be_bytes());
        out.extend_from_slice(&e.position.to_be_bytes());
    }
    out
}

/// Decodes and validates an index file against the size of its log. Any inconsistency means the
/// file cannot be trusted and the caller rebuilds it from the log.
pub(crate) fn decode(bytes: &[u8], log_size: u64) -> Result<Vec<OffsetEntry>, String> {
    if bytes.len() % ENTRY_SIZE != 0 {
        return Err(format!(
            "length {} is not a multiple of {ENTRY_SIZE}",
            bytes.len()
        ));
    }
    let mut entries: Vec<OffsetEntry> = Vec::with_capacity(bytes.len() / ENTRY_SIZE);
    for chunk in bytes.chunks_exact(ENTRY_SIZE) {
        let e = OffsetEntry {
            relative_offset: u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
            position: u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]),
        };
        if let Some(prev) = entries.last() {
            if e.relative_offset <= prev.relative_offset || e.position <= prev.position {
                return Err(format!(
                    "entry {} is not after the previous one",
                    entries.len()
                ));
            }
        }
        if u64::from(e.position) >= log_size {
            return Err(format!(
                "entry {} points past the end of the log",
                entries.len()
            ));
        }
        entries.push(e);
    }
    Ok(entries)
}

/// The entry to start a forward scan from for `target` (an absolute offset): the last entry whose
/// offset is <= target, or the segment start.
pub(crate) fn lookup(entries: &[OffsetEntry], base_offset: i64, target: i64) -> (i64, u32) {
    let rel = target - base_offset;
    if rel < 0 {
        return (base_offset, 0);
    }
    let rel = rel.min(i64::from(u32::MAX)) as u32;
    let idx = entries.partition_point(|e| e.relative_offset <= rel);
    if idx == 0 {
        (base_offset, 0)
    } else {
        let e = entries[idx - 1];
        (base_offset + i64::from(e.relative_offset), e.position)
    }
}

/// Number of entries that stay when the log is cut at byte `position`.
pub(crate) fn entries_before_position(entries: &[OffsetEntry], position: u64) -> usize {
    entries.partition_point(|e| u64::from(e.position) < position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(r: u32, p: u32) -> OffsetEntry {
        OffsetEntry {
            relative_offset: r,
            position: p,
        }
    }

    #[test]
    fn round_trip_and_kafka_layout() {
        let entries = vec![e(5, 4100), e(11, 8300)];
        let bytes = encode(&entries);
        assert_eq!(
            bytes,
            [0, 0, 0, 5, 0, 0, 0x10, 0x04, 0, 0, 0, 11, 0, 0, 0x20, 0x6c]
        );
        assert_eq!(decode(&bytes, 10_000).unwrap(), entries);
    }

    #[test]
    fn rejects_bad_files() {
        assert!(decode(&[0; 7], 100).is_err());
        assert!(decode(&encode(&[e(5, 10), e(5, 20)]), 100).is_err());
        assert!(decode(&encode(&[e(5, 10), e(6, 10)]), 100).is_err());
        assert!(decode(&encode(&[e(5, 100)]), 100).is_err());
        // A preallocated Kafka index with trailing zeros is not trusted.
        let mut pre = encode(&[e(5, 10)]);
        pre.extend_from_slice(&[0; 16]);
        assert!(decode(&pre, 100).is_err());
    }

    #[test]
    fn lookup_finds_floor_entry() {
        let entries = vec![e(5, 100), e(9, 200)];
        assert_eq!(lookup(&entries, 1000, 999), (1000, 0));
        assert_eq!(lookup(&entries, 1000, 1004), (1000, 0));
        assert_eq!(lookup(&entries, 1000, 1005), (1005, 100));
        assert_eq!(lookup(&entries, 1000, 1008), (1005, 100));
        assert_eq!(lookup(&entries, 1000, 1_000_000), (1009, 200));
        assert_eq!(entries_before_position(&entries, 150), 1);
        assert_eq!(entries_before_position(&entries, 100), 0);
    }
}
