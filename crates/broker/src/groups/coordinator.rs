//! The group coordinator: every group this broker coordinates, the connections waiting on
//! them, and the writes to `__consumer_offsets`.
//!
//! Each group has its own lock; the map of groups has another, held only to find, add or
//! remove a group, never while a group's records are written. A request takes its group's
//! lock (a std mutex, never held across an `.await`), runs the pure state machine
//! ([`Group`]), appends what must be persisted (a short positional write to the local log, so
//! a commit is on the log before it is acknowledged and records of one group are written in
//! the order they happened), hands the answers it released to the members waiting for them,
//! and lets go: a slow append holds up its own group only. A JoinGroup or SyncGroup that must
//! wait parks a oneshot receiver and awaits it outside the lock; a connection serves one
//! request at a time, so that only holds its own connection.
//!
//! Lock order: the map, then a group; a group's lock is never held while the map's is taken.
//! A group is removed (deleted, or expired with nothing left) by marking its cell removed
//! under the group's lock and then dropping it from the map; a request that found the cell
//! before that sees the mark and looks again.
//!
//! A background task ([`run_timers`]) ticks every group to expire sessions and end join
//! phases whose time is up, one group at a time.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_kafka_protocol::ErrorCode;
use tokio::sync::oneshot;

use super::group::{Effects, Group, GroupLimits, JoinResult, Reply, SyncRequest, SyncResult};
use super::member::JoinRequest;
use super::offsets_topic::{self, StoreError};
use super::records::{self, OffsetValue};
use super::state::GroupState;
use crate::broker::Broker;

/// How often sessions and rebalance deadlines are checked.
const TICK: Duration = Duration::from_millis(100);

/// Settings of the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoordinatorConfig {
    pub limits: GroupLimits,
    /// `offsets.topic.num.partitions`, used when the topic is created.
    pub offsets_topic_partitions: i32,
    /// `offsets.retention.minutes`, in ms: see [`Group::expired_offsets`].
    pub offsets_retention_ms: u64,
    /// `offsets.retention.check.interval.ms`: how often expired offsets are looked for.
    pub offsets_retention_check_interval: Duration,
}

/// One group and the members waiting on it.
struct Slot {
    group: Group,
    joins: HashMap<String, oneshot::Sender<JoinResult>>,
    syncs: HashMap<String, oneshot::Sender<SyncResult>>,
}

impl Slot {
    fn new(group: Group) -> Self {
        Slot {
            group,
            joins: HashMap::new(),
            syncs: HashMap::new(),
        }
    }
}

/// A JoinGroup's answer: now, or later through a channel.
enum Answer<T> {
    Now(T),
    Later(oneshot::Receiver<T>),
}

/// A group's place in the map: its lock, and whether it was removed from the map.
struct Cell {
    slot: Mutex<Slot>,
    removed: AtomicBool,
}

