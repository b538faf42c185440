//! A node's child names. Most znodes are leaves, so an empty set costs one pointer, not a
//! whole hash table header.

use std::collections::HashSet;

// Boxed on purpose: `Option<Box<HashSet>>` is one word, `HashSet` alone is six.
#[allow(clippy::box_collection)]
#[derive(Debug, Clone, Default)]
pub struct Children(Option<Box<HashSet<Box<str>>>>);

impl Children {
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |set| set.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().flat_map(|set| set.iter().map(|name| &**name))
    }

    pub fn insert(&mut self, name: &str) {
        self.0.get_or_insert_with(Box::default).insert(name.into());
    }

    pub fn remove(&mut self, name: &str) {
        if let Some(set) = &mut self.0 {
            set.remove(name);
            if set.is_empty() {
                self.0 = None;
            }
        }
    }
}
