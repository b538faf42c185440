//! One znode as the tree stores it.

use ferry_jute::{ephemeral_owner, Bytes, Stat};

use super::acl_cache::AclRef;
use super::children::Children;

/// The persisted part of a znode's stat (ZooKeeper's `StatPersisted`); `dataLength` and
/// `numChildren` are derived when a `Stat` is handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeStat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub pzxid: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Node {
    /// `None` when created with a null buffer: reads answer with length -1, as ZooKeeper does.
    pub data: Option<Bytes>,
    pub acl: AclRef,
    pub stat: NodeStat,
    /// Child names (not paths). Unordered, as ZooKeeper's `getChildren` is.
    pub children: Children,
}

impl Node {
    pub fn stat(&self) -> Stat {
        let s = &self.stat;
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            // Stored: how many children were ever created (it numbers sequential nodes).
            // Reported, as ZooKeeper does: every create and delete, 2 x creates - children.
            cversion: s
                .cversion
                .wrapping_mul(2)
                .wrapping_sub(self.children.len() as i32),
            aversion: s.aversion,
            ephemeral_owner: client_ephemeral_owner(s.ephemeral_owner),
            data_length: self.data.as_ref().map_or(0, |d| d.len() as i32),
            num_children: self.children.len() as i32,
            pzxid: s.pzxid,
        }
    }
}

/// What clients see as `ephemeralOwner`: the owning session, or 0. The container and TTL
/// markers stay internal, as ZooKeeper's `DataNode.getClientEphemeralOwner` keeps them.
fn client_ephemeral_owner(owner: i64) -> i64 {
    if owner == ephemeral_owner::CONTAINER || ephemeral_owner::ttl(owner).is_some() {
        0
    } else {
        owner
    }
}