impl Cell {
    fn new(group: Group) -> Arc<Self> {
        Arc::new(Cell {
            slot: Mutex::new(Slot::new(group)),
            removed: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }
}

/// A summary for ListGroups.
pub struct Listed {
    pub group_id: String,
    pub protocol_type: String,
    pub state: GroupState,
}

pub struct GroupCoordinator {
    config: CoordinatorConfig,
    groups: Mutex<HashMap<String, Arc<Cell>>>,
    /// Serializes creation of the offsets topic.
    creating: tokio::sync::Mutex<()>,
    origin: Instant,
}

/// What a commit of one partition asks for.
pub struct OffsetCommit {
    pub topic: String,
    pub partition: i32,
    pub value: OffsetValue,
}

impl GroupCoordinator {
    pub fn new(config: CoordinatorConfig) -> Self {
        GroupCoordinator {
            config,
            groups: Mutex::new(HashMap::new()),
            creating: tokio::sync::Mutex::new(()),
            origin: Instant::now(),
        }
    }

    /// Monotonic ms for the state machine.
    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Cell>>> {
        self.groups.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every group's cell, taken from the map at once (the map's lock is let go before any
    /// group's is taken).
    fn cells(&self) -> Vec<Arc<Cell>> {
        self.lock().values().cloned().collect()
    }

    /// Runs `f` on a live group: the existing one, or (with `create`) a new one if there is
    /// none. `None` when the group does not exist and may not be created.
    fn with_group<R>(
        &self,
        group_id: &str,
        create: Option<&dyn Fn() -> Group>,
        f: impl FnOnce(&mut Slot) -> R,
    ) -> Option<R> {
        loop {
            let cell = {
                let mut groups = self.lock();
                match (groups.get(group_id), create) {
                    (Some(cell), _) => cell.clone(),
                    (None, Some(make)) => groups
                        .entry(group_id.to_string())
                        .or_insert_with(|| Cell::new(make()))
                        .clone(),
                    (None, None) => return None,
                }
            };
            let mut slot = cell.lock();
            // Removed between the lookup and the lock: the map no longer has it, look again.
            if cell.is_removed() {
                continue;
            }
            return Some(f(&mut slot));
        }
    }

    /// Drops groups from the map after their cells were marked removed.
    fn forget(&self, removed: &[(String, Arc<Cell>)]) {
        let mut groups = self.lock();
        for (group_id, cell) in removed {
            if groups.get(group_id).is_some_and(|c| Arc::ptr_eq(c, cell)) {
                groups.remove(group_id);
            }
        }
    }

    /// Reads every group back from `__consumer_offsets` (broker start, before serving).
    pub fn load(&self, broker: &Broker) -> Result<(), StoreError> {
        let loaded = super::loader::load(broker, self.now())?;
        let mut groups = self.lock();
        groups.clear();
        groups.extend(loaded.into_iter().map(|(id, g)| (id, Cell::new(g))));
        Ok(())
    }

    /// This broker became (`leads`) or stopped being the leader of `__consumer_offsets`
    /// partition `partition`, and so the coordinator of its groups. Called off the async
    /// workers (it may read the partition's log).
    pub fn partition_leadership_changed(&self, _broker: &Broker, partition: i32, leads: bool) {
        tracing::debug!(partition, leads, "offsets partition leadership changed");
    }

    /// Makes sure `__consumer_offsets` exists (FindCoordinator does this, as in Kafka).
    pub async fn ensure_offsets_topic(&self, broker: &Broker) -> Result<i32, StoreError> {
        if let Some(n) = offsets_topic::partitions(broker) {
            return Ok(n);
        }
        let _only_one = self.creating.lock().await;
        offsets_topic::ensure(broker, self.config.offsets_topic_partitions).await
    }

    pub async fn join(&self, broker: &Broker, group_id: &str, req: JoinRequest) -> JoinResult {
        let member_id = req.member_id.clone();
        // Clients look the coordinator up first, which creates the topic; one that skipped
        // that still gets a group whose generations can be stored.
        if let Err(error) = self.ensure_offsets_topic(broker).await {
            tracing::warn!(%error, "offsets topic unavailable");
            return JoinResult::error(ErrorCode::CoordinatorNotAvailable, &member_id);
        }
        let now = self.now();
        let make = || Group::new(group_id);
        let reply = self.with_group(group_id, Some(&make), |slot| {
            let mut fx = Effects::default();
            let reply = match slot.group.join(req, now, &self.config.limits, &mut fx) {
                Reply::Now(result) => Answer::Now(result),
                Reply::Wait { member_id } => {
                    let (tx, rx) = oneshot::channel();
                    slot.joins.insert(member_id, tx);
                    Answer::Later(rx)
                }
            };
            self.settle(broker, slot, fx);
            reply
        });
        match reply {
            // Creating cannot fail; answer as for a group being unloaded.
            None => JoinResult::error(ErrorCode::CoordinatorNotAvailable, &member_id),
            Some(Answer::Now(result)) => result,
            // Replaced by a newer JoinGroup of the same member: this one is obsolete.
            Some(Answer::Later(rx)) => rx
                .await
                .unwrap_or_else(|_| JoinResult::error(ErrorCode::RebalanceInProgress, &member_id)),
        }
    }

    pub async fn sync(&self, broker: &Broker, group_id: &str, req: SyncRequest) -> SyncResult {
        let now = self.now();
        let receiver = self.with_group(group_id, None, |slot| {
            let mut fx = Effects::default();
            let receiver = match slot.group.sync(req, now, &mut fx) {
                Reply::Now(result) => Err(result),
                Reply::Wait { member_id } => {
                    let (tx, rx) = oneshot::channel();
                    slot.syncs.insert(member_id, tx);
                    Ok(rx)
                }
            };
            self.settle(broker, slot, fx);
            receiver
        });
        let Some(receiver) = receiver else {
            return Err(ErrorCode::UnknownMemberId);
        };
        match receiver {
            Err(now) => now,
            Ok(rx) => rx.await.unwrap_or(Err(ErrorCode::RebalanceInProgress)),
        }
    }

    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance: Option<&str>,
        generation: i32,
    ) -> ErrorCode {
        let now = self.now();
        self.with_group(group_id, None, |slot| {
            slot.group.heartbeat(member_id, instance, generation, now)
        })
        .unwrap_or(ErrorCode::UnknownMemberId)
    }

    /// One error per (member id, instance id).
    pub fn leave(
        &self,
        broker: &Broker,
        group_id: &str,
        leaving: &[(String, Option<String>)],
    ) -> Vec<ErrorCode> {
        let now = self.now();
        self.with_group(group_id, None, |slot| {
            let mut fx = Effects::default();
            let errors = slot.group.leave(leaving, now, &self.config.limits, &mut fx);
            self.settle(broker, slot, fx);
            errors
        })
        .unwrap_or_else(|| vec![ErrorCode::UnknownMemberId; leaving.len()])
    }

    /// Expires sessions and ends join phases for every group, one group's lock at a time.
    pub fn tick(&self, broker: &Broker) {
        let now = self.now();
        for cell in self.cells() {
            let mut slot = cell.lock();
            if cell.is_removed() {
                continue;
            }
            let mut fx = Effects::default();
            slot.group.tick(now, &self.config.limits, &mut fx);
            self.settle(broker, &mut slot, fx);
        }
    }

    /// Delivers released answers and persists the group's metadata if it changed.
    fn settle(&self, broker: &Broker, slot: &mut Slot, fx: Effects) {
        if fx.persist {
            let value = records::group_value(&slot.group.to_stored(wall_clock_ms()));
            let record = (records::group_key(&slot.group.id), Some(value));
            if let Err(error) = self.write(broker, &slot.group.id, &[record]) {
                // The group goes on in memory; members rejoin after a restart anyway.
                tracing::warn!(group = %slot.group.id, %error, "storing group metadata failed");
            }
        }
        for (member, result) in fx.joins {
            if let Some(tx) = slot.joins.remove(&member) {
                let _gone = tx.send(result);
            }
        }
        for (member, result) in fx.syncs {
            if let Some(tx) = slot.syncs.remove(&member) {
                let _gone = tx.send(result);
            }
        }
    }

    /// Appends records to the group's partition of `__consumer_offsets`.
    fn write(
        &self,
        broker: &Broker,
        group_id: &str,
        records: &[(Vec<u8>, Option<Vec<u8>>)],
    ) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let partitions = offsets_topic::partitions(broker).ok_or(StoreError::Missing)?;
        let partition = records::partition_for(group_id, partitions);
        offsets_topic::append(broker, partition, records, wall_clock_ms())
    }

    /// Commits offsets: checks the member, appends the records, then updates the cache. The
    /// error is for the whole request; `Ok` carries nothing because every partition given
    /// was committed.
    pub async fn commit(
        &self,
        broker: &Broker,
        group_id: &str,
        member_id: &str,
        instance: Option<&str>,
        generation: i32,
        commits: Vec<OffsetCommit>,
    ) -> Result<(), ErrorCode> {
        if let Err(error) = self.ensure_offsets_topic(broker).await {
            tracing::warn!(%error, "offsets topic unavailable");
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        let now = self.now();
        let records: Vec<_> = commits
            .iter()
            .map(|c| {
                let key = records::offset_key(group_id, &c.topic, c.partition);
                (key, Some(records::offset_value(&c.value)))
            })
            .collect();
        // Not managed by the coordinator (a simple consumer): the commit creates the group. A
        // member of a generation this broker does not know (e.g. from before a restart) does
        // not.
        let make = || Group::new(group_id);
        let create = (generation < 0).then_some(&make as &dyn Fn() -> Group);
        self.with_group(group_id, create, |slot| {
            slot.group
                .check_commit(member_id, instance, generation, now)?;
            self.write(broker, group_id, &records).map_err(|error| {
                tracing::warn!(group = group_id, %error, "appending offsets failed");
                ErrorCode::CoordinatorNotAvailable
            })?;
            for c in commits {
                slot.group.offsets.insert((c.topic, c.partition), c.value);
            }
            Ok(())
        })
        .unwrap_or(Err(ErrorCode::IllegalGeneration))
    }

    /// Committed offsets of a group: the partitions asked for (`None`: all of them).
    pub fn fetch(
        &self,
        group_id: &str,
        wanted: Option<&[(String, i32)]>,
    ) -> Vec<((String, i32), Option<OffsetValue>)> {
        let answer = |offsets: Option<&BTreeMap<(String, i32), OffsetValue>>| match wanted {
            Some(wanted) => wanted
                .iter()
                .map(|tp| (tp.clone(), offsets.and_then(|o| o.get(tp)).cloned()))
                .collect(),
            None => offsets
                .into_iter()
                .flatten()
                .map(|(tp, v)| (tp.clone(), Some(v.clone())))
                .collect(),
        };
        self.with_group(group_id, None, |slot| answer(Some(&slot.group.offsets)))
            .unwrap_or_else(|| answer(None))
    }

    pub fn list(&self) -> Vec<Listed> {
        let mut listed: Vec<Listed> = self
            .cells()
            .iter()
            .filter(|cell| !cell.is_removed())
            .map(|cell| {
                let s = cell.lock();
                Listed {
                    group_id: s.group.id.clone(),
                    protocol_type: s.group.protocol_type().unwrap_or_default().to_string(),
                    state: s.group.state(),
                }
            })
            .collect();
        listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        listed
    }

    /// The group's protocol type and selected protocol (SyncGroup v5 repeats them).
    pub fn protocol_of(&self, group_id: &str) -> (Option<String>, Option<String>) {
        self.with_group(group_id, None, |s| {
            (
                s.group.protocol_type().map(str::to_string),
                s.group.protocol().map(str::to_string),
            )
        })
        .unwrap_or((None, None))
    }

    /// A copy of a group for DescribeGroups.
    pub fn snapshot(&self, group_id: &str) -> Option<Group> {
        self.with_group(group_id, None, |s| s.group.clone())
    }

    /// Deletes an empty group: tombstones for its offsets and its metadata, then forgets it.
    pub fn delete_group(&self, broker: &Broker, group_id: &str) -> ErrorCode {
        let Some(cell) = self.lock().get(group_id).cloned() else {
            return ErrorCode::GroupIdNotFound;
        };
        {
            let mut slot = cell.lock();
            if cell.is_removed() {
                return ErrorCode::GroupIdNotFound;
            }
            match slot.group.state() {
                GroupState::Empty | GroupState::Dead => {}
                _ => return ErrorCode::NonEmptyGroup,
            }
            let mut tombstones: Vec<(Vec<u8>, Option<Vec<u8>>)> = slot
                .group
                .offsets
                .keys()
                .map(|(topic, partition)| (records::offset_key(group_id, topic, *partition), None))
                .collect();
            tombstones.push((records::group_key(group_id), None));
            if offsets_topic::partitions(broker).is_some() {
                if let Err(error) = self.write(broker, group_id, &tombstones) {
                    tracing::warn!(group = group_id, %error, "writing group tombstones failed");
                    return ErrorCode::CoordinatorNotAvailable;
                }
            }
            slot.group.mark_dead();
            cell.removed.store(true, Ordering::Release);
        }
        self.forget(&[(group_id.to_string(), cell)]);
        ErrorCode::None
    }

    /// Removes the offsets that outlived `offsets.retention.minutes` (tombstones first), and
    /// the groups left empty with nothing committed (their metadata tombstoned too), as
    /// Kafka's offset expiration does.
    pub fn expire_offsets(&self, broker: &Broker) {
        let (now, wall_now) = (self.now(), wall_clock_ms());
        let retention = self.config.offsets_retention_ms;
        let mut vacated = Vec::new();
        for cell in self.cells() {
            let mut slot = cell.lock();
            if cell.is_removed() {
                continue;
            }
            let group_id = slot.group.id.clone();
            let expired = slot.group.expired_offsets(now, wall_now, retention);
            if expired.is_empty() {
                continue;
            }
            let mut tombstones: Vec<(Vec<u8>, Option<Vec<u8>>)> = expired
                .iter()
                .map(|(topic, partition)| (records::offset_key(&group_id, topic, *partition), None))
                .collect();
            // Expiry only touches empty groups: with every offset gone there is nothing left.
            let vacant = expired.len() == slot.group.offsets.len();
            if vacant {
                tombstones.push((records::group_key(&group_id), None));
            }
            if let Err(error) = self.write(broker, &group_id, &tombstones) {
                tracing::warn!(group = %group_id, %error, "writing expired offsets' tombstones failed");
                continue;
            }
            for tp in &expired {
                slot.group.offsets.remove(tp);
            }
            tracing::info!(group = %group_id, offsets = expired.len(), "expired committed offsets");
            if vacant {
                slot.group.mark_dead();
                cell.removed.store(true, Ordering::Release);
                drop(slot);
                vacated.push((group_id, cell));
            }
        }
        self.forget(&vacated);
    }

    /// Deletes committed offsets of topics the group does not consume (OffsetDelete). The
    /// group-level error, else one error per partition.
    pub fn delete_offsets(
        &self,
        broker: &Broker,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        self.with_group(group_id, None, |slot| {
            self.delete_offsets_of(broker, slot, partitions)
        })
        .unwrap_or(Err(ErrorCode::GroupIdNotFound))
    }

    fn delete_offsets_of(
        &self,
        broker: &Broker,
        slot: &mut Slot,
        partitions: &[(String, i32)],
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        let group_id = slot.group.id.clone();
        let group_id = group_id.as_str();
        let group = &mut slot.group;
        let consumer = group.protocol_type() == Some("consumer");
        match group.state() {
            GroupState::Dead => return Err(ErrorCode::CoordinatorNotAvailable),
            GroupState::Empty => {}
            _ if !consumer => return Err(ErrorCode::NonEmptyGroup),
            _ => {}
        }
        let errors: Vec<ErrorCode> = partitions
            .iter()
            .map(|(topic, _)| {
                if group.state() != GroupState::Empty && group.is_subscribed_to(topic) {
                    ErrorCode::GroupSubscribedToTopic
                } else {
                    ErrorCode::None
                }
            })
            .collect();
        let doomed: Vec<&(String, i32)> = partitions
            .iter()
            .zip(&errors)
            .filter(|(tp, e)| **e == ErrorCode::None && group.offsets.contains_key(*tp))
            .map(|(tp, _)| tp)
            .collect();
        let tombstones: Vec<_> = doomed
            .iter()
            .map(|(topic, partition)| (records::offset_key(group_id, topic, *partition), None))
            .collect();
        if let Err(error) = self.write(broker, group_id, &tombstones) {
            tracing::warn!(group = group_id, %error, "writing offset tombstones failed");
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        for tp in doomed {
            slot.group.offsets.remove(tp);
        }
        Ok(errors)
    }
}

/// Ticks the coordinator until the broker is gone, and expires old offsets every
/// `offsets.retention.check.interval.ms`.
pub async fn run_timers(broker: Weak<Broker>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_expiry = Instant::now();
    loop {
        interval.tick().await;
        let Some(broker) = broker.upgrade() else {
            return;
        };
        broker.groups.tick(&broker);
        if last_expiry.elapsed() >= broker.groups.config.offsets_retention_check_interval {
            last_expiry = Instant::now();
            broker.groups.expire_offsets(&broker);
        }
    }
}

/// Wall-clock ms for record timestamps.
pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
