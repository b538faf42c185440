//! The group coordinator: the groups of the `__consumer_offsets` partitions this broker leads,
//! the connections waiting on them, and the writes to those partitions.
//!
//! Which partitions are served follows their leadership (`super::loading`, `super::ownership`):
//! a request for a group whose partition is not led and loaded here is answered
//! NOT_COORDINATOR (or COORDINATOR_LOAD_IN_PROGRESS while its groups are read), and the client
//! looks the coordinator up again.
//!
//! Each group has its own lock; the registry (the map of groups and the served partitions) has
//! another, held only to check ownership and find, add or remove a group, never while a
//! group's records are written. A request takes its group's lock (a std mutex, never held
//! across an `.await`), runs the pure state machine ([`Group`]), appends what must be persisted
//! (a short positional write to the local log, so records of one group are in the log in the
//! order they happened), hands the answers it released to the members waiting for them, and
//! lets go: a slow append holds up its own group only. Whatever must wait, outside the lock:
//! a JoinGroup or SyncGroup parks a oneshot receiver, and a commit or a generation's metadata
//! waits for the high watermark to pass its batch (`super::replication`) before it is
//! answered. A connection serves one request at a time, so that only holds its own connection.
//!
//! Lock order: the registry, then a group; a group's lock is never held while the registry's
//! is taken. A group is removed (deleted, expired with nothing left, or unloaded) by marking
//! its cell removed under the group's lock and dropping it from the registry; a request that
//! found the cell before that sees the mark and looks again.
//!
//! A background task ([`run_timers`]) ticks every served group to expire sessions and end
//! join phases whose time is up, one group at a time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferry_kafka_protocol::ErrorCode;
use tokio::sync::oneshot;

use super::group::{Effects, Group, GroupLimits, JoinResult, Reply, SyncRequest, SyncResult};
use super::member::JoinRequest;
use super::offsets_topic::{self, Appended, StoreError, OFFSETS_TOPIC};
use super::ownership::Ownership;
use super::records;
use super::replication::{self, WriteFailed};
use super::slot::{Cell, Slot};
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
    /// `offsets.commit.timeout.ms`: how long a commit or a generation's metadata may wait for
    /// the ISR before it is answered with an error.
    pub offsets_commit_timeout: Duration,
}

/// A JoinGroup's answer: now, or later through a channel.
enum Answer<T> {
    Now(T),
    Later(oneshot::Receiver<T>),
}

/// The groups served and the partitions they come from.
#[derive(Default)]
pub(super) struct Registry {
    pub(super) groups: HashMap<String, Arc<Cell>>,
    pub(super) ownership: Ownership,
}

/// A summary for ListGroups.
pub struct Listed {
    pub group_id: String,
    pub protocol_type: String,
    pub state: GroupState,
}

/// The SyncGroup answers of a generation, held until its metadata is replicated.
struct HeldSyncs {
    write: Result<Appended, WriteFailed>,
    generation: i32,
    answers: Vec<(oneshot::Sender<SyncResult>, Bytes)>,
}

impl HeldSyncs {
    /// Answers without waiting, for callers that cannot wait (none completes a generation
    /// today: only a leader's SyncGroup does).
    fn answer_now(self) {
        for (tx, assignment) in self.answers {
            let _gone = tx.send(Ok(assignment));
        }
    }
}

pub struct GroupCoordinator {
    pub(super) config: CoordinatorConfig,
    registry: Mutex<Registry>,
    /// Serializes creation of the offsets topic.
    creating: tokio::sync::Mutex<()>,
    origin: Instant,
}

/// How to make a group a request may create when it does not exist (`None`: it may not).
type Make<'a> = Option<&'a dyn Fn() -> Group>;

impl GroupCoordinator {
    pub fn new(config: CoordinatorConfig) -> Self {
        GroupCoordinator {
            config,
            registry: Mutex::new(Registry::default()),
            creating: tokio::sync::Mutex::new(()),
            origin: Instant::now(),
        }
    }

