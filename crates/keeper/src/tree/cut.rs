//! A consistent cut of the tree for a snapshot written while writes go on.
//!
//! A snapshot must hold the tree exactly as it was at one log index, yet serialising a big
//! tree takes long enough that stopping writes for it shows up in every client's latency.
//! So the tree is split into shards (by path hash) and a snapshot writes one shard at a time,
//! holding the state lock only for that shard. Between shards writes go on; the first change
//! to a node of a shard not written yet records the node as it was when the cut began (or
//! that it did not exist), and the writer takes that image instead of the live node.
//! Shards already written need no record: nothing of theirs is read again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ferry_jute::{Acl, Bytes};

use super::{AclRef, Node, NodeStat};

/// How many shards the node table has: a snapshot pauses writes for about 1/SHARDS of the
/// time it takes to serialise the whole tree, and no rehash ever moves more than a shard.
pub const SHARDS: usize = 256;

/// Which shard holds `path` (FNV-1a: cheap, and spreads ZooKeeper's long common prefixes).
pub fn shard_of(path: &str) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 56) as usize % SHARDS
}

/// What a snapshot records of a node (children are rebuilt from the paths).
#[derive(Debug, Clone)]
pub struct NodeImage {
    pub data: Option<Bytes>,
    pub acl: AclRef,
    pub stat: NodeStat,
}

impl NodeImage {
    pub fn of(node: &Node) -> Self {
        Self {
            data: node.data.clone(),
            acl: node.acl,
            stat: node.stat,
        }
    }
}

#[derive(Debug)]
pub struct Cut {
    /// Shards below this are written. Advanced by the writer under the read lock; read by
    /// changes under the write lock, so the two never race.
    written: AtomicUsize,
    /// Per shard: nodes changed since the cut, as they were at the cut (`None`: absent).
    before: Vec<HashMap<Box<str>, Option<NodeImage>>>,
    /// The interned ACL lists at the cut: every image's `acl` refers to one of them.
    pub acls: Vec<(AclRef, Arc<[Acl]>)>,
}

impl Cut {
    pub fn new(acls: Vec<(AclRef, Arc<[Acl]>)>) -> Self {
        Self {
            written: AtomicUsize::new(0),
            before: (0..SHARDS).map(|_| HashMap::new()).collect(),
            acls,
        }
    }

    /// Called before `path` changes, with the node as it is now.
    pub fn before_change(&mut self, shard: usize, path: &str, current: Option<&Node>) {
        if shard < self.written.load(Ordering::Relaxed) {
            return;
        }
        let before = &mut self.before[shard];
        if !before.contains_key(path) {
            before.insert(path.into(), current.map(NodeImage::of));
        }
    }

    /// Visits shard `shard` as it was at the cut, then marks it written.
    pub fn visit(
        &self,
        shard: usize,
        live: &HashMap<Box<str>, Box<Node>>,
        visit: &mut dyn FnMut(&str, &NodeImage),
    ) {
        let before = &self.before[shard];
        for (path, node) in live {
            match before.get(path) {
                Some(Some(image)) => visit(path, image),
                Some(None) => {} // created after the cut
                None => visit(path, &NodeImage::of(node)),
            }
        }
        for (path, image) in before {
            if let (Some(image), false) = (image, live.contains_key(path)) {
                visit(path, image); // deleted after the cut
            }
        }
        self.written.store(shard + 1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::acl::{open_acl, read_acl};
    use crate::tree::DataTree;

    type Recorded = BTreeMap<String, (Option<Bytes>, Vec<Acl>, NodeStat)>;

    fn record<'a>(
        acls: &'a [(AclRef, Arc<[Acl]>)],
        out: &'a mut Recorded,
    ) -> impl FnMut(&str, &NodeImage) + 'a {
        move |path, image| {
            let acl = acls
                .iter()
                .find(|(r, _)| *r == image.acl)
                .unwrap()
                .1
                .to_vec();
            let previous = out.insert(path.to_string(), (image.data.clone(), acl, image.stat));
            assert!(previous.is_none(), "{path} visited twice");
        }
    }

    #[test]
    fn a_cut_reads_the_tree_as_it_was_while_it_changes() {
        let mut tree = DataTree::new();
        let value = |i: usize| Some(Bytes::from(format!("v{i}")));
        for i in 0..2000 {
            tree.create(
                &format!("/n{i}"),
                value(i),
                &open_acl(),
                0,
                i as i32 + 2,
                i as i64 + 10,
                1,
            );
            tree.create(
                &format!("/n{i}/c"),
                None,
                &read_acl(),
                0,
                1,
                i as i64 + 5000,
                1,
            );
        }
        let mut expected = Recorded::new();
        let now_acls = tree.cut_acls();
        for shard in 0..SHARDS {
            tree.visit_shard(shard, &mut record(&now_acls, &mut expected));
        }

        let count = tree.begin_cut();
        let cut_acls = tree.cut_acls();
        let mut seen = Recorded::new();
        let mut zxid = 100_000;
        for shard in 0..SHARDS {
            tree.visit_shard(shard, &mut record(&cut_acls, &mut seen));
            // Between shards, every kind of change, to nodes of shards written and not.
            for i in (shard * 7..shard * 7 + 7).map(|i| i % 2000) {
                zxid += 1;
                tree.set_data(&format!("/n{i}"), None, 9, zxid, 2);
                tree.delete(&format!("/n{i}/c"), zxid);
                tree.create(&format!("/n{i}/c"), value(i), &open_acl(), 0, 5, zxid, 2);
                tree.create(
                    &format!("/new{shard}-{i}"),
                    None,
                    &open_acl(),
                    0,
                    1,
                    zxid,
                    2,
                );
                tree.set_acl(&format!("/n{}", (i + 1000) % 2000), &read_acl(), 3);
                let undo = tree.set_data(&format!("/n{}", (i + 500) % 2000), None, 7, zxid, 2);
                tree.undo(undo.unwrap());
            }
        }
        tree.end_cut();
        assert_eq!(seen.len(), count);
        assert_eq!(
            seen, expected,
            "the cut holds the tree as it was when it began"
        );
        assert!(
            tree.get("/new0-0").is_some(),
            "the changes themselves went through"
        );
    }
}
