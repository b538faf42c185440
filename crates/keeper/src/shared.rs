//! What the state machine and the client connections share: the replicated database (with
//! the raft bookkeeping that must stay consistent with it) and the local watch table.
//!
//! Lock order: `state` before `watches`. Reads that set a watch hold `state` (read) while
//! registering, and the state machine holds `state` (write) while firing, so no change can slip
//! between a read and its watch. Neither lock is ever held across an `.await`.

use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::database::Database;
use crate::raft::{LogId, StoredMembership};
use crate::watches::WatchManager;

pub struct Replicated {
    pub db: Database,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
}

pub struct Shared {
    state: RwLock<Replicated>,
    watches: Mutex<WatchManager>,
    /// The last applied log index, for those who wait for the state machine to catch up
    /// (`sync`).
    applied: tokio::sync::watch::Sender<u64>,
    /// Transactions applied since the last snapshot began; the keeper snapshots by this count
    /// (`snapCount`), not by log entries, which carry many transactions each.
    pub txns_since_snapshot: AtomicU64,
    /// How long the last snapshot took to write, in µs.
    pub last_snapshot_us: AtomicU64,
    /// Held while a snapshot is written from the state, which must not be replaced meanwhile.
    pub snapshot_writing: tokio::sync::Mutex<()>,
    /// Connections the server must close because of what was applied. (Bounded by the
    /// sessions there are, each closing once, and the snapshots installed.)
    to_close: tokio::sync::mpsc::UnboundedSender<ToClose>,
    to_close_receiver: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<ToClose>>>,
}

/// Which client connections an applied change ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToClose {
    /// Those of a session the log closed (expired, or closed by its client elsewhere).
    Session(i64),
    /// All of them: a snapshot replaced the state, so watches set before it cannot fire;
    /// clients reconnect and re-register them (SetWatches fires those whose nodes changed).
    All,
}

impl Shared {
    pub fn new(db: Database) -> Self {
        let (to_close, receiver) = tokio::sync::mpsc::unbounded_channel();
        Self {
            state: RwLock::new(Replicated {
                db,
                last_applied: None,
                membership: StoredMembership::default(),
            }),
            watches: Mutex::new(WatchManager::default()),
            applied: tokio::sync::watch::channel(0).0,
            txns_since_snapshot: AtomicU64::new(0),
            last_snapshot_us: AtomicU64::new(0),
            snapshot_writing: tokio::sync::Mutex::new(()),
            to_close,
            to_close_receiver: Mutex::new(Some(receiver)),
        }
    }

    // Poisoning only follows a panic while the lock was held; the data is still the last
    // consistent state, so carry on rather than take the whole server down.
    pub fn read(&self) -> RwLockReadGuard<'_, Replicated> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Replicated> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn watches(&self) -> MutexGuard<'_, WatchManager> {
        self.watches.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn publish_applied(&self, index: u64) {
        self.applied.send_replace(index);
    }

    /// Asks the server to close client connections because of an applied change.
    pub fn close_connections(&self, which: ToClose) {
        let _ = self.to_close.send(which);
    }

    /// The receiving end of `close_connections` (once; `None` after).
    pub fn take_connections_to_close(
        &self,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<ToClose>> {
        self.to_close_receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    pub fn subscribe_applied(&self) -> tokio::sync::watch::Receiver<u64> {
        self.applied.subscribe()
    }
}
