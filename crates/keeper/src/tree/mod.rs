//! The znode tree: nodes by path, the ephemerals of each session, and the container and TTL
//! nodes the cleaner watches.
//!
//! The tree only mutates; deciding whether a change is allowed (versions, ACLs, path rules) is
//! the job of `crate::ops`. Every mutation returns an [`Undo`] so that a failing `multi` can be
//! rolled back exactly.
//!
//! Invariants:
//! - every node but `/` has its parent in the map, and the parent lists it as a child;
//! - `ephemerals[s]` holds exactly the paths whose `ephemeral_owner == s` for a real session;
//! - `containers` and `ttls` hold exactly the container and TTL nodes.

mod acl_cache;
mod children;
mod cut;
mod node;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

pub use acl_cache::{AclCache, AclRef};
pub use children::Children;
use cut::{shard_of, Cut};
pub use cut::{NodeImage, SHARDS};
use ferry_jute::{ephemeral_owner, Acl, Bytes, Stat};
pub use node::{Node, NodeStat};

use crate::path;

/// How to reverse one mutation.
#[derive(Debug)]
pub enum Undo {
    /// A node was created: remove it and restore the parent's stat.
    Created { path: String, parent_stat: NodeStat },
    /// A node was deleted: put it back and restore the parent's stat.
    Deleted {
        path: String,
        node: Box<Node>,
        acl: Arc<[Acl]>,
        parent_stat: NodeStat,
    },
    /// A node's data or stat changed.
    Changed {
        path: String,
        data: Option<Bytes>,
        stat: NodeStat,
    },
    /// A node's ACL changed.
    AclChanged {
        path: String,
        acl: Arc<[Acl]>,
        stat: NodeStat,
    },
}

#[derive(Debug)]
pub struct DataTree {
    /// Nodes by path, in `SHARDS` tables by path hash (see `cut`). Boxed so the tables stay
    /// small: a million nodes need two million buckets.
    nodes: Box<[HashMap<Box<str>, Box<Node>>]>,
    /// While a snapshot is being written: the tree as it was when it began.
    cut: Option<Cut>,
    acls: AclCache,
    ephemerals: HashMap<i64, BTreeSet<String>>,
    containers: HashSet<String>,
    ttls: HashSet<String>,
}

/// The nodes every ZooKeeper server has.
pub const ZOOKEEPER_PATH: &str = "/zookeeper";
pub const QUOTA_PATH: &str = "/zookeeper/quota";
pub const CONFIG_PATH: &str = "/zookeeper/config";

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

impl DataTree {
    /// A tree with `/`, `/zookeeper`, `/zookeeper/quota` and `/zookeeper/config`, as a fresh
    /// ZooKeeper server has. Their stats are all zero, as in ZooKeeper.
    pub fn new() -> Self {
        let mut tree = Self::empty();
        let open = tree.acls.acquire(&crate::acl::open_acl());
        tree.insert(
            "/",
            Box::new(Node {
                data: Some(Bytes::new()),
                acl: open,
                ..Node::default()
            }),
        );
        for (path, acl) in [
            (ZOOKEEPER_PATH, crate::acl::open_acl()),
            (QUOTA_PATH, crate::acl::open_acl()),
            (CONFIG_PATH, crate::acl::read_acl()),
        ] {
            let acl = tree.acls.acquire(&acl);
            tree.link_child(path);
            // ZooKeeper sets the config node's ACL with version -1, so its aversion is -1.
            let aversion = if path == CONFIG_PATH { -1 } else { 0 };
            tree.insert(
                path,
                Box::new(Node {
                    data: Some(Bytes::new()),
                    acl,
                    stat: NodeStat {
                        aversion,
                        ..NodeStat::default()
                    },
                    ..Node::default()
                }),
            );
        }
        tree
    }

    /// A tree with no nodes at all, to be filled from a snapshot.
    pub fn empty() -> Self {
        Self {
            nodes: (0..SHARDS).map(|_| HashMap::new()).collect(),
            cut: None,
            acls: AclCache::default(),
            ephemerals: HashMap::new(),
            containers: HashSet::new(),
            ttls: HashSet::new(),
        }
    }

