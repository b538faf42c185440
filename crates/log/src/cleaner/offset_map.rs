//! The key -> latest offset map of one compaction pass.
//!
//! Kafka's cleaner stores a 16-byte hash per key, accepting a vanishingly small chance that two
//! keys collide and the older value of one is wrongly removed. This map keeps the full key
//! instead, so a collision cannot lose data, and is bounded by a byte budget: when the budget is
//! reached the pass only cleans the segments whose keys fit (cleaning a prefix with a map built
//! from that prefix is safe, it just removes less).

use std::collections::HashMap;

/// Bytes charged per entry on top of the key (hash table slot, Vec header, offset).
const ENTRY_OVERHEAD: usize = 48;

#[derive(Debug, Default)]
pub(crate) struct OffsetMap {
    map: HashMap<Box<[u8]>, i64>,
    bytes: usize,
}

impl OffsetMap {
    pub(crate) fn insert(&mut self, key: &[u8], offset: i64) {
        if let Some(o) = self.map.get_mut(key) {
            if offset > *o {
                *o = offset;
            }
            return;
        }
        self.bytes += key.len() + ENTRY_OVERHEAD;
        self.map.insert(key.into(), offset);
    }

    /// The latest offset seen for `key`.
    pub(crate) fn latest(&self, key: &[u8]) -> Option<i64> {
        self.map.get(key).copied()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_latest_offset() {
        let mut m = OffsetMap::default();
        m.insert(b"a", 5);
        m.insert(b"a", 3);
        m.insert(b"b", 4);
        m.insert(b"a", 9);
        assert_eq!(m.latest(b"a"), Some(9));
        assert_eq!(m.latest(b"b"), Some(4));
        assert_eq!(m.latest(b"c"), None);
        assert_eq!(m.len(), 2);
        assert!(m.bytes() >= 2 * ENTRY_OVERHEAD);
    }
}
