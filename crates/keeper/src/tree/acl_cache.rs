//! Interned ACL lists. Most znodes share one of a handful of ACLs, so the tree stores a small
//! reference per node instead of a copy (ZooKeeper's `ReferenceCountedACLCache`).

use std::collections::HashMap;
use std::sync::Arc;

use ferry_jute::Acl;

/// A handle to an interned ACL list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AclRef(u32);

impl AclRef {
    pub fn index(self) -> u32 {
        self.0
    }
}

#[derive(Debug, Default)]
pub struct AclCache {
    lists: Vec<Option<(Arc<[Acl]>, u64)>>,
    by_value: HashMap<Arc<[Acl]>, AclRef>,
    free: Vec<u32>,
}

impl AclCache {
    /// Interns `acl` and counts one more user of it.
    pub fn acquire(&mut self, acl: &[Acl]) -> AclRef {
        if let Some(&found) = self.by_value.get(acl) {
            if let Some(Some((_, users))) = self.lists.get_mut(found.0 as usize) {
                *users += 1;
            }
            return found;
        }
        let list: Arc<[Acl]> = acl.into();
        let slot = Some((list.clone(), 1));
        let handle = match self.free.pop() {
            Some(index) => {
                self.lists[index as usize] = slot;
                AclRef(index)
            }
            None => {
                self.lists.push(slot);
                AclRef(self.lists.len() as u32 - 1)
            }
        };
        self.by_value.insert(list, handle);
        handle
    }

    /// Counts one user less; the list is dropped when nobody uses it.
    pub fn release(&mut self, handle: AclRef) {
        let Some(entry) = self.lists.get_mut(handle.0 as usize) else {
            return;
        };
        let Some((list, users)) = entry else { return };
        *users -= 1;
        if *users == 0 {
            self.by_value.remove(list);
            *entry = None;
            self.free.push(handle.0);
        }
    }

    /// The list behind a handle; empty for a handle that was never issued.
    pub fn get(&self, handle: AclRef) -> Arc<[Acl]> {
        match self.lists.get(handle.0 as usize) {
            Some(Some((list, _))) => list.clone(),
            _ => Arc::from(Vec::new()),
        }
    }

    /// Every live list with its handle, for snapshots.
    pub fn entries(&self) -> impl Iterator<Item = (AclRef, &Arc<[Acl]>)> {
        self.lists
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|(list, _)| (AclRef(i as u32), list)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_shares_and_frees() {
        let mut cache = AclCache::default();
        let open = crate::acl::open_acl();
        let a = cache.acquire(&open);
        let b = cache.acquire(&open);
        assert_eq!(a, b);
        cache.release(a);
        assert_eq!(&*cache.get(b), &open[..]);
        cache.release(b);
        assert!(cache.get(b).is_empty());
        let c = cache.acquire(&crate::acl::read_acl());
        assert_eq!(c, a, "freed slots are reused");
    }
}
