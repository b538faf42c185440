//! One group in the coordinator's registry: its state machine, the members' requests waiting
//! on it, and where in the log its committed offsets were written.
//!
//! A group's lock is a std mutex held only for in-memory work and positional appends, never
//! across an `.await` (see `super::coordinator`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ferry_kafka_protocol::ErrorCode;
use tokio::sync::{oneshot, watch};

use super::group::{Group, JoinResult, SyncResult};
use super::records::OffsetValue;

/// A committed offset's key: (topic, partition).
pub type TopicPartition = (String, i32);

/// One group and the members waiting on it.
pub struct Slot {
    /// The `__consumer_offsets` partition the group's records go to.
    pub partition: i32,
    pub group: Group,
    pub joins: HashMap<String, oneshot::Sender<JoinResult>>,
    pub syncs: HashMap<String, oneshot::Sender<SyncResult>>,
    /// The log offset of the batch behind each committed offset the group holds or deleted. A
    /// commit enters the cache only once replicated, so two commits of one partition may
    /// complete out of log order; the one later in the log wins, as it does on a reload.
    written_at: HashMap<TopicPartition, i64>,
    /// Commits appended and not yet replicated, per partition. OffsetFetch waits for them: a
    /// member taking a partition over in a rebalance must not read the offset from before a
    /// commit its previous owner is about to be told succeeded (it would consume that record
    /// again).
    pending: HashMap<TopicPartition, usize>,
}

impl Slot {
    pub fn new(partition: i32, group: Group) -> Self {
        Slot {
            partition,
            group,
            joins: HashMap::new(),
            syncs: HashMap::new(),
            written_at: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// Commits of `partitions` were appended and wait for replication.
    pub fn commits_started<'a>(
        &mut self,
        partitions: impl IntoIterator<Item = &'a TopicPartition>,
    ) {
        for tp in partitions {
            *self.pending.entry(tp.clone()).or_default() += 1;
        }
    }

    /// Commits of `partitions` were answered (replicated or failed).
    pub fn commits_settled<'a>(
        &mut self,
        partitions: impl IntoIterator<Item = &'a TopicPartition>,
    ) {
        for tp in partitions {
            if let Some(count) = self.pending.get_mut(tp) {
                *count -= 1;
                if *count == 0 {
                    self.pending.remove(tp);
                }
            }
        }
    }

    /// Whether a commit of one of `wanted` (`None`: any partition) is still in flight.
    pub fn commit_pending(&self, wanted: Option<&[TopicPartition]>) -> bool {
        match wanted {
            None => !self.pending.is_empty(),
            Some(wanted) => wanted.iter().any(|tp| self.pending.contains_key(tp)),
        }
    }

    /// Answers the JoinGroups released by the state machine.
    pub fn answer_joins(&mut self, answers: Vec<(String, JoinResult)>) {
        for (member, result) in answers {
            if let Some(tx) = self.joins.remove(&member) {
                let _gone = tx.send(result);
            }
        }
    }

    /// Answers the SyncGroups released by the state machine.
    pub fn answer_syncs(&mut self, answers: Vec<(String, SyncResult)>) {
        for (member, result) in answers {
            if let Some(tx) = self.syncs.remove(&member) {
                let _gone = tx.send(result);
            }
        }
    }

    /// Takes the waiting SyncGroups of released answers, to be answered later (once the
    /// generation they belong to is stored).
    pub fn take_syncs<T>(
        &mut self,
        answers: Vec<(String, T)>,
    ) -> Vec<(oneshot::Sender<SyncResult>, T)> {
        answers
            .into_iter()
            .filter_map(|(member, answer)| self.syncs.remove(&member).map(|tx| (tx, answer)))
            .collect()
    }

    /// A write of `tp`'s committed offset (`None`: its tombstone) in the batch at `at` is
    /// durable: the cache takes it unless a later write of the same partition already landed.
    pub fn offset_written(&mut self, tp: TopicPartition, value: Option<OffsetValue>, at: i64) {
        if self.written_at.get(&tp).is_some_and(|later| *later > at) {
            return;
        }
        self.written_at.insert(tp.clone(), at);
        match value {
            Some(value) => self.group.offsets.insert(tp, value),
            None => self.group.offsets.remove(&tp),
        };
    }

