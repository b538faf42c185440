//! The keeper's raft state machine: applies committed entries to the shared database in log
//! order, fires watches, and builds/installs snapshots.

use std::path::PathBuf;
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};

use super::{snapshot, storage_error, Entry, LogId, StorageError, StoredMembership, TypeConfig};
use crate::ops;
use crate::shared::{Shared, ToClose};
use crate::txn::{AppliedBatch, TxnKind};

/// The newest snapshot's meta and file (the data is read back only when a peer needs it).
type CurrentSnapshot =
    Arc<std::sync::Mutex<Option<(SnapshotMeta<u64, openraft::BasicNode>, PathBuf)>>>;

fn set_current(
    current: &CurrentSnapshot,
    meta: SnapshotMeta<u64, openraft::BasicNode>,
    path: PathBuf,
) {
    *current.lock().unwrap_or_else(|p| p.into_inner()) = Some((meta, path));
}

pub struct StateMachine {
    shared: Arc<Shared>,
    snapshot_dir: PathBuf,
    extended_types: bool,
    /// The newest snapshot, shared with the snapshot builder that replaces it.
    current: CurrentSnapshot,
}

impl StateMachine {
    /// Loads the newest snapshot in `snapshot_dir` into `shared`, if there is one.
    pub fn open(
        shared: Arc<Shared>,
        snapshot_dir: PathBuf,
        extended_types: bool,
    ) -> Result<Self, snapshot::SnapshotError> {
        let current = CurrentSnapshot::default();
        if let Some((state, path)) = snapshot::load_latest(&snapshot_dir, extended_types)? {
            let meta = meta_of(state.last_applied, &state.membership);
            tracing::info!(
                zxid = format_args!("0x{:x}", state.db.last_zxid),
                nodes = state.db.tree.node_count(),
                "loaded snapshot"
            );
            shared.publish_applied(state.last_applied.map_or(0, |id| id.index));
            *shared.write() = state;
            set_current(&current, meta, path);
        }
        Ok(Self {
            shared,
            snapshot_dir,
            extended_types,
            current,
        })
    }
}

