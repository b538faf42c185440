//! The sparse time index (`.timeindex` file): max timestamp so far -> offset.
//!
//! # File format (Kafka's)
//!
//! A flat array of 12-byte entries, no header:
//!
//! ```text
//! timestamp       i64 BE   the largest batch max timestamp seen in the segment up to here
//! relativeOffset  u32 BE   offset of the record carrying that timestamp (a batch's last offset)
//! ```
//!
//! Entries are added alongside offset-index entries, but only when the running maximum grew, so
//! timestamps strictly increase. When a segment is sealed a final entry with its largest
//! timestamp is appended, which is how a sealed segment's largest timestamp (used by time
//! retention) is known without scanning it. Kept in memory for the same reasons as the offset
//! index (see `offset_index`).

/// One time-index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub relative_offset: u32,
}

/// Size of one entry in the file.
pub const ENTRY_SIZE: usize = 12;

pub(crate) fn encode(entries: &[TimeEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * ENTRY_SIZE);
    for e in entries {
        out.extend_from_slice(&e.timestamp.to_be_bytes());
        out.extend_from_slice(&e.relative_offset.to_be_bytes());
    }
    out
}

fn decode_entry(chunk: &[u8]) -> TimeEntry {
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&chunk[..8]);
    TimeEntry {
        timestamp: i64::from_be_bytes(ts),
        relative_offset: u32::from_be_bytes([chunk[8], chunk[9], chunk[10], chunk[11]]),
    }
}

/// Decodes and validates a time index; `max_relative_offset` bounds the offsets it may name.
pub(crate) fn decode(
    bytes: &[u8],
    max_relative_offset: Option<u32>,
) -> Result<Vec<TimeEntry>, String> {
    if bytes.len() % ENTRY_SIZE != 0 {
        return Err(format!(
            "length {} is not a multiple of {ENTRY_SIZE}",
            bytes.len()
        ));
    }
    let mut entries: Vec<TimeEntry> = Vec::with_capacity(bytes.len() / ENTRY_SIZE);
    for chunk in bytes.chunks_exact(ENTRY_SIZE) {
        let e = decode_entry(chunk);
        if let Some(prev) = entries.last() {
            if e.timestamp <= prev.timestamp || e.relative_offset < prev.relative_offset {
                return Err(format!(
                    "entry {} is not after the previous one",
                    entries.len()
                ));
            }
        }
        if max_relative_offset.is_some_and(|m| e.relative_offset > m) {
            return Err(format!(
                "entry {} names an offset past the end of the log",
                entries.len()
            ));
        }
        entries.push(e);
    }
    Ok(entries)
}

/// The last entry of an encoded index, if the length is sane.
pub(crate) fn last_entry(bytes: &[u8]) -> Option<TimeEntry> {
    if bytes.len() < ENTRY_SIZE || bytes.len() % ENTRY_SIZE != 0 {
        return None;
    }
    Some(decode_entry(&bytes[bytes.len() - ENTRY_SIZE..]))
}

/// Appends an entry if `timestamp` grows the running maximum (Kafka's `maybeAppend`).
pub(crate) fn maybe_append(
    entries: &mut Vec<TimeEntry>,
    timestamp: i64,
    relative_offset: u32,
) -> bool {
    if timestamp < 0
        || entries
            .last()
            .is_some_and(|l| timestamp <= l.timestamp || relative_offset < l.relative_offset)
    {
        return false;
    }
    entries.push(TimeEntry {
        timestamp,
        relative_offset,
    });
    true
}

/// The absolute offset after which a scan for the first record with timestamp >= `target` can
/// start: every record at or before the returned offset is older than `target`.
pub(crate) fn scan_start(entries: &[TimeEntry], base_offset: i64, target: i64) -> i64 {
    let idx = entries.partition_point(|e| e.timestamp < target);
    if idx == 0 {
        base_offset
    } else {
        base_offset + i64::from(entries[idx - 1].relative_offset) + 1
    }
}

/// Number of entries that stay when the segment is cut so that `next_offset` is its end.
pub(crate) fn entries_below(entries: &[TimeEntry], base_offset: i64, next_offset: i64) -> usize {
    entries.partition_point(|e| base_offset + i64::from(e.relative_offset) < next_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_validation() {
        let mut entries = Vec::new();
        assert!(maybe_append(&mut entries, 100, 3));
        assert!(!maybe_append(&mut entries, 100, 4));
        assert!(!maybe_append(&mut entries, 90, 5));
        assert!(maybe_append(&mut entries, 150, 7));
        let bytes = encode(&entries);
        assert_eq!(bytes.len(), 24);
        assert_eq!(&bytes[..12], &[0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 3]);
        assert_eq!(decode(&bytes, Some(7)).unwrap(), entries);
        assert!(decode(&bytes, Some(6)).is_err());
        assert!(decode(&bytes[..11], None).is_err());
        assert_eq!(last_entry(&bytes).unwrap().timestamp, 150);
        let mut bad = encode(&entries);
        bad.extend_from_slice(&[0; 12]);
        assert!(decode(&bad, None).is_err());
    }

    #[test]
    fn scan_start_skips_only_older_records() {
        let entries = vec![
            TimeEntry {
                timestamp: 100,
                relative_offset: 3,
            },
            TimeEntry {
                timestamp: 150,
                relative_offset: 7,
            },
        ];
        assert_eq!(scan_start(&entries, 10, 50), 10);
        assert_eq!(scan_start(&entries, 10, 100), 10);
        assert_eq!(scan_start(&entries, 10, 101), 14);
        assert_eq!(scan_start(&entries, 10, 151), 18);
        assert_eq!(entries_below(&entries, 10, 17), 1);
        assert_eq!(entries_below(&entries, 10, 18), 2);
    }
}
