//! `ferry keeper`: a ZooKeeper-compatible coordination service.
//!
//! A request's path through the crate:
//! - `server::connection` reads a frame, decodes it with `ferry_jute`, and keeps each
//!   session's answers in request order (FIFO per session).
//! - Reads are answered from the local [`shared::Shared`] database (`server::reads`).
//! - Writes become a [`txn::Txn`] and go through openraft (`raft`), even on a standalone
//!   server (a one-voter group). Once committed, the state machine applies them in log order
//!   with [`ops::apply`], which validates and mutates the [`tree::DataTree`] and fires
//!   [`watches`]; the answer travels back to the connection.
//!
//! Invariants:
//! - The replicated state ([`database::Database`]) changes only by applying committed log
//!   entries, deterministically; a transaction's zxid is `term << 32 | n` (n counting within
//!   the term), the same on every replica.
//! - In an ensemble ([`ensemble`]) only the leader appends: the other servers forward their
//!   clients' writes to it and answer once their own replica has applied them.
//! - A client sees a watch event before any answer that reflects the change.
//! - No lock is held across an `.await`; lock order is state, then watches.
//! - Bytes from the network or the disk never cause a panic.

pub mod acl;
pub mod config;
pub mod database;
pub mod ensemble;
pub mod ops;
pub mod path;
pub mod raft;
pub mod server;
pub mod sessions;
pub mod shared;
pub mod tree;
pub mod txn;
pub mod watches;