fn meta_of(
    last: Option<LogId>,
    membership: &StoredMembership,
) -> SnapshotMeta<u64, openraft::BasicNode> {
    SnapshotMeta {
        last_log_id: last,
        last_membership: membership.clone(),
        snapshot_id: format!("{}", last.map_or(0, |id| id.index)),
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let state = self.shared.read();
        Ok((state.last_applied, state.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<AppliedBatch>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut replies = Vec::new();
        let mut triggers = Vec::new();
        let mut closed = Vec::new();
        let mut state = self.shared.write();
        for entry in entries {
            state.last_applied = Some(entry.log_id);
            let term = entry.log_id.leader_id.term;
            let reply = match &entry.payload {
                EntryPayload::Normal(batch) => {
                    self.shared
                        .txns_since_snapshot
                        .fetch_add(batch.0.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    AppliedBatch(
                        batch
                            .0
                            .iter()
                            .map(|txn| {
                                let zxid = next_zxid(state.db.last_zxid, term);
                                if txn.kind == TxnKind::CloseSession {
                                    closed.push(txn.session_id);
                                }
                                ops::apply(&mut state.db, txn, zxid, &mut triggers)
                            })
                            .collect(),
                    )
                }
                EntryPayload::Membership(membership) => {
                    state.membership =
                        StoredMembership::new(Some(entry.log_id), membership.clone());
                    AppliedBatch::default()
                }
                EntryPayload::Blank => AppliedBatch::default(),
            };
            replies.push(reply);
        }
        if !triggers.is_empty() {
            let mut watches = self.shared.watches();
            for trigger in &triggers {
                watches.fire(trigger);
            }
        }
        let index = state.last_applied.map_or(0, |id| id.index);
        drop(state);
        for session in closed {
            self.shared.close_connections(ToClose::Session(session));
        }
        self.shared.publish_applied(index);
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            shared: self.shared.clone(),
            dir: self.snapshot_dir.clone(),
            current: self.current.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<tokio::fs::File>, StorageError> {
        let path = self.receiving_path();
        let io = |e: std::io::Error| storage_error(StorageIOError::write_state_machine, &e);
        tokio::fs::create_dir_all(&self.snapshot_dir)
            .await
            .map_err(io)?;
        // Read back by `install_snapshot` once the last chunk is in: open it for both.
        let file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .map_err(io)?;
        Ok(Box::new(file))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        data: Box<tokio::fs::File>,
    ) -> Result<(), StorageError> {
        let index = meta.last_log_id.map_or(0, |id| id.index);
        let (received, dir) = (self.receiving_path(), self.snapshot_dir.clone());
        let extended_types = self.extended_types;
        // Waits for the file's pending writes (every chunk received is then in it).
        let mut data = (*data).into_std().await;
        // Decoded a block at a time off the runtime's threads while being copied to its
        // snapshot file: a snapshot of millions of nodes is never in memory as bytes.
        let installed = tokio::task::spawn_blocking(move || {
            use std::io::Seek;
            data.seek(std::io::SeekFrom::Start(0))
                .map_err(snapshot::SnapshotError::Read)?;
            let installed = snapshot::install_from(data, &dir, index, extended_types)?;
            let _ = std::fs::remove_file(received);
            Ok::<_, snapshot::SnapshotError>(installed)
        })
        .await
        .map_err(|e| storage_error(StorageIOError::read_state_machine, &e))?;
        let (state, path) =
            installed.map_err(|e| storage_error(StorageIOError::read_state_machine, &e))?;
        let applied = state.last_applied.map_or(0, |id| id.index);
        let writing = self.shared.snapshot_writing.lock().await;
        *self.shared.write() = state;
        drop(writing);
        self.shared.publish_applied(applied);
        self.shared.close_connections(ToClose::All);
        set_current(&self.current, meta.clone(), path);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let current = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some((meta, path)) = current else {
            return Ok(None);
        };
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| storage_error(StorageIOError::read_state_machine, &e))?;
        Ok(Some(Snapshot {
            meta,
            snapshot: Box::new(file),
        }))
    }
}

impl StateMachine {
    /// Where a snapshot sent by the leader is received before it is installed.
    fn receiving_path(&self) -> PathBuf {
        self.snapshot_dir.join("receiving.tmp")
    }
}

/// The zxid after `last` for a transaction in `term`: ZooKeeper's epoch in the high 32 bits,
/// a counter restarting at 1 in every new term in the low 32. Zxids only grow: a term that
/// outlasted 2^32 transactions would carry into the epoch bits (ZooKeeper forces a new
/// election at that point instead; at a million writes a second that is 70 minutes of one
/// term, which an ensemble's leader changes will bound).
fn next_zxid(last: i64, term: u64) -> i64 {
    let epoch = term as i64;
    if last >> 32 < epoch {
        (epoch << 32) | 1
    } else {
        last + 1
    }
}

pub struct SnapshotBuilder {
    shared: Arc<Shared>,
    dir: PathBuf,
    current: CurrentSnapshot,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let shared = self.shared.clone();
        let dir = self.dir.clone();
        let written = tokio::task::spawn_blocking(move || {
            // An installed snapshot replaces the tree: never while this one reads it.
            let _writing = shared.snapshot_writing.blocking_lock();
            let started = std::time::Instant::now();
            let written = snapshot::write_temp_while_applying(&dir, &shared)?;
            let meta = meta_of(written.last_applied, &written.membership);
            let index = meta.last_log_id.map_or(0, |id| id.index);
            let path = snapshot::commit(&dir, index, &written.tmp)?;
            shared.last_snapshot_us.store(
                started.elapsed().as_micros() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            tracing::info!(
                path = %path.display(),
                longest_write_pause_ms = written.longest_pause.as_millis() as u64,
                "snapshot written"
            );
            Ok::<_, snapshot::SnapshotError>((meta, path))
        })
        .await
        .map_err(|e| storage_error(StorageIOError::write_state_machine, &e))?
        .map_err(|e| storage_error(StorageIOError::write_state_machine, &e))?;
        let (meta, path) = written;
        set_current(&self.current, meta.clone(), path.clone());
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| storage_error(StorageIOError::read_state_machine, &e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(file),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::next_zxid;

    #[test]
    fn zxids_count_within_a_term_and_restart_in_the_next() {
        assert_eq!(next_zxid(0, 1), 0x1_0000_0001);
        assert_eq!(next_zxid(0x1_0000_0001, 1), 0x1_0000_0002);
        assert_eq!(next_zxid(0x1_0000_0002, 3), 0x3_0000_0001);
    }
}
