//! The replicated state: the znode tree, the session table and the last applied zxid. Every
//! replica holds one and changes it only by applying committed transactions in log order.

use std::collections::BTreeMap;

use ferry_jute::Bytes;

use crate::tree::DataTree;

/// A session as every replica knows it. Liveness (when it was last heard from) is not here:
/// that is the business of the server the client talks to (`sessions::SessionTracker`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub timeout_ms: i32,
    pub password: Bytes,
}

#[derive(Debug)]
pub struct Database {
    pub tree: DataTree,
    pub sessions: BTreeMap<i64, SessionInfo>,
    /// The zxid of the last applied transaction; reads answer with it.
    pub last_zxid: i64,
    /// `extendedTypesEnabled`: whether TTL nodes may be created.
    pub extended_types: bool,
}

impl Database {
    pub fn new(extended_types: bool) -> Self {
        Self {
            tree: DataTree::new(),
            sessions: BTreeMap::new(),
            last_zxid: 0,
            extended_types,
        }
    }
}
