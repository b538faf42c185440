//! A small weighted LRU map, the building block of the shared file-handle and index caches.
//!
//! O(log n) per operation (a `HashMap` for lookup and a `BTreeMap` keyed by a use counter for
//! eviction order). Values are cheap clones (`Arc`s), so a caller can keep using an evicted value:
//! eviction only drops the cache's reference.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

pub(crate) struct Lru<K, V> {
    map: HashMap<K, Slot<V>>,
    order: BTreeMap<u64, K>,
    tick: u64,
    weight: usize,
    capacity: usize,
}

struct Slot<V> {
    value: V,
    tick: u64,
    weight: usize,
}

impl<K: Hash + Eq + Clone, V: Clone> Lru<K, V> {
    /// A cache holding at most `capacity` units of weight (at least one entry is always kept).
    pub(crate) fn new(capacity: usize) -> Self {
        Lru {
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            weight: 0,
            capacity,
        }
    }

    pub(crate) fn get(&mut self, key: &K) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        let slot = self.map.get_mut(key)?;
        self.order.remove(&slot.tick);
        slot.tick = tick;
        self.order.insert(tick, key.clone());
        Some(slot.value.clone())
    }

    /// Inserts (or replaces) and returns the values evicted to make room.
    pub(crate) fn insert(&mut self, key: K, value: V, weight: usize) -> Vec<V> {
        let mut evicted = Vec::new();
        if let Some(old) = self.remove(&key) {
            evicted.push(old);
        }
        self.tick += 1;
        self.order.insert(self.tick, key.clone());
        self.map.insert(
            key,
            Slot {
                value,
                tick: self.tick,
                weight,
            },
        );
        self.weight += weight;
        while self.weight > self.capacity && self.map.len() > 1 {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(slot) = self.map.remove(&oldest) {
                self.weight -= slot.weight;
                evicted.push(slot.value);
            }
        }
        evicted
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let slot = self.map.remove(key)?;
        self.order.remove(&slot.tick);
        self.weight -= slot.weight;
        Some(slot.value)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn weight(&self) -> usize {
        self.weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used() {
        let mut lru = Lru::new(3);
        lru.insert(1, "a", 1);
        lru.insert(2, "b", 1);
        lru.insert(3, "c", 1);
        assert_eq!(lru.get(&1), Some("a"));
        let ev = lru.insert(4, "d", 1);
        assert_eq!(ev, vec!["b"]);
        assert_eq!(lru.get(&2), None);
        assert_eq!(lru.len(), 3);
        assert_eq!(lru.remove(&3), Some("c"));
        assert_eq!(lru.weight(), 2);
    }

    #[test]
    fn weights_and_oversized_entries() {
        let mut lru = Lru::new(10);
        lru.insert(1, 1, 6);
        let ev = lru.insert(2, 2, 6);
        assert_eq!(ev, vec![1]);
        let ev = lru.insert(3, 3, 100);
        assert_eq!(ev, vec![2]);
        assert_eq!(lru.get(&3), Some(3));
        let ev = lru.insert(3, 4, 1);
        assert_eq!(ev, vec![3]);
        assert_eq!(lru.weight(), 1);
    }
}
