//! The controller (Kafka 2.x's `KafkaController` on ZooKeeper): one broker at a time, elected
//! through `/controller` and fenced by `/controller_epoch`, decides every partition's leader
//! and ISR, writes them to the partition state znodes with conditional writes behind its
//! epoch fence, and tells brokers with LeaderAndIsr and UpdateMetadata.
//!
//! | file | concept |
//! |---|---|
//! | this file | the election loop and the active controller's event loop |
//! | `context` | the controller's picture of the cluster; leader election rules (pure) |
//! | `assignment` | replica placement for new topics and partitions (pure) |
//! | `channel` | ordered, retried requests to each live broker |
//! | `mailbox` | requests only the controller carries out, queued from request handlers |
//! | `shutdown` | controlled shutdown: a stopping broker's leaderships moved first |
//! | `liveness` | a broker whose process died noticed before its session expires |
//! | `elections` | preferred and unclean elections on request, automatic leader rebalance |
//! | `reassignment` | `/admin/reassign_partitions` and the reassignment APIs: copy to new replicas, then drop old ones; cancel |
//!
//! Events (each a ZooKeeper watch, re-armed when it fires): brokers coming and going
//! (`/brokers/ids`), topics created and deleted (`/brokers/topics`), ISR changes made by
//! leaders (`/isr_change_notification`), partitions added to a topic (a data watch on each
//! `/brokers/topics/<t>`), and the loss of the controllership itself (`/controller`, or the
//! session). Partitions no live replica could lead are retried periodically. Any ZooKeeper
//! failure ends the active run; the loop
//! then starts over and reloads everything, which is always safe: every decision is
//! recomputed from ZooKeeper.

pub mod assignment;
mod channel;
mod context;
mod elections;
mod liveness;
pub mod mailbox;
mod reassignment;
mod shutdown;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ferry_kafka_protocol::messages::leader_and_isr::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrRequest, LeaderAndIsrTopicState,
};
use ferry_kafka_protocol::messages::stop_replica::{
    StopReplicaPartitionState, StopReplicaRequest, StopReplicaTopicState,
};
use ferry_kafka_protocol::messages::update_metadata::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataRequest, UpdateMetadataTopicState,
};

use crate::broker::Broker;
use crate::metadata_cache::LEADER_DURING_DELETE;
use crate::zk::{paths, ControllerEpoch, Election, KafkaZk, LeaderAndIsr, ZkError};

pub use assignment::assign_randomly;
use channel::{ControlRequest, ControllerChannel};
use context::{elect, initial_state, ControllerContext, Decision, StateAt};
use liveness::{ControllerProbe, LivenessProbes};
pub use mailbox::{ControllerCommand, ControllerMailbox, ElectionType};
use reassignment::Moving;

/// Pause before starting over after a failure.
const RETRY_BACKOFF: Duration = Duration::from_millis(500);
/// How often partitions without a state (no live replica when they were made) are retried.
const RECONCILE_INTERVAL: Duration = Duration::from_secs(2);

/// Runs for controller whenever there is none, and acts as controller while elected. Ends
/// with the broker.
pub(crate) async fn run(broker: Weak<Broker>) {
    loop {
        let Some(b) = broker.upgrade() else { return };
        if b.zk.is_closed() {
            return;
        }
        if let Err(error) = round(&b).await {
            tracing::warn!(%error, "controller: starting over");
            drop(b);
            tokio::time::sleep(RETRY_BACKOFF).await;
        }
    }
}