    /// Monotonic ms for the state machine.
    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cells of the served groups, taken from the registry at once (its lock is let go
    /// before any group's is taken): groups of partitions owned and still led (a replica
    /// stopped without a leadership change keeps the timers off its groups too).
    pub(super) fn cells(&self, broker: &Broker) -> Vec<Arc<Cell>> {
        let owned: Vec<Arc<Cell>> = {
            let registry = self.registry();
            registry
                .groups
                .values()
                .filter(|cell| registry.ownership.owns(cell.partition))
                .cloned()
                .collect()
        };
        let mut led: HashMap<i32, bool> = HashMap::new();
        owned
            .into_iter()
            .filter(|cell| {
                *led.entry(cell.partition)
                    .or_insert_with(|| leads(broker, cell.partition))
            })
            .collect()
    }

    /// The group's `__consumer_offsets` partition if this broker leads it. The replica manager
    /// applies a leadership change before it tells the coordinator, so a partition led no
    /// more is refused from that moment, not only once its groups are unloaded.
    fn partition_of(&self, broker: &Broker, group_id: &str) -> Result<i32, ErrorCode> {
        let partitions = offsets_topic::partitions(broker).ok_or(ErrorCode::NotCoordinator)?;
        let partition = records::partition_for(group_id, partitions);
        if leads(broker, partition) {
            Ok(partition)
        } else {
            Err(ErrorCode::NotCoordinator)
        }
    }

    /// The group's cell, if this broker serves its partition: the existing one, or (with
    /// `create`) a new one. `Ok(None)` when the group does not exist and may not be created.
    fn lookup(
        &self,
        broker: &Broker,
        group_id: &str,
        create: Make<'_>,
    ) -> Result<Option<Arc<Cell>>, ErrorCode> {
        let partition = self.partition_of(broker, group_id)?;
        let mut registry = self.registry();
        registry.ownership.check(partition)?;
        Ok(match (registry.groups.get(group_id), create) {
            (Some(cell), _) => Some(cell.clone()),
            (None, Some(make)) => Some(
                registry
                    .groups
                    .entry(group_id.to_string())
                    .or_insert_with(|| Cell::new(partition, make()))
                    .clone(),
            ),
            (None, None) => None,
        })
    }

    /// Runs `f` on a live group (see [`Self::lookup`]) under its lock. The error is the
    /// coordinator's (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS).
    pub(super) fn with_group<R>(
        &self,
        broker: &Broker,
        group_id: &str,
        create: Make<'_>,
        f: impl FnOnce(&Arc<Cell>, &mut Slot) -> R,
    ) -> Result<Option<R>, ErrorCode> {
        loop {
            let Some(cell) = self.lookup(broker, group_id, create)? else {
                return Ok(None);
            };
            let mut slot = cell.lock();
            // Removed between the lookup and the lock: the registry no longer has it, look
            // again.
            if cell.is_removed() {
                continue;
            }
            return Ok(Some(f(&cell, &mut slot)));
        }
    }

    /// Drops groups from the registry after their cells were marked removed.
    pub(super) fn forget(&self, removed: &[(String, Arc<Cell>)]) {
        let mut registry = self.registry();
        for (group_id, cell) in removed {
            if registry
                .groups
                .get(group_id)
                .is_some_and(|c| Arc::ptr_eq(c, cell))
            {
                registry.groups.remove(group_id);
            }
        }
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
        // that gets the topic created, and NOT_COORDINATOR until its leader serves it.
        if let Err(error) = self.ensure_offsets_topic(broker).await {
            tracing::warn!(%error, "offsets topic unavailable");
            return JoinResult::error(ErrorCode::CoordinatorNotAvailable, &member_id);
        }
        let now = self.now();
        let make = || Group::new(group_id);
        let reply = self.with_group(broker, group_id, Some(&make), |_, slot| {
            let mut fx = Effects::default();
            let reply = match slot.group.join(req, now, &self.config.limits, &mut fx) {
                Reply::Now(result) => Answer::Now(result),
                Reply::Wait { member_id } => {
                    let (tx, rx) = oneshot::channel();
                    slot.joins.insert(member_id, tx);
                    Answer::Later(rx)
                }
            };
            self.settle_now(broker, slot, fx);
            reply
        });
        match reply {
            Err(error) => JoinResult::error(error, &member_id),
            // Creating cannot fail; answer as for a group being unloaded.
            Ok(None) => JoinResult::error(ErrorCode::NotCoordinator, &member_id),
            Ok(Some(Answer::Now(result))) => result,
            // Replaced by a newer JoinGroup of the same member: this one is obsolete.
            Ok(Some(Answer::Later(rx))) => rx
                .await
                .unwrap_or_else(|_| JoinResult::error(ErrorCode::RebalanceInProgress, &member_id)),
        }
    }

    pub async fn sync(&self, broker: &Broker, group_id: &str, req: SyncRequest) -> SyncResult {
        let now = self.now();
        let outcome = self.with_group(broker, group_id, None, |cell, slot| {
            let mut fx = Effects::default();
            let receiver = match slot.group.sync(req, now, &mut fx) {
                Reply::Now(result) => Err(result),
                Reply::Wait { member_id } => {
                    let (tx, rx) = oneshot::channel();
                    slot.syncs.insert(member_id, tx);
                    Ok(rx)
                }
            };
            let held = self.settle(broker, slot, fx);
            (receiver, held, cell.clone())
        });
        let (receiver, held, cell) = match outcome {
            // Kafka answers a SyncGroup for a group still loading with REBALANCE_IN_PROGRESS:
            // the member rejoins, by which time the group is there.
            Err(ErrorCode::CoordinatorLoadInProgress) => {
                return Err(ErrorCode::RebalanceInProgress)
            }
            Err(error) => return Err(error),
            Ok(None) => return Err(ErrorCode::UnknownMemberId),
            Ok(Some(outcome)) => outcome,
        };
        if let Some(held) = held {
            self.confirm(broker, &cell, held).await;
        }
        match receiver {
            Err(now) => now,
            Ok(rx) => rx.await.unwrap_or(Err(ErrorCode::RebalanceInProgress)),
        }
    }

    /// Answers a generation's held SyncGroups once its metadata is replicated, or with the
    /// write's error; then a generation that could not be stored rebalances.
    async fn confirm(&self, broker: &Broker, cell: &Cell, held: HeldSyncs) {
        let HeldSyncs {
            write,
            generation,
            answers,
        } = held;
        let outcome = match write {
            Ok(appended) => {
                replication::replicated(appended, self.config.offsets_commit_timeout).await
            }
            Err(failed) => Err(failed),
        };
        let failed = match outcome {
            Ok(()) => {
                for (tx, assignment) in answers {
                    let _gone = tx.send(Ok(assignment));
                }
                return;
            }
            Err(failed) => failed,
        };
        let error = failed.for_sync();
        tracing::warn!(%failed, generation, answered = error.name(),
            "storing a group's generation failed");
        for (tx, _) in answers {
            let _gone = tx.send(Err(error));
        }
        let mut slot = cell.lock();
        if cell.is_removed() {
            return;
        }
        let mut fx = Effects::default();
        slot.group
            .store_failed(generation, self.now(), &self.config.limits, &mut fx);
        self.settle_now(broker, &mut slot, fx);
    }

    pub fn heartbeat(
        &self,
        broker: &Broker,
        group_id: &str,
        member_id: &str,
        instance: Option<&str>,
        generation: i32,
    ) -> ErrorCode {
        let now = self.now();
        match self.with_group(broker, group_id, None, |_, slot| {
            slot.group.heartbeat(member_id, instance, generation, now)
        }) {
            Ok(Some(error)) => error,
            Ok(None) => ErrorCode::UnknownMemberId,
            // As Kafka: a heartbeat while the group loads is answered blindly, the member's
            // session starts afresh once it is loaded anyway.
            Err(ErrorCode::CoordinatorLoadInProgress) => ErrorCode::None,
            Err(error) => error,
        }
    }

    /// One error per (member id, instance id), or the coordinator's error for all.
    pub fn leave(
        &self,
        broker: &Broker,
        group_id: &str,
        leaving: &[(String, Option<String>)],
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        let now = self.now();
        let errors = self.with_group(broker, group_id, None, |_, slot| {
            let mut fx = Effects::default();
            let errors = slot.group.leave(leaving, now, &self.config.limits, &mut fx);
            self.settle_now(broker, slot, fx);
            errors
        })?;
        Ok(errors.unwrap_or_else(|| vec![ErrorCode::UnknownMemberId; leaving.len()]))
    }

    /// Expires sessions and ends join phases for every served group, one group's lock at a
    /// time.
    pub fn tick(&self, broker: &Broker) {
        let now = self.now();
        for cell in self.cells(broker) {
            let mut slot = cell.lock();
            if cell.is_removed() {
                continue;
            }
            let mut fx = Effects::default();
            slot.group.tick(now, &self.config.limits, &mut fx);
            self.settle_now(broker, &mut slot, fx);
        }
    }

    /// Delivers released answers and appends the group's metadata if it changed. A settled
    /// generation's assignments are held back until that append is replicated (as Kafka
    /// answers SyncGroup only once `storeGroup` completes): they are returned for the caller
    /// to [`Self::confirm`] outside the lock. Other metadata writes (a group left empty) are
    /// not waited for, as in Kafka.
    fn settle(&self, broker: &Broker, slot: &mut Slot, fx: Effects) -> Option<HeldSyncs> {
        let Effects {
            joins,
            syncs,
            persist,
        } = fx;
        slot.answer_joins(joins);
        if !persist {
            slot.answer_syncs(syncs);
            return None;
        }
        let value = records::group_value(&slot.group.to_stored(wall_clock_ms()));
        let record = (records::group_key(&slot.group.id), Some(value));
        let write = self
            .write(broker, slot.partition, &[record])
            .map_err(|error| {
                tracing::warn!(group = %slot.group.id, %error, "storing group metadata failed");
                WriteFailed::from(&error)
            });
        let (assigned, refused): (Vec<_>, Vec<_>) = syncs.into_iter().partition(|(_, r)| r.is_ok());
        slot.answer_syncs(refused);
        let assigned = assigned
            .into_iter()
            .filter_map(|(member, result)| result.ok().map(|a| (member, a)))
            .collect();
        let answers = slot.take_syncs(assigned);
        (!answers.is_empty()).then(|| HeldSyncs {
            write,
            generation: slot.group.generation(),
            answers,
        })
    }

    /// [`Self::settle`] for callers that cannot wait.
    fn settle_now(&self, broker: &Broker, slot: &mut Slot, fx: Effects) {
        if let Some(held) = self.settle(broker, slot, fx) {
            held.answer_now();
        }
    }

    /// Appends records to a partition of `__consumer_offsets` as its leader.
    pub(super) fn write(
        &self,
        broker: &Broker,
        partition: i32,
        records: &[(Vec<u8>, Option<Vec<u8>>)],
    ) -> Result<Appended, StoreError> {
        offsets_topic::append(broker, partition, records, wall_clock_ms())
    }

    /// The served groups, and COORDINATOR_LOAD_IN_PROGRESS while a partition is being loaded
    /// (the list may lack its groups yet), as Kafka answers ListGroups.
    pub fn list(&self, broker: &Broker) -> (ErrorCode, Vec<Listed>) {
        let loading = self.registry().ownership.is_loading();
        let mut listed: Vec<Listed> = self
            .cells(broker)
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
        let error = if loading {
            ErrorCode::CoordinatorLoadInProgress
        } else {
            ErrorCode::None
        };
        (error, listed)
    }

    /// Every committed offset of the served groups: (group, topic, partition, offset), for
    /// the consumer lag metrics.
    pub fn committed_offsets(&self, broker: &Broker) -> Vec<(String, String, i32, i64)> {
        let mut offsets = Vec::new();
        for cell in self.cells(broker) {
            if cell.is_removed() {
                continue;
            }
            let s = cell.lock();
            for ((topic, partition), value) in &s.group.offsets {
                offsets.push((s.group.id.clone(), topic.clone(), *partition, value.offset));
            }
        }
        offsets.sort();
        offsets
    }

    /// The group's protocol type and selected protocol (SyncGroup v5 repeats them).
    pub fn protocol_of(&self, broker: &Broker, group_id: &str) -> (Option<String>, Option<String>) {
        self.with_group(broker, group_id, None, |_, s| {
            (
                s.group.protocol_type().map(str::to_string),
                s.group.protocol().map(str::to_string),
            )
        })
        .ok()
        .flatten()
        .unwrap_or((None, None))
    }

    /// A copy of a group for DescribeGroups (`None`: no such group here).
    pub fn snapshot(&self, broker: &Broker, group_id: &str) -> Result<Option<Group>, ErrorCode> {
        self.with_group(broker, group_id, None, |_, s| s.group.clone())
    }
}

/// Whether this broker leads `partition` of `__consumer_offsets` now.
fn leads(broker: &Broker, partition: i32) -> bool {
    broker
        .replica_manager
        .partition(OFFSETS_TOPIC, partition)
        .is_some_and(|p| p.is_leader())
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
