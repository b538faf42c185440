//! The replicated log: openraft, with our own durable log store and the keeper's state machine.
//!
//! Every write goes through here, including on a standalone keeper, which is a one-voter group:
//! an ensemble adds peers (through `crate::ensemble`), not a second write path. An entry carries a
//! batch of transactions; each gets the zxid `(term << 32) | n`, n counting transactions within
//! the term from 1, as ZooKeeper counts within an epoch.

mod chunked_reader;
pub mod entry_codec;
pub mod log_store;
pub mod snapshot;
pub mod state_machine;

use crate::txn::{AppliedBatch, TxnBatch};

openraft::declare_raft_types!(
    /// openraft's type parameters for the keeper.
    pub TypeConfig:
        D = TxnBatch,
        R = AppliedBatch,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type LogId = openraft::LogId<u64>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type StorageError = openraft::StorageError<u64>;
pub type StoredMembership = openraft::StoredMembership<u64, openraft::BasicNode>;

/// Builds a log id from its parts (term, node that led the term, index).
pub fn log_id(term: u64, node_id: u64, index: u64) -> LogId {
    openraft::LogId::new(openraft::CommittedLeaderId::new(term, node_id), index)
}

/// Wraps any error as an openraft storage error of the given kind.
pub fn storage_error<E: std::error::Error + 'static>(
    make: fn(openraft::AnyError) -> openraft::StorageIOError<u64>,
    error: &E,
) -> StorageError {
    make(openraft::AnyError::new(error)).into()
}