/// One round: act as controller if this session holds `/controller`, else elect if nobody
/// does, else wait for a change.
async fn round(b: &Arc<Broker>) -> Result<(), ZkError> {
    let zk = b.zk.get();
    let mut sessions = b.zk.sessions();
    let mut watch = zk.watch_controller().await?;
    match watch.value {
        None => {
            match zk.elect_controller(b.id()).await? {
                Election::Won(fence) => {
                    tracing::info!(epoch = fence.epoch, "elected controller");
                    b.won_controllership(fence);
                }
                Election::Lost { controller } => b.set_controller_id(controller.unwrap_or(-1)),
            }
            Ok(())
        }
        Some(id) if id == b.id() && b.controller_fence().is_some() => {
            let Some(fence) = b.controller_fence() else {
                return Ok(());
            };
            let commands = b.controller_mailbox.open();
            let mut active = Active::new(b, zk, fence, commands);
            let outcome = active.run(&mut watch, &mut sessions).await;
            b.controller_mailbox.close();
            tracing::info!("no longer acting as controller");
            b.lost_controllership();
            outcome
        }
        Some(id) => {
            b.set_controller_id(id);
            let seen = zk.get_controller_epoch().await?;
            let address = match id == b.id() {
                true => None,
                false => zk
                    .get_broker_with_epoch(id)
                    .await?
                    .and_then(|(info, _)| info.endpoints.first().cloned())
                    .map(|e| (id, format!("{}:{}", e.host, e.port))),
            };
            let mut probe = ControllerProbe::start(address);
            tokio::select! {
                _ = watch.changed() => {}
                _ = sessions.changed() => {}
                () = probe.gone() => {
                    if let Some(seen) = seen {
                        if zk.depose_controller(&seen).await? {
                            tracing::warn!(controller = id, epoch = seen.epoch,
                                "the controller's process is gone: /controller deleted for a new election");
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

/// The controller while it is active.
struct Active {
    broker: Weak<Broker>,
    me: i32,
    zk: KafkaZk,
    fence: ControllerEpoch,
    unclean: bool,
    ctx: ControllerContext,
    channel: ControllerChannel,
    /// Brokers that asked for a controlled shutdown or whose process is gone (see
    /// `liveness`): never elected leader again until they re-register.
    shutting_down: BTreeSet<i32>,
    /// Each live broker's registration epoch (the czxid of its `/brokers/ids` node).
    epochs: BTreeMap<i32, i64>,
    probes: LivenessProbes,
    commands: tokio::sync::mpsc::UnboundedReceiver<ControllerCommand>,
    /// Partitions being reassigned.
    reassigning: BTreeMap<(String, i32), Moving>,
    /// One task per topic waiting on its assignment's data watch; they end with the run.
    assignment_watches: tokio::task::JoinSet<()>,
    assignment_changes: (
        tokio::sync::mpsc::UnboundedSender<String>,
        tokio::sync::mpsc::UnboundedReceiver<String>,
    ),
}

impl Active {
    fn new(
        b: &Arc<Broker>,
        zk: KafkaZk,
        fence: ControllerEpoch,
        commands: tokio::sync::mpsc::UnboundedReceiver<ControllerCommand>,
    ) -> Self {
        Active {
            broker: Arc::downgrade(b),
            me: b.id(),
            zk,
            fence,
            unclean: b.config.replication.unclean_leader_election,
            ctx: ControllerContext::default(),
            channel: ControllerChannel::new(Arc::downgrade(b)),
            shutting_down: BTreeSet::new(),
            epochs: BTreeMap::new(),
            probes: LivenessProbes::new(b.id()),
            commands,
            reassigning: BTreeMap::new(),
            assignment_watches: tokio::task::JoinSet::new(),
            assignment_changes: tokio::sync::mpsc::unbounded_channel(),
        }
    }

    async fn run(
        &mut self,
        controller: &mut crate::zk::ControllerWatch,
        sessions: &mut tokio::sync::watch::Receiver<u64>,
    ) -> Result<(), ZkError> {
        let mut brokers = self.zk.watch_broker_ids().await?;
        let mut topics = self.zk.watch_topics().await?;
        let mut isr_changes = self
            .zk
            .watch_children(paths::ISR_CHANGE_NOTIFICATION)
            .await?;
        let mut preferred = self.zk.watch_preferred_election().await?;
        let mut reassignments = self.zk.watch_reassignments().await?;
        self.failover(&brokers.value).await?;
        self.isr_changed(&isr_changes.value).await?;
        self.preferred_requested(preferred.value.take()).await?;
        self.reassignments_requested(reassignments.value.take())
            .await?;
        let mut reconcile = tokio::time::interval(RECONCILE_INTERVAL);
        reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rebalance = tokio::time::interval(self.rebalance_interval());
        rebalance.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        rebalance.tick().await;
        loop {
            if self.broker.strong_count() == 0 {
                return Ok(());
            }
            tokio::select! {
                _ = controller.changed() => return Ok(()),
                _ = sessions.changed() => return Ok(()),
                _ = brokers.changed() => {
                    brokers = self.zk.watch_broker_ids().await?;
                    self.brokers_changed(&brokers.value).await?;
                }
                _ = topics.changed() => {
                    topics = self.zk.watch_topics().await?;
                    self.topics_changed(&topics.value).await?;
                }
                _ = isr_changes.changed() => {
                    isr_changes = self.zk.watch_children(paths::ISR_CHANGE_NOTIFICATION).await?;
                    self.isr_changed(&isr_changes.value).await?;
                }
                Some(topic) = self.assignment_changes.1.recv() => {
                    if self.ctx.assignments.contains_key(&topic) {
                        let added = self.load_topic(&topic).await?;
                        self.partitions_added(&added, &[]).await?;
                    }
                }
                _ = reconcile.tick() => {
                    self.retry_leaderless().await?;
                    self.advance_reassignments().await?;
                }
                _ = rebalance.tick() => self.rebalance_leaders().await?,
                _ = preferred.changed() => {
                    preferred = self.zk.watch_preferred_election().await?;
                    self.preferred_requested(preferred.value.take()).await?;
                }
                _ = reassignments.changed() => {
                    reassignments = self.zk.watch_reassignments().await?;
                    self.reassignments_requested(reassignments.value.take()).await?;
                }
                Some(command) = self.commands.recv() => self.command(command).await?,
                Some((id, epoch)) = self.probes.gone.recv() => self.process_gone(id, epoch).await?,
            }
        }
    }

    /// Becoming controller: everything read from ZooKeeper, leaders elected where needed,
    /// and every broker told the whole state.
    async fn failover(&mut self, ids: &[i32]) -> Result<(), ZkError> {
        self.set_live(ids).await?;
        for topic in self.zk.list_topics().await? {
            self.load_topic(&topic).await?;
        }
        let all = self.ctx.partitions();
        self.elect_and_write(&all).await?;
        // LeaderAndIsr first, as Kafka: a broker hosts a partition before Metadata names it.
        let live: Vec<i32> = self.ctx.live.keys().copied().collect();
        self.send_leader_and_isr(&all, &live);
        self.publish_metadata(&all, &[]);
        tracing::info!(
            epoch = self.fence.epoch,
            brokers = ?live,
            partitions = all.len(),
            "controller state loaded and sent"
        );
        Ok(())
    }

    /// Reads the live brokers' registrations; returns those that registered again since the
    /// last read (a restart the watch saw as no change).
    async fn set_live(&mut self, ids: &[i32]) -> Result<Vec<i32>, ZkError> {
        let mut live = BTreeMap::new();
        let mut epochs = BTreeMap::new();
        for id in ids {
            if let Some((info, epoch)) = self.zk.get_broker_with_epoch(*id).await? {
                live.insert(*id, info);
                epochs.insert(*id, epoch);
            }
        }
        let bounced = epochs
            .iter()
            .filter(|(id, epoch)| self.epochs.get(id).is_some_and(|before| before != *epoch))
            .map(|(id, _)| *id)
            .collect();
        self.ctx.live = live;
        self.epochs = epochs;
        self.channel.set_brokers(&self.ctx.live);
        self.probes.set_brokers(&self.ctx.live, &self.epochs);
        Ok(bounced)
    }

    /// A broker's process is gone (its port refuses connections) while its session lives on:
    /// its leaderships move as in a controlled shutdown, now rather than at session expiry.
    async fn process_gone(&mut self, id: i32, epoch: i64) -> Result<(), ZkError> {
        if self.epochs.get(&id) != Some(&epoch) || self.shutting_down.contains(&id) {
            return Ok(());
        }
        tracing::warn!(
            broker = id,
            "moving the leaderships of a broker whose process is gone, before its session expires"
        );
        self.move_leaderships_off(id, "process gone").await?;
        Ok(())
    }

    /// Reads a topic's assignment and its partitions' states into the context; returns the
    /// partitions it did not know.
    async fn load_topic(&mut self, topic: &str) -> Result<Vec<(String, i32)>, ZkError> {
        if self.zk.is_marked_for_deletion(topic).await? {
            return Ok(Vec::new());
        }
        let mut watch = self.zk.watch_topic_assignment(topic).await?;
        let Some(assignment) = watch.value.take() else {
            return Ok(Vec::new());
        };
        let changes = self.assignment_changes.0.clone();
        let name = topic.to_string();
        self.assignment_watches.spawn(async move {
            if watch.changed().await {
                let _ = changes.send(name);
            }
        });
        let replicas = assignment.value.replicas();
        let known = self.ctx.assignments.get(topic).cloned().unwrap_or_default();
        let mut added = Vec::new();
        for p in replicas.keys() {
            if !known.contains_key(p) {
                added.push((topic.to_string(), *p));
            }
            if let Some(state) = self.zk.get_partition_state(topic, *p).await? {
                self.ctx.states.insert(
                    (topic.to_string(), *p),
                    StateAt {
                        state: state.value,
                        zk_version: state.zk_version,
                    },
                );
            }
        }
        self.ctx.assignments.insert(topic.to_string(), replicas);
        Ok(added)
    }

    async fn brokers_changed(&mut self, ids: &[i32]) -> Result<(), ZkError> {
        let before = self.ctx.live_ids();
        let bounced = self.set_live(ids).await?;
        let after = self.ctx.live_ids();
        // A restarted broker lost what its old process led and followed (Kafka's bounced
        // brokers): first as a failure, then as a start.
        for id in &bounced {
            tracing::info!(broker = id, "broker restarted under a new registration");
            if !self.shutting_down.contains(id) {
                self.move_leaderships_off(*id, "restarted").await?;
            }
        }
        // A broker that went (or came back) is no longer shutting down.
        self.shutting_down
            .retain(|id| after.contains(id) && before.contains(id) && !bounced.contains(id));
        let mut added: Vec<i32> = after.difference(&before).copied().collect();
        added.extend(&bounced);
        let removed: Vec<i32> = before.difference(&after).copied().collect();
        if added.is_empty() && removed.is_empty() {
            return Ok(());
        }
        tracing::info!(?added, ?removed, "live brokers changed");
        let all = self.ctx.partitions();
        let changed = self.elect_and_write(&all).await?;
        let live: Vec<i32> = after.iter().copied().collect();
        self.send_leader_and_isr(&changed, &live);
        // A broker that (re)joined learns every partition it hosts.
        for id in added {
            let hosted = self.ctx.partitions_on(id);
            self.send_leader_and_isr(&hosted, &[id]);
        }
        self.publish_metadata(&all, &[]);
        Ok(())
    }

    async fn topics_changed(&mut self, listed: &[String]) -> Result<(), ZkError> {
        let mut added = Vec::new();
        for topic in listed {
            if !self.ctx.assignments.contains_key(topic) {
                added.extend(self.load_topic(topic).await?);
            }
        }
        let gone: Vec<String> = self
            .ctx
            .assignments
            .keys()
            .filter(|t| !listed.contains(t))
            .cloned()
            .collect();
        let mut deleted = Vec::new();
        for topic in &gone {
            if let Some(parts) = self.ctx.assignments.remove(topic) {
                for p in parts.keys() {
                    self.ctx.states.remove(&(topic.clone(), *p));
                    deleted.push((topic.clone(), *p));
                }
            }
        }
        if !deleted.is_empty() {
            self.stop_replicas(&deleted);
        }
        self.partitions_added(&added, &deleted).await
    }

    /// Elects and announces new partitions (and deletions, if any).
    async fn partitions_added(
        &mut self,
        added: &[(String, i32)],
        deleted: &[(String, i32)],
    ) -> Result<(), ZkError> {
        if added.is_empty() && deleted.is_empty() {
            return Ok(());
        }
        self.elect_and_write(added).await?;
        let live: Vec<i32> = self.ctx.live.keys().copied().collect();
        self.send_leader_and_isr(added, &live);
        self.publish_metadata(added, deleted);
        Ok(())
    }

    /// Partitions that could not be elected before (no live replica) may be now.
    async fn retry_leaderless(&mut self) -> Result<(), ZkError> {
        let leaderless: Vec<(String, i32)> = self
            .ctx
            .partitions()
            .into_iter()
            .filter(|k| !self.ctx.states.contains_key(k))
            .collect();
        self.partitions_added(&leaderless, &[]).await
    }

    async fn isr_changed(&mut self, names: &[String]) -> Result<(), ZkError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut touched = BTreeSet::new();
        for name in names {
            if let Some(partitions) = self.zk.get_isr_change(name).await? {
                touched.extend(partitions.into_iter().map(|p| (p.topic, p.partition)));
            }
        }
        let mut refreshed = Vec::new();
        for (topic, p) in touched {
            if !self.ctx.assignments.contains_key(&topic) {
                continue;
            }
            if let Some(state) = self.zk.get_partition_state(&topic, p).await? {
                self.ctx.states.insert(
                    (topic.clone(), p),
                    StateAt {
                        state: state.value,
                        zk_version: state.zk_version,
                    },
                );
                refreshed.push((topic, p));
            }
        }
        self.zk.delete_isr_changes(names, Some(&self.fence)).await?;
        self.publish_metadata(&refreshed, &[]);
        // A reassignment waits for its new replicas to join the ISR.
        self.advance_reassignments().await
    }

    /// Elects leaders for `partitions` where needed and writes the new states; returns the
    /// partitions whose state changed.
    async fn elect_and_write(
        &mut self,
        partitions: &[(String, i32)],
    ) -> Result<Vec<(String, i32)>, ZkError> {
        let live = self.eligible();
        let mut changed = Vec::new();
        for key in partitions {
            let replicas = self.ctx.replicas(&key.0, key.1).to_vec();
            let written = match self.ctx.states.get(key).cloned() {
                None => self.create_state(key, &replicas, &live).await?,
                Some(current) => self.update_state(key, current, &replicas, &live).await?,
            };
            if let Some(at) = written {
                self.ctx.states.insert(key.clone(), at);
                changed.push(key.clone());
            }
        }
        Ok(changed)
    }

    async fn create_state(
        &self,
        (topic, p): &(String, i32),
        replicas: &[i32],
        live: &BTreeSet<i32>,
    ) -> Result<Option<StateAt>, ZkError> {
        let Some(state) = initial_state(replicas, live, self.fence.epoch) else {
            return Ok(None);
        };
        match self
            .zk
            .create_partition_state(topic, *p, &state, Some(&self.fence))
            .await
        {
            Ok(zk_version) => Ok(Some(StateAt { state, zk_version })),
            // Written before (by a previous controller): take it as it is, and elect on it.
            Err(ZkError::NodeExists { .. }) => {
                match self.zk.get_partition_state(topic, *p).await? {
                    Some(existing) => {
                        let at = StateAt {
                            state: existing.value,
                            zk_version: existing.zk_version,
                        };
                        let key = (topic.clone(), *p);
                        Box::pin(self.update_state(&key, at.clone(), replicas, live))
                            .await
                            .map(|w| w.or(Some(at)))
                    }
                    None => Ok(None),
                }
            }
            Err(ZkError::UnknownTopic { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Elects on `current` (see [`Active::write_decided`]).
    async fn update_state(
        &self,
        key: &(String, i32),
        current: StateAt,
        replicas: &[i32],
        live: &BTreeSet<i32>,
    ) -> Result<Option<StateAt>, ZkError> {
        let mut current = current;
        let (unclean, epoch) = (self.unclean, self.fence.epoch);
        self.write_decided(key, &mut current, |state| {
            match elect(state, replicas, live, unclean, epoch) {
                Decision::Keep => None,
                Decision::Write(next) => Some(next),
            }
        })
        .await
    }

    /// Writes the state `decide` makes of the current one (`None`: no change), conditionally
    /// on its znode version; a state changed meanwhile by its leader (an ISR change) is read
    /// again and decided on once more.
    async fn write_decided(
        &self,
        (topic, p): &(String, i32),
        current: &mut StateAt,
        decide: impl Fn(&LeaderAndIsr) -> Option<LeaderAndIsr>,
    ) -> Result<Option<StateAt>, ZkError> {
        for _ in 0..3 {
            let Some(next) = decide(&current.state) else {
                return Ok(None);
            };
            match self
                .zk
                .update_partition_state(topic, *p, &next, current.zk_version, Some(&self.fence))
                .await
            {
                Ok(zk_version) => {
                    tracing::info!(%topic, partition = p, leader = next.leader,
                        epoch = next.leader_epoch, isr = ?next.isr, "partition state changed");
                    return Ok(Some(StateAt {
                        state: next,
                        zk_version,
                    }));
                }
                Err(ZkError::StaleVersion { .. }) => {
                    let Some(fresh) = self.zk.get_partition_state(topic, *p).await? else {
                        return Ok(None);
                    };
                    *current = StateAt {
                        state: fresh.value,
                        zk_version: fresh.zk_version,
                    };
                }
                Err(error) => return Err(error),
            }
        }
        Err(ZkError::StaleVersion {
            path: paths::partition_state(topic, *p),
            expected: current.zk_version,
        })
    }

    /// The brokers that may lead: live, and not shutting down.
    fn eligible(&self) -> BTreeSet<i32> {
        self.ctx
            .live_ids()
            .difference(&self.shutting_down)
            .copied()
            .collect()
    }

    /// Tells the replicas of `changed` partitions their new state, and every broker.
    fn announce(&self, changed: &[(String, i32)]) {
        if changed.is_empty() {
            return;
        }
        let live: Vec<i32> = self.ctx.live.keys().copied().collect();
        self.send_leader_and_isr(changed, &live);
        self.publish_metadata(changed, &[]);
    }

    async fn command(&mut self, command: ControllerCommand) -> Result<(), ZkError> {
        match command {
            ControllerCommand::ControlledShutdown { broker_id, reply } => {
                let remaining = self
                    .move_leaderships_off(broker_id, "controlled shutdown")
                    .await?;
                let _ = reply.send(remaining);
            }
            ControllerCommand::ElectLeaders {
                partitions,
                election,
                reply,
            } => {
                let outcomes = self.elect_leaders(partitions, election).await?;
                let _ = reply.send(outcomes);
            }
            ControllerCommand::AlterReassignments { changes, reply } => {
                let outcomes = self.alter_reassignments(changes).await?;
                let _ = reply.send(outcomes);
            }
            ControllerCommand::ListReassignments { partitions, reply } => {
                let _ = reply.send(self.list_reassignments(partitions.as_deref()));
            }
        }
        Ok(())
    }

    /// UpdateMetadata to every live broker: `partitions` as they are, `deleted` as deleted.
    fn publish_metadata(&self, partitions: &[(String, i32)], deleted: &[(String, i32)]) {
        let mut topics: BTreeMap<String, Vec<UpdateMetadataPartitionState>> = BTreeMap::new();
        for key in partitions {
            let Some(at) = self.ctx.states.get(key) else {
                continue;
            };
            topics
                .entry(key.0.clone())
                .or_default()
                .push(UpdateMetadataPartitionState {
                    partition_index: key.1,
                    controller_epoch: at.state.controller_epoch,
                    leader: at.state.leader,
                    leader_epoch: at.state.leader_epoch,
                    isr: at.state.isr.clone(),
                    zk_version: at.zk_version,
                    replicas: self.ctx.replicas(&key.0, key.1).to_vec(),
                    offline_replicas: self.ctx.offline_replicas(&key.0, key.1),
                    ..Default::default()
                });
        }
        for (topic, p) in deleted {
            topics
                .entry(topic.clone())
                .or_default()
                .push(UpdateMetadataPartitionState {
                    partition_index: *p,
                    controller_epoch: self.fence.epoch,
                    leader: LEADER_DURING_DELETE,
                    ..Default::default()
                });
        }
        let request = UpdateMetadataRequest {
            controller_id: self.me,
            controller_epoch: self.fence.epoch,
            topic_states: topics
                .into_iter()
                .map(|(topic_name, partition_states)| UpdateMetadataTopicState {
                    topic_name,
                    partition_states,
                    ..Default::default()
                })
                .collect(),
            live_brokers: self.ctx.live.values().map(live_broker).collect(),
            ..Default::default()
        };
        for id in self.ctx.live.keys() {
            self.channel
                .send(*id, ControlRequest::UpdateMetadata(request.clone()));
        }
    }

    /// LeaderAndIsr for `partitions` to each of `to` that hosts some of them.
    fn send_leader_and_isr(&self, partitions: &[(String, i32)], to: &[i32]) {
        for broker in to {
            let mut topics: BTreeMap<String, Vec<LeaderAndIsrPartitionState>> = BTreeMap::new();
            let mut leaders = BTreeSet::new();
            for key in partitions {
                let replicas = self.ctx.replicas(&key.0, key.1);
                let Some(at) = self.ctx.states.get(key) else {
                    continue;
                };
                if !replicas.contains(broker) {
                    continue;
                }
                leaders.insert(at.state.leader);
                topics
                    .entry(key.0.clone())
                    .or_default()
                    .push(partition_state(key.1, at, replicas));
            }
            if topics.is_empty() {
                continue;
            }
            let request = LeaderAndIsrRequest {
                controller_id: self.me,
                controller_epoch: self.fence.epoch,
                topic_states: topics
                    .into_iter()
                    .map(|(topic_name, partition_states)| LeaderAndIsrTopicState {
                        topic_name,
                        partition_states,
                        ..Default::default()
                    })
                    .collect(),
                live_leaders: leaders
                    .iter()
                    .filter_map(|id| self.ctx.live.get(id))
                    .filter_map(|info| {
                        let e = info.endpoints.first()?;
                        Some(LeaderAndIsrLiveLeader {
                            broker_id: info.id,
                            host_name: e.host.clone(),
                            port: e.port,
                            ..Default::default()
                        })
                    })
                    .collect(),
                ..Default::default()
            };
            self.channel
                .send(*broker, ControlRequest::LeaderAndIsr(request));
        }
    }

    /// StopReplica with deletion to every live broker for a deleted topic's partitions.
    fn stop_replicas(&self, partitions: &[(String, i32)]) {
        let live: Vec<i32> = self.ctx.live.keys().copied().collect();
        self.stop_replicas_on(partitions, &live);
    }

    /// StopReplica with deletion of `partitions` to the live brokers among `to`.
    fn stop_replicas_on(&self, partitions: &[(String, i32)], to: &[i32]) {
        let mut topics: BTreeMap<String, Vec<StopReplicaPartitionState>> = BTreeMap::new();
        for (topic, p) in partitions {
            topics
                .entry(topic.clone())
                .or_default()
                .push(StopReplicaPartitionState {
                    partition_index: *p,
                    leader_epoch: -1,
                    delete_partition: true,
                    ..Default::default()
                });
        }
        let request = StopReplicaRequest {
            controller_id: self.me,
            controller_epoch: self.fence.epoch,
            topic_states: topics
                .into_iter()
                .map(|(topic_name, partition_states)| StopReplicaTopicState {
                    topic_name,
                    partition_states,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        for id in to.iter().filter(|id| self.ctx.live.contains_key(id)) {
            self.channel
                .send(*id, ControlRequest::StopReplica(request.clone()));
        }
    }
}

fn partition_state(partition: i32, at: &StateAt, replicas: &[i32]) -> LeaderAndIsrPartitionState {
    let LeaderAndIsr {
        leader,
        leader_epoch,
        isr,
        controller_epoch,
    } = at.state.clone();
    LeaderAndIsrPartitionState {
        partition_index: partition,
        controller_epoch,
        leader,
        leader_epoch,
        isr,
        partition_epoch: at.zk_version,
        replicas: replicas.to_vec(),
        ..Default::default()
    }
}

fn live_broker(info: &crate::zk::BrokerInfo) -> UpdateMetadataBroker {
    UpdateMetadataBroker {
        id: info.id,
        endpoints: info
            .endpoints
            .iter()
            .map(|e| UpdateMetadataEndpoint {
                port: e.port,
                host: e.host.clone(),
                listener: e.listener.clone(),
                security_protocol: 0,
                ..Default::default()
            })
            .collect(),
        rack: info.rack.clone(),
        ..Default::default()
    }
}