    /// This broker no longer coordinates the group: it is dead here, and members waiting in
    /// JoinGroup or SyncGroup are told NOT_COORDINATOR (they find the new coordinator).
    pub fn unload(&mut self) {
        self.group.mark_dead();
        for (member, tx) in self.joins.drain() {
            let _gone = tx.send(JoinResult::error(ErrorCode::NotCoordinator, &member));
        }
        for (_, tx) in self.syncs.drain() {
            let _gone = tx.send(Err(ErrorCode::NotCoordinator));
        }
    }
}

/// A group's place in the registry: its lock, and whether it was removed from the registry
/// (deleted, expired or unloaded).
pub struct Cell {
    /// The group's partition, readable without the group's lock (the registry selects a
    /// partition's groups under its own lock).
    pub partition: i32,
    slot: Mutex<Slot>,
    removed: AtomicBool,
    /// Counts settled commits, so that an OffsetFetch waiting for one wakes up.
    settled: watch::Sender<u64>,
}

impl Cell {
    pub fn new(partition: i32, group: Group) -> Arc<Self> {
        Arc::new(Cell {
            partition,
            slot: Mutex::new(Slot::new(partition, group)),
            removed: AtomicBool::new(false),
            settled: watch::channel(0).0,
        })
    }

    /// A receiver that sees the next settled commit; take it with the lock held, before
    /// checking [`Slot::commit_pending`], so that no settlement is missed.
    pub fn watch_settled(&self) -> watch::Receiver<u64> {
        self.settled.subscribe()
    }

    /// Wakes the OffsetFetches waiting for commits; call after [`Slot::commits_settled`].
    pub fn announce_settled(&self) {
        self.settled.send_modify(|count| *count += 1);
    }

    pub fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    /// Marks the cell removed; call with its lock held, then drop it from the registry.
    pub fn mark_removed(&self) {
        self.removed.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64) -> OffsetValue {
        OffsetValue {
            offset,
            leader_epoch: 0,
            metadata: String::new(),
            commit_timestamp: 0,
        }
    }

    fn tp(p: i32) -> TopicPartition {
        ("t".to_string(), p)
    }

    #[test]
    fn the_write_later_in_the_log_wins_whatever_order_they_complete_in() {
        let mut slot = Slot::new(0, Group::new("g"));
        slot.offset_written(tp(0), Some(at(20)), 7);
        slot.offset_written(tp(0), Some(at(10)), 5);
        assert_eq!(slot.group.offsets[&tp(0)].offset, 20);
        // A tombstone written after a commit that completes later still deletes it.
        slot.offset_written(tp(1), None, 9);
        slot.offset_written(tp(1), Some(at(3)), 8);
        assert!(!slot.group.offsets.contains_key(&tp(1)));
        slot.offset_written(tp(1), Some(at(4)), 10);
        assert_eq!(slot.group.offsets[&tp(1)].offset, 4);
    }

    #[test]
    fn a_partition_is_pending_until_every_commit_of_it_settles() {
        let mut slot = Slot::new(0, Group::new("g"));
        slot.commits_started(&[tp(0), tp(1)]);
        slot.commits_started(&[tp(0)]);
        assert!(slot.commit_pending(None));
        assert!(slot.commit_pending(Some(&[tp(0)])));
        assert!(!slot.commit_pending(Some(&[tp(2)])));
        slot.commits_settled(&[tp(0), tp(1)]);
        assert!(slot.commit_pending(Some(&[tp(0)])));
        assert!(!slot.commit_pending(Some(&[tp(1)])));
        slot.commits_settled(&[tp(0)]);
        assert!(!slot.commit_pending(None));
    }

    #[tokio::test]
    async fn unloading_tells_waiting_members_not_coordinator() {
        let mut slot = Slot::new(0, Group::new("g"));
        let (join_tx, join_rx) = oneshot::channel();
        let (sync_tx, sync_rx) = oneshot::channel();
        slot.joins.insert("a".to_string(), join_tx);
        slot.syncs.insert("b".to_string(), sync_tx);
        slot.unload();
        let joined = join_rx.await.unwrap();
        assert_eq!(joined.error, ErrorCode::NotCoordinator);
        assert_eq!(joined.member_id, "a");
        assert_eq!(sync_rx.await.unwrap(), Err(ErrorCode::NotCoordinator));
        assert_eq!(slot.group.state(), super::super::GroupState::Dead);
    }
}