    /// The node at `path`. The empty path is the root too, as in ZooKeeper (whose tree keeps
    /// the root under both "" and "/").
    pub fn get(&self, path: &str) -> Option<&Node> {
        let path = if path.is_empty() { "/" } else { path };
        self.nodes[shard_of(path)].get(path).map(|node| &**node)
    }

    /// The paths ZooKeeper will not let a client delete.
    pub fn is_special(path: &str) -> bool {
        matches!(path, "/" | ZOOKEEPER_PATH | QUOTA_PATH | CONFIG_PATH)
    }

    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.get(path).map(Node::stat)
    }

    pub fn acl(&self, node: &Node) -> Arc<[Acl]> {
        self.acls.get(node.acl)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.iter().map(HashMap::len).sum()
    }

    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes
            .iter()
            .flatten()
            .map(|(path, node)| (&**path, &**node))
    }

    pub fn acl_cache(&self) -> &AclCache {
        &self.acls
    }

    /// Paths of the ephemerals a session owns, sorted.
    pub fn ephemerals_of(&self, session: i64) -> impl Iterator<Item = &String> {
        self.ephemerals.get(&session).into_iter().flatten()
    }

    pub fn ephemeral_sessions(&self) -> impl Iterator<Item = (i64, usize)> + '_ {
        self.ephemerals.iter().map(|(s, paths)| (*s, paths.len()))
    }

    pub fn containers(&self) -> impl Iterator<Item = &String> {
        self.containers.iter()
    }

    pub fn ttls(&self) -> impl Iterator<Item = &String> {
        self.ttls.iter()
    }

    /// Number of nodes strictly below `path` (`getAllChildrenNumber`).
    pub fn descendant_count(&self, path: &str) -> usize {
        let mut count = 0;
        let mut stack = vec![path.to_string()];
        while let Some(current) = stack.pop() {
            if let Some(node) = self.get(&current) {
                count += node.children.len();
                stack.extend(node.children.iter().map(|c| path::child(&current, c)));
            }
        }
        count
    }

    /// Inserts a node whose parent exists and which does not exist yet. The parent's cversion
    /// becomes `parent_cversion` and its pzxid `zxid`.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        acl: &[Acl],
        owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
    ) -> Undo {
        let parent_path = path::parent(path);
        let parent_stat = self.stat_of(parent_path);
        if let Some(parent) = self.node_mut(parent_path) {
            if parent_cversion > parent.stat.cversion {
                parent.stat.cversion = parent_cversion;
                parent.stat.pzxid = zxid;
            }
        }
        self.link_child(path);
        let acl = self.acls.acquire(acl);
        self.insert(
            path,
            Box::new(Node {
                data,
                acl,
                stat: NodeStat {
                    czxid: zxid,
                    mzxid: zxid,
                    ctime: time,
                    mtime: time,
                    pzxid: zxid,
                    ephemeral_owner: owner,
                    ..NodeStat::default()
                },
                children: Children::default(),
            }),
        );
        self.index(path, owner);
        Undo::Created {
            path: path.to_string(),
            parent_stat,
        }
    }

    /// Removes a node that exists and has no children; the parent's pzxid becomes `zxid`.
    pub fn delete(&mut self, path: &str, zxid: i64) -> Option<Undo> {
        let parent_path = path::parent(path);
        let parent_stat = self.stat_of(parent_path);
        let node = self.remove(path)?;
        if let Some(parent) = self.node_mut(parent_path) {
            parent.children.remove(path::name(path));
            if zxid > parent.stat.pzxid {
                parent.stat.pzxid = zxid;
            }
        }
        self.unindex(path, node.stat.ephemeral_owner);
        let acl = self.acls.get(node.acl);
        self.acls.release(node.acl);
        Some(Undo::Deleted {
            path: path.to_string(),
            node,
            acl,
            parent_stat,
        })
    }

    /// Replaces a node's data and sets its version.
    pub fn set_data(
        &mut self,
        path: &str,
        data: Option<Bytes>,
        version: i32,
        zxid: i64,
        time: i64,
    ) -> Option<Undo> {
        let node = self.node_mut(path)?;
        let undo = Undo::Changed {
            path: path.to_string(),
            data: node.data.clone(),
            stat: node.stat,
        };
        node.data = data;
        node.stat.version = version;
        node.stat.mzxid = zxid;
        node.stat.mtime = time;
        Some(undo)
    }

    /// Replaces a node's ACL and sets its aversion.
    pub fn set_acl(&mut self, path: &str, acl: &[Acl], aversion: i32) -> Option<Undo> {
        let new_acl = self.acls.acquire(acl);
        let Some(node) = self.node_mut(path) else {
            self.acls.release(new_acl);
            return None;
        };
        let old_acl = std::mem::replace(&mut node.acl, new_acl);
        let old_stat = node.stat;
        node.stat.aversion = aversion;
        let undo = Undo::AclChanged {
            path: path.to_string(),
            acl: self.acls.get(old_acl),
            stat: old_stat,
        };
        self.acls.release(old_acl);
        Some(undo)
    }

    /// Reverses one mutation. Undos must be applied newest first.
    pub fn undo(&mut self, undo: Undo) {
        match undo {
            Undo::Created { path, parent_stat } => {
                if let Some(node) = self.remove(&path) {
                    self.unindex(&path, node.stat.ephemeral_owner);
                    self.acls.release(node.acl);
                }
                self.unlink_child(&path);
                self.restore_stat(path::parent(&path), parent_stat);
            }
            Undo::Deleted {
                path,
                mut node,
                acl,
                parent_stat,
            } => {
                node.acl = self.acls.acquire(&acl);
                self.index(&path, node.stat.ephemeral_owner);
                self.link_child(&path);
                self.insert(&path, node);
                self.restore_stat(path::parent(&path), parent_stat);
            }
            Undo::Changed { path, data, stat } => {
                if let Some(node) = self.node_mut(&path) {
                    node.data = data;
                    node.stat = stat;
                }
            }
            Undo::AclChanged { path, acl, stat } => {
                let restored = self.acls.acquire(&acl);
                if let Some(node) = self.node_mut(&path) {
                    let replaced = std::mem::replace(&mut node.acl, restored);
                    node.stat = stat;
                    self.acls.release(replaced);
                }
            }
        }
    }

    /// Inserts a node exactly as a snapshot recorded it. Snapshots list nodes in no particular
    /// order, so children are linked to their parents afterwards, by `link_restored`.
    pub fn restore_node(&mut self, path: &str, data: Option<Bytes>, acl: &[Acl], stat: NodeStat) {
        let acl = self.acls.acquire(acl);
        self.index(path, stat.ephemeral_owner);
        self.insert(
            path,
            Box::new(Node {
                data,
                acl,
                stat,
                children: Children::default(),
            }),
        );
    }

    /// Links every restored node to its parent; returns a node whose parent is missing, if any.
    pub fn link_restored(&mut self) -> Result<(), String> {
        let paths: Vec<Box<str>> = self
            .nodes
            .iter()
            .flat_map(HashMap::keys)
            .filter(|p| &***p != "/")
            .cloned()
            .collect();
        for path in paths {
            if self.get(path::parent(&path)).is_none() {
                return Err(path.into());
            }
            self.link_child(&path);
        }
        Ok(())
    }

    /// A node is about to change: a snapshot being written records it as it is first.
    fn note_change(&mut self, shard: usize, path: &str) {
        if let Some(cut) = &mut self.cut {
            cut.before_change(shard, path, self.nodes[shard].get(path).map(|n| &**n));
        }
    }

    /// A node to change (see `note_change`).
    fn node_mut(&mut self, path: &str) -> Option<&mut Node> {
        let shard = shard_of(path);
        self.note_change(shard, path);
        self.nodes[shard].get_mut(path).map(|node| &mut **node)
    }

    /// A node's children, which snapshots do not record (they follow from the paths).
    fn children_mut(&mut self, path: &str) -> Option<&mut Children> {
        let node = self.nodes[shard_of(path)].get_mut(path)?;
        Some(&mut node.children)
    }

    fn insert(&mut self, path: &str, node: Box<Node>) {
        let shard = shard_of(path);
        self.note_change(shard, path);
        self.nodes[shard].insert(path.into(), node);
    }

    fn remove(&mut self, path: &str) -> Option<Box<Node>> {
        let shard = shard_of(path);
        self.note_change(shard, path);
        self.nodes[shard].remove(path)
    }

    /// Begins a snapshot of the tree as it is now (see `cut`); `visit_shard` then reads it a
    /// shard at a time while changes go on, and `end_cut` ends it. Returns the node count.
    pub fn begin_cut(&mut self) -> usize {
        self.cut = Some(Cut::new(self.cut_acls()));
        self.node_count()
    }

    pub fn end_cut(&mut self) {
        self.cut = None;
    }

    /// The ACL lists the nodes refer to: at the cut while one is open, else as they are.
    pub fn cut_acls(&self) -> Vec<(AclRef, Arc<[Acl]>)> {
        match &self.cut {
            Some(cut) => cut.acls.clone(),
            None => self
                .acls
                .entries()
                .map(|(handle, list)| (handle, list.clone()))
                .collect(),
        }
    }

    /// Visits every node of shard `shard`: as it was at the cut while one is open (and marks
    /// the shard written), else as it is.
    pub fn visit_shard(&self, shard: usize, visit: &mut dyn FnMut(&str, &NodeImage)) {
        match &self.cut {
            Some(cut) => cut.visit(shard, &self.nodes[shard], visit),
            None => {
                for (path, node) in &self.nodes[shard] {
                    visit(path, &NodeImage::of(node));
                }
            }
        }
    }

    fn stat_of(&self, path: &str) -> NodeStat {
        self.get(path).map(|n| n.stat).unwrap_or_default()
    }

    fn restore_stat(&mut self, path: &str, stat: NodeStat) {
        if let Some(node) = self.node_mut(path) {
            node.stat = stat;
        }
    }

    fn link_child(&mut self, path: &str) {
        if let Some(parent) = self.children_mut(path::parent(path)) {
            parent.insert(path::name(path));
        }
    }

    fn unlink_child(&mut self, path: &str) {
        if let Some(parent) = self.children_mut(path::parent(path)) {
            parent.remove(path::name(path));
        }
    }

    fn index(&mut self, path: &str, owner: i64) {
        if owner == ephemeral_owner::CONTAINER {
            self.containers.insert(path.to_string());
        } else if ephemeral_owner::ttl(owner).is_some() {
            self.ttls.insert(path.to_string());
        } else if owner != 0 {
            self.ephemerals
                .entry(owner)
                .or_default()
                .insert(path.to_string());
        }
    }

    fn unindex(&mut self, path: &str, owner: i64) {
        if owner == ephemeral_owner::CONTAINER {
            self.containers.remove(path);
        } else if ephemeral_owner::ttl(owner).is_some() {
            self.ttls.remove(path);
        } else if let Some(paths) = self.ephemerals.get_mut(&owner) {
            paths.remove(path);
            if paths.is_empty() {
                self.ephemerals.remove(&owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::open_acl;

    #[test]
    fn fresh_tree_has_the_zookeeper_nodes() {
        let tree = DataTree::new();
        let root = tree.get("/").unwrap();
        assert_eq!(root.children.len(), 1);
        assert_eq!(root.stat().cversion, -1, "as ZooKeeper reports it");
        let zk = tree.get(ZOOKEEPER_PATH).unwrap();
        assert_eq!(zk.children.len(), 2);
        assert_eq!(tree.descendant_count("/"), 3);
    }

    #[test]
    fn create_delete_and_undo_restore_everything() {
        let mut tree = DataTree::new();
        let before = tree.stat("/").unwrap();
        let undo_create = tree.create(
            "/a",
            Some(Bytes::from_static(b"x")),
            &open_acl(),
            7,
            1,
            10,
            100,
        );
        assert_eq!(tree.get("/").unwrap().stat.cversion, 1, "one child created");
        assert_eq!(tree.stat("/").unwrap().pzxid, 10);
        assert_eq!(tree.ephemerals_of(7).count(), 1);
        let undo_set = tree.set_data("/a", None, 1, 11, 101).unwrap();
        let undo_delete = tree.delete("/a", 12).unwrap();
        assert!(tree.get("/a").is_none());
        assert_eq!(tree.ephemerals_of(7).count(), 0);
        tree.undo(undo_delete);
        assert_eq!(tree.stat("/a").unwrap().version, 1);
        tree.undo(undo_set);
        assert_eq!(tree.stat("/a").unwrap().data_length, 1);
        tree.undo(undo_create);
        assert!(tree.get("/a").is_none());
        assert_eq!(tree.stat("/").unwrap(), before);
        assert_eq!(tree.ephemerals_of(7).count(), 0);
    }
}
