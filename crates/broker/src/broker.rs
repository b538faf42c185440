//! One broker: its configuration, its ZooKeeper session, its logs, and the cluster facts the
//! request handlers answer with.
//!
//! Startup follows a Kafka 2.x broker's order: open the ZooKeeper session, make the persistent
//! paths, read (or create) the cluster id, register under `/brokers/ids`, run for controller,
//! then learn the topics and start the controller task (`crate::controller`), which on the
//! elected broker decides every partition's leader and ISR and tells the brokers (this one
//! in-process). What a broker leads or follows is what the controller's LeaderAndIsr said
//! (`crate::replica`); what it tells clients is what its UpdateMetadata said
//! (`crate::metadata_cache`). A single broker is a cluster of one on the same code paths.
//!
//! Afterwards the broker follows ZooKeeper: when its session expires it opens a new one,
//! registers again (replacing the old session's node if the server still holds it) and runs for
//! controller again, serving clients all along; and it watches `/brokers/topics`, so topics
//! created elsewhere are served and deleted ones dropped without a restart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use ferry_zkclient::{EventType, Events, KeeperState};
use tokio::sync::watch;

use crate::admin::AdminState;
use crate::config::BrokerConfig;
use crate::groups::{CoordinatorConfig, GroupCoordinator, GroupLimits};
use crate::metadata_cache::MetadataCache;
use crate::net::NetState;
use crate::periodic::every;
use crate::producers::{ProducerIds, ProducerRegistry};
use crate::replica::{HighWatermarks, ReplicaManager};
use crate::replicas::Replicas;
use crate::topic_config::EffectiveConfig;
use crate::zk::{
    BrokerInfo, ControllerEpoch, Election, EndPoint, KafkaZk, Registration, TopicAssignment,
    ZkError,
};

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("ZooKeeper: {0}")]
    Zk(#[from] ZkError),
    #[error("creating log directory {path}: {source}")]
    LogDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("loading consumer groups: {0}")]
    Groups(#[from] crate::groups::StoreError),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// The broker's current ZooKeeper session. An expired session is replaced by a new one (see
/// [`Broker::start`]); [`CurrentZk::get`] always hands out the latest.
pub struct CurrentZk {
    session: RwLock<KafkaZk>,
    /// Set by [`CurrentZk::close`]: no new session is opened after that.
    closed: AtomicBool,
    /// Bumped each time a new session replaces an expired one.
    generation: watch::Sender<u64>,
}

impl CurrentZk {
    fn new(zk: KafkaZk) -> Self {
        CurrentZk {
            session: RwLock::new(zk),
            closed: AtomicBool::new(false),
            generation: watch::Sender::new(0),
        }
    }

    /// The session in use now (a cheap handle).
    pub fn get(&self) -> KafkaZk {
        self.session
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, zk: KafkaZk) {
        *self.session.write().unwrap_or_else(PoisonError::into_inner) = zk;
        self.generation.send_modify(|g| *g += 1);
    }

    /// Closes the session for good (the server drops the registration and `/controller`).
    pub async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.get().close().await;
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Changes each time a new session replaces an expired one (watches must be set again).
    pub(crate) fn sessions(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

/// The state shared by every connection of one broker.
pub struct Broker {
    pub config: BrokerConfig,
    pub zk: CurrentZk,
    pub cluster_id: String,
    pub replicas: Replicas,
    /// The partitions hosted here, led or followed (see [`crate::replica`]).
    pub replica_manager: ReplicaManager,
    /// The cluster as the controller last published it.
    pub metadata: MetadataCache,
    /// Requests for this broker's controller, while it is the active one.
    pub(crate) controller_mailbox: crate::controller::ControllerMailbox,
    /// The consumer groups this broker coordinates: those of the offsets partitions it leads.
    pub groups: GroupCoordinator,
    /// Producer ids handed out by InitProducerId.
    pub producer_ids: ProducerIds,
    /// Idempotent producers' sequence state, per partition.
    pub producers: ProducerRegistry,
    controller_id: AtomicI32,
    /// The epoch (and its fence) this broker's session won the controllership in, while it
    /// holds it.
    controller_fence: Mutex<Option<ControllerEpoch>>,
    /// The registration of the current session, replaced when the broker re-registers.
    registration: Mutex<Registration>,
    /// Topic configs, deletion, partition changes (see [`crate::admin`]).
    pub(crate) admin: AdminState,
    /// The listener's quotas, memory pool and limit counters (see [`crate::net`]).
    pub net: Arc<NetState>,
    /// Traffic and ISR change counters for the metrics page.
    pub counters: crate::metrics::counters::BrokerCounters,
}

/// How long to wait between attempts to open a new session after expiry.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(500);

impl Broker {
    /// Connects to ZooKeeper, registers, and learns the topics; does not listen yet.
    ///
    /// Two tasks follow the broker from then on, each ending when the broker is dropped: one
    /// watches the session and, when it expires, opens a new one, re-registers and runs for
    /// controller again; one watches `/brokers/topics` so topics created or deleted elsewhere
    /// are served or dropped. Clients are served throughout.
    pub async fn start(config: BrokerConfig) -> Result<Arc<Self>, BrokerError> {
        Self::start_with(config, Arc::new(ferry_zkclient::TcpDialer)).await
    }

    /// [`Broker::start`] with its ZooKeeper connections opened by `dialer` (a broker embedded
    /// beside its keeper reaches it in-process).
    pub async fn start_with(
        config: BrokerConfig,
        dialer: Arc<dyn ferry_zkclient::Dialer>,
    ) -> Result<Arc<Self>, BrokerError> {
        let (zk, events) = KafkaZk::connect_with(
            &config.zookeeper_connect,
            config.zookeeper_session_timeout,
            dialer,
        )
        .await?;
        zk.ensure_persistent_paths().await?;
        let cluster_id = zk.get_or_create_cluster_id().await?;
        let info = broker_info(&config);
        let registration = register_waiting_for_expiry(&zk, &info, &config).await?;
        let (controller_id, controller_fence) = elect(&zk, config.broker_id).await?;
        let dir = config.log_dirs[0].clone();
        std::fs::create_dir_all(&dir).map_err(|source| BrokerError::LogDir {
            path: dir.clone(),
            source,
        })?;
        // Topics without overrides of their own get the broker's defaults.
        let log_config =
            EffectiveConfig::resolve(&config.topic_defaults, &BTreeMap::new()).log_config();
        let high_watermarks = HighWatermarks::load(&dir);
        let replica_manager = ReplicaManager::new(config.broker_id, high_watermarks);
        let replicas = Replicas::new(dir, log_config);
        let topics = zk.watch_topics().await?;
        let groups = GroupCoordinator::new(coordinator_config(&config));
        let net = Arc::new(NetState::new(config.socket.clone()));
        let broker = Arc::new_cyclic(|me| Broker {
            config,
            zk: CurrentZk::new(zk),
            cluster_id,
            replicas,
            replica_manager,
            metadata: MetadataCache::new(),
            controller_mailbox: Default::default(),
            groups,
            producer_ids: ProducerIds::new(),
            producers: ProducerRegistry::new(),
            controller_id: AtomicI32::new(controller_id),
            controller_fence: Mutex::new(controller_fence),
            registration: Mutex::new(registration),
            admin: AdminState::new(me.clone()),
            net,
            counters: Default::default(),
        });
        broker
            .replica_manager
            .fetchers
            .attach(Arc::downgrade(&broker));
        broker.sync_topics(&topics.value).await?;
        tokio::spawn(crate::groups::run_timers(Arc::downgrade(&broker)));
        tracing::info!(
            broker_id = broker.id(),
            cluster_id = %broker.cluster_id,
            controller_id,
            "broker started"
        );
        tokio::spawn(follow_session(Arc::downgrade(&broker), events));
        let generation = broker.zk.generation.subscribe();
        tokio::spawn(follow_topics(Arc::downgrade(&broker), topics, generation));
        crate::admin::spawn_tasks(&broker);
        tokio::spawn(crate::controller::run(Arc::downgrade(&broker)));
        // As controller it tells itself the cluster in-process: serve once it knows its
        // partitions (other brokers learn theirs over the network once they listen).
        if broker.controller_fence().is_some()
            && !broker
                .metadata
                .wait_for_broker(broker.id(), STARTUP_METADATA_TIMEOUT)
                .await
        {
            tracing::warn!("no metadata from the controller yet; serving anyway");
        }
        let replication = &broker.config.replication;
        tokio::spawn(every(
            Arc::downgrade(&broker),
            replication.lag_time_max / 2,
            "ISR expiration",
            crate::replica::isr::expire,
        ));
        tokio::spawn(every(
            Arc::downgrade(&broker),
            replication.hw_checkpoint_interval,
            "high watermark checkpoint",
            |b, _| b.replica_manager.checkpoint_high_watermarks(),
        ));
        Ok(broker)
    }

    /// The registration of the current session.
    pub fn registration(&self) -> Registration {
        *self
            .registration
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the served topics those listed in `/brokers/topics`: new ones are read and served,
    /// ones gone from ZooKeeper are dropped.
    async fn sync_topics(&self, listed: &[String]) -> Result<(), ZkError> {
        let zk = self.zk.get();
        let known = self.replicas.topics();
        for topic in listed {
            if known.contains_key(topic) {
                continue;
            }
            // A topic being deleted is not served again (its data is going).
            if zk.is_marked_for_deletion(topic).await? {
                continue;
            }
            if let Some(assignment) = zk.get_topic_assignment(topic).await? {
                let count = assignment.value.replicas().len();
                let count = i32::try_from(count).unwrap_or(i32::MAX);
                // Its config first, so that its logs open with it.
                self.reload_topic_config(&zk, topic).await?;
                self.replicas.add_topic(topic, count);
                tracing::info!(%topic, partitions = count, "topic found in ZooKeeper");
            }
        }
        for topic in known.keys() {
            // A topic created through this broker after the listing was read is not in it:
            // only drop topics whose znode is really gone.
            if !listed.contains(topic) && zk.get_topic_assignment(topic).await?.is_none() {
                self.replicas.remove_topic(topic);
                self.forget_topic_config(topic);
                self.counters.forget_topic(topic);
                tracing::info!(%topic, "topic gone from ZooKeeper, no longer served");
            }
        }
        self.follow_assignments(self.replicas.topics().keys());
        Ok(())
    }

    /// After the session expired: a new session, the registration made again (replacing the
    /// old session's node if the server still has it), and a new run for controller.
    async fn renew_session(&self) -> Result<(KafkaZk, Events), ZkError> {
        let old = self.zk.get();
        let old_session = old.session_id();
        tracing::info!(old_session, "opening a new ZooKeeper session");
        let (zk, events) = old.reconnect().await?;
        let session = zk.session_id();
        tracing::info!(session, "new ZooKeeper session opened");
        let result = async {
            zk.ensure_persistent_paths().await?;
            let previous = self.registration();
            let registration = zk
                .re_register_broker(&broker_info(&self.config), &previous)
                .await?;
            tracing::info!(
                broker_id = self.id(),
                session,
                broker_epoch = registration.czxid,
                "broker re-registered"
            );
            let (controller_id, fence) = elect(&zk, self.id()).await?;
            tracing::info!(
                controller_id,
                epoch = fence.map(|f| f.epoch),
                "ran for controller on the new session"
            );
            Ok((registration, controller_id, fence))
        }
        .await;
        match result {
            Ok((registration, controller_id, fence)) => {
                *self
                    .registration
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = registration;
                self.controller_id.store(controller_id, Ordering::Relaxed);
                *lock(&self.controller_fence) = fence;
                self.zk.replace(zk.clone());
                Ok((zk, events))
            }
            Err(error) => {
                zk.close().await;
                Err(error)
            }
        }
    }
    pub fn id(&self) -> i32 {
        self.config.broker_id
    }

    pub fn controller_id(&self) -> i32 {
        self.controller_id.load(Ordering::Relaxed)
    }

    /// The first half of a clean stop: with `controlled.shutdown.enable`, asks the controller
    /// to move this broker's leaderships away (so clients switch leaders now, not when the
    /// session expires), having stopped fetching. Clients are still served meanwhile, as Kafka
    /// stops its socket server only after this: they can still reach the leaders that are
    /// moving, and a stopping controller's port stays open, so that the other brokers do not
    /// take it for dead (see `controller::liveness`). Then call [`Broker::close`].
    pub async fn hand_over(self: &Arc<Self>) {
        // Fetching stops first: a follower that kept fetching would catch up and be taken
        // back into the ISRs the controller is about to remove it from.
        self.replica_manager.fetchers.shutdown();
        if self.config.replication.controlled_shutdown {
            crate::controlled_shutdown::request(self).await;
        }
    }

    /// The second half of a clean stop, once no client is accepted any more: checkpoints high
    /// watermarks, closes the logs and the ZooKeeper session (which removes the registration
    /// at once).
    pub async fn close(self: &Arc<Self>) {
        let me = Arc::clone(self);
        let _ = tokio::task::spawn_blocking(move || {
            me.replica_manager.checkpoint_high_watermarks();
            me.replicas.close();
        })
        .await;
        self.zk.close().await;
    }

    /// Whether this broker is the controller (it carries out deletions).
    pub(crate) fn is_controller(&self) -> bool {
        self.controller_id() == self.id()
    }

    /// The controller's epoch fence, while this broker's session is the controller.
    pub(crate) fn controller_fence(&self) -> Option<ControllerEpoch> {
        *lock(&self.controller_fence)
    }

    pub(crate) fn won_controllership(&self, fence: ControllerEpoch) {
        *lock(&self.controller_fence) = Some(fence);
        self.controller_id.store(self.id(), Ordering::Relaxed);
    }

    pub(crate) fn lost_controllership(&self) {
        *lock(&self.controller_fence) = None;
    }

    /// Who is controller, as last heard (UpdateMetadata or `/controller`).
    pub(crate) fn set_controller_id(&self, id: i32) {
        self.controller_id.store(id, Ordering::Relaxed);
    }

    /// Creates a topic with the broker's default replication factor.
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<(), ZkError> {
        let rf = i32::from(self.config.default_replication_factor);
        self.create_topic_with_config(name, partitions, rf, &BTreeMap::new())
            .await
    }

    /// Creates a topic as Kafka's AdminZkClient does: replicas placed over the live brokers,
    /// the assignment and config overrides (already validated) written to ZooKeeper. The
    /// controller then elects leaders and tells the replicas; this waits (a bounded time)
    /// until the controller has published a leader for every partition.
    pub async fn create_topic_with_config(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i32,
        config: &BTreeMap<String, String>,
    ) -> Result<(), ZkError> {
        let brokers = self.live_brokers_with_racks().await?;
        let replicas =
            crate::controller::assign_randomly(0, partitions, replication_factor, &brokers)
                .map_err(|e| ZkError::InvalidReplicaAssignment {
                    topic: name.to_string(),
                    message: e.to_string(),
                })?;
        self.create_topic_assigned(name, replicas, config).await
    }

    /// [`Broker::create_topic_with_config`] with the replicas given.
    pub async fn create_topic_assigned(
        &self,
        name: &str,
        replicas: BTreeMap<i32, Vec<i32>>,
        config: &BTreeMap<String, String>,
    ) -> Result<(), ZkError> {
        let partitions = i32::try_from(replicas.len()).unwrap_or(i32::MAX);
        let assignment = TopicAssignment::new(replicas);
        let zk = self.zk.get();
        zk.create_topic(name, &assignment, config).await?;
        self.apply_topic_overrides(name, config.clone());
        self.replicas.add_topic(name, partitions);
        self.follow_assignments([&name.to_string()]);
        tracing::info!(topic = name, partitions, "topic created");
        if !self
            .metadata
            .wait_for_leaders(name, partitions, TOPIC_READY_TIMEOUT)
            .await
        {
            tracing::warn!(topic = name, "no leader published yet for every partition");
        }
        Ok(())
    }

    /// The live brokers: as the controller published them, or as registered in ZooKeeper
    /// before the first publication.
    pub(crate) async fn live_broker_ids(&self) -> Result<Vec<i32>, ZkError> {
        Ok(self
            .live_brokers_with_racks()
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }

    /// [`Broker::live_broker_ids`] with each broker's `broker.rack`, for replica placement.
    pub(crate) async fn live_brokers_with_racks(
        &self,
    ) -> Result<Vec<crate::controller::assignment::RackedBroker>, ZkError> {
        let published: Vec<_> = self
            .metadata
            .live_brokers()
            .into_iter()
            .map(|b| (b.id, b.rack))
            .collect();
        if !published.is_empty() {
            return Ok(published);
        }
        let zk = self.zk.get();
        let mut out = Vec::new();
        for id in zk.broker_ids().await? {
            if let Some(info) = zk.get_broker(id).await? {
                out.push((id, info.rack));
            }
        }
        Ok(out)
    }
}

/// How long a controller's startup waits for its own first UpdateMetadata.
const STARTUP_METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// How long topic creation waits for the controller to publish leaders.
pub(crate) const TOPIC_READY_TIMEOUT: Duration = Duration::from_secs(10);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn broker_info(config: &BrokerConfig) -> BrokerInfo {
    let adv = &config.advertised;
    BrokerInfo {
        rack: config.replication.rack.clone(),
        ..BrokerInfo::new(
            config.broker_id,
            vec![EndPoint::plaintext(&adv.host, i32::from(adv.port))],
        )
    }
}

fn coordinator_config(config: &BrokerConfig) -> CoordinatorConfig {
    let g = &config.groups;
    if g.offsets_topic_replication_factor > 1 {
        tracing::warn!(
            configured = g.offsets_topic_replication_factor,
            "offsets.topic.replication.factor above 1: a single broker creates \
             __consumer_offsets with one replica"
        );
    }
    CoordinatorConfig {
        limits: GroupLimits {
            min_session_timeout_ms: g.min_session_timeout_ms,
            max_session_timeout_ms: g.max_session_timeout_ms,
            initial_rebalance_delay_ms: g.initial_rebalance_delay_ms,
        },
        offsets_topic_partitions: g.offsets_topic_num_partitions,
        offsets_retention_ms: u64::try_from(g.offsets_retention_minutes).unwrap_or(1) * 60_000,
        offsets_retention_check_interval: Duration::from_millis(
            u64::try_from(g.offsets_retention_check_interval_ms).unwrap_or(1),
        ),
        offsets_commit_timeout: Duration::from_millis(g.offsets_commit_timeout_ms.into()),
    }
}

/// Registers the broker; if a previous session still holds the id (this broker was killed and
/// restarted before ZooKeeper expired its old session), waits for that session to expire, as
/// long as a session timeout plus a margin, instead of failing. A live broker with the same id
/// keeps its node past that and this one fails with [`ZkError::BrokerIdInUse`].
async fn register_waiting_for_expiry(
    zk: &KafkaZk,
    info: &BrokerInfo,
    config: &BrokerConfig,
) -> Result<Registration, ZkError> {
    let deadline = tokio::time::Instant::now() + config.zookeeper_session_timeout * 2;
    let mut warned = false;
    loop {
        match zk.register_broker(info).await {
            Err(ZkError::BrokerIdInUse { owner, .. }) if tokio::time::Instant::now() < deadline => {
                if !warned {
                    tracing::warn!(
                        broker_id = info.id,
                        owner = format!("0x{owner:x}"),
                        "broker id registered by another session; waiting for it to expire"
                    );
                    warned = true;
                }
                tokio::time::sleep(RECONNECT_BACKOFF).await;
            }
            other => return other,
        }
    }
}

/// Runs for controller: the controller id, and the epoch fence if this session won.
async fn elect(zk: &KafkaZk, broker_id: i32) -> Result<(i32, Option<ControllerEpoch>), ZkError> {
    Ok(match zk.elect_controller(broker_id).await? {
        Election::Won(epoch) => (broker_id, Some(epoch)),
        Election::Lost { controller } => (controller.unwrap_or(-1), None),
    })
}

/// Follows the session's state events; on expiry, opens a new session (retrying until it
/// succeeds) and follows that one. Ends when the broker is gone or its session was closed.
async fn follow_session(broker: Weak<Broker>, mut events: Events) {
    loop {
        let Some(event) = events.recv().await else {
            return;
        };
        if event.event_type != EventType::None {
            continue;
        }
        tracing::debug!(?event, "zookeeper session event");
        match event.state {
            KeeperState::Expired => {}
            KeeperState::Closed | KeeperState::AuthFailed => return,
            _ => continue,
        }
        tracing::warn!("ZooKeeper session expired; still serving clients");
        loop {
            let Some(b) = broker.upgrade() else { return };
            if b.zk.is_closed() {
                return;
            }
            match b.renew_session().await {
                Ok((zk, new_events)) => {
                    if b.zk.is_closed() {
                        zk.close().await;
                        return;
                    }
                    events = new_events;
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "renewing the ZooKeeper session failed; retrying");
                }
            }
            drop(b);
            tokio::time::sleep(RECONNECT_BACKOFF).await;
        }
    }
}

/// Follows `/brokers/topics`: after each change, reads the children again (re-arming the
/// watch) and syncs the served topics. When the session ends, waits for its successor.
async fn follow_topics(
    broker: Weak<Broker>,
    mut watch: crate::zk::ZnodeWatch<Vec<String>>,
    mut generation: watch::Receiver<u64>,
) {
    loop {
        if !watch.changed().await {
            // The session is over; wait for a new one (or for the broker to go).
            if generation.changed().await.is_err() {
                return;
            }
        }
        loop {
            let Some(b) = broker.upgrade() else { return };
            if b.zk.is_closed() {
                return;
            }
            let zk = b.zk.get();
            let result = match zk.watch_topics().await {
                Ok(next) => b.sync_topics(&next.value).await.map(|()| next),
                Err(error) => Err(error),
            };
            match result {
                Ok(next) => {
                    watch = next;
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "reading /brokers/topics failed; retrying");
                }
            }
            drop(b);
            tokio::select! {
                _ = generation.changed() => {}
                () = tokio::time::sleep(RECONNECT_BACKOFF) => {}
            }
        }
    }
}
