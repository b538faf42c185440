//! The keeper server: starts the replicated state machine, accepts client connections, and
//! runs the background duties (session expiry, container/TTL cleanup, autopurge).

pub mod admin_http;
mod connection;
mod four_letter;
mod limits;
mod proposer;
mod reads;
mod registry;
mod stats;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_jute::ephemeral_owner;
use tokio::net::TcpListener;
use tokio::sync::OwnedSemaphorePermit;

use crate::config::KeeperConfig;
use crate::database::Database;
use crate::ensemble::{client::PeerClient, network::PeerNetwork, Ensemble};
use crate::raft::{log_store::LogStore, state_machine::StateMachine, Raft};
use crate::sessions::SessionTracker;
use crate::shared::Shared;
use crate::txn::{Applied, Txn, TxnKind};
pub use limits::KeeperLimits;
use proposer::{Proposal, Proposer};
pub use registry::Registry;
pub use stats::ServerStats;

type RaftNode = openraft::BasicNode;

#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    #[error("cannot open the raft log")]
    OpenLog(#[from] crate::raft::log_store::LogStoreError),
    #[error("cannot load snapshot")]
    Snapshot(#[from] crate::raft::snapshot::SnapshotError),
    #[error("invalid raft settings (from tickTime)")]
    RaftConfig(#[from] openraft::ConfigError),
    #[error("raft stopped")]
    RaftStopped(#[from] openraft::error::Fatal<u64>),
    #[error("cannot initialise the raft group")]
    Initialize(
        #[from] openraft::error::RaftError<u64, openraft::error::InitializeError<u64, RaftNode>>,
    ),
    #[error("raft stopped before this server became the leader")]
    NoLeader(#[source] tokio::sync::watch::error::RecvError),
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("write not committed")]
    Write(#[source] ProposalError),
    #[error("invalid ensemble configuration")]
    Ensemble(#[from] crate::ensemble::EnsembleError),
    #[error("cannot listen for peers on {addr}")]
    PeerListen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// Why a proposed write got no answer from the log. Cloned to every transaction of the entry
/// that failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProposalError {
    #[error("this server is not the leader")]
    NotLeader(#[source] openraft::error::ForwardToLeader<u64, RaftNode>),
    #[error("the log refused the entry")]
    Refused(#[source] openraft::error::ClientWriteError<u64, RaftNode>),
    #[error("raft stopped")]
    Stopped(#[source] openraft::error::Fatal<u64>),
    #[error("raft dropped the entry without answering")]
    Dropped,
    #[error("the proposer has stopped")]
    ProposerStopped,
    #[error("no leader is known (an election is under way, or this server has no quorum)")]
    NoLeader,
    #[error("cannot forward the write to the leader")]
    Forward(#[source] Arc<crate::ensemble::client::CallError>),
    #[error("the leader refused the forwarded write")]
    LeaderRefused(#[source] crate::ensemble::wire::Refusal),
    #[error("the leader committed entry {0}, but this server did not apply it in time")]
    NotApplied(u64),
}

/// A running keeper: configuration, replicated state, raft, and the local session and
/// connection bookkeeping.
pub struct Keeper {
    pub config: KeeperConfig,
    proposals: tokio::sync::mpsc::UnboundedSender<Proposal>,
    pub shared: Arc<Shared>,
    pub raft: Raft,
    pub sessions: SessionTracker,
    pub registry: Registry,
    pub limits: Arc<KeeperLimits>,
    pub stats: ServerStats,
    pub node_id: u64,
    pub started: Instant,
    /// The ensemble this server belongs to; `None` for a standalone server.
    pub ensemble: Option<Ensemble>,
    /// Calls to the other servers of the ensemble.
    pub peers: PeerClient,
    /// Whether clients are served: always on a standalone server; on an ensemble server while
    /// it has a leader (and, leading, a quorum) — see `ensemble::duties`.
    serving: std::sync::atomic::AtomicBool,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Keeper {
    /// Opens the data directories, recovers state, and starts raft: a one-voter group for a
    /// standalone server, the zoo.cfg `server.N` members for an ensemble (initialised on
    /// first start with the same membership on every server). A standalone server returns
    /// once it leads; an ensemble server returns at once and serves clients while it has a
    /// leader.
    pub async fn start(config: KeeperConfig) -> Result<Arc<Self>, KeeperError> {
        let ensemble = Ensemble::from_config(&config)?;
        let node_id = ensemble
            .as_ref()
            .map_or(config.my_id.unwrap_or(1), |e| e.my_id);
        // Bound before raft starts, so that a taken quorum port fails the start.
        let peer_listener = match &ensemble {
            Some(ensemble) => {
                let addr = Ensemble::peer_addr(ensemble.me());
                Some(
                    TcpListener::bind(&addr)
                        .await
                        .map_err(|source| KeeperError::PeerListen { addr, source })?,
                )
            }
            None => None,
        };
        let log_dir = config.log_dir();
        let (log, recovery) = LogStore::open(&log_dir, config.force_sync)?;
        if let Some(truncated) = &recovery.truncated {
            tracing::warn!(%truncated, "raft log had a torn tail");
        }
        let shared = Arc::new(Shared::new(Database::new(config.extended_types)));
        let state_machine = StateMachine::open(
            shared.clone(),
            config.data_dir.join("snapshots"),
            config.extended_types,
        )?;
        let tick = u64::from(config.tick_time_ms);
        let (election_timeout_min, election_timeout_max, heartbeat_interval) = match &ensemble {
            Some(_) => Ensemble::raft_timing_ms(tick),
            None => (tick.max(150), (tick * 2).max(300), (tick / 2).max(50)),
        };
        let raft_config = openraft::Config {
            cluster_name: "ferry-keeper".into(),
            heartbeat_interval,
            election_timeout_min,
            election_timeout_max,
            // Snapshots are triggered by transaction count (see `snapshot_when_due`).
            snapshot_policy: openraft::SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: 1000,
            ..Default::default()
        };
        let raft_config = Arc::new(raft_config.validate()?);
        let peers = PeerClient::default();
        let network = PeerNetwork::new(peers.clone());
        let raft = Raft::new(node_id, raft_config, network, log, state_machine).await?;
        if !raft.is_initialized().await? {
            match &ensemble {
                Some(ensemble) => {
                    crate::ensemble::duties::initialize(&raft, ensemble, &config, &peers)
                }
                None => {
                    let me = BTreeMap::from([(node_id, openraft::BasicNode::default())]);
                    raft.initialize(me).await?;
                }
            }
        }
        let sessions = SessionTracker::new(
            Duration::from_millis(tick),
            // A standalone ZooKeeper server numbers its sessions as server 1.
            node_id,
            ensemble.is_some(),
        );
        let (proposals, queue) = tokio::sync::mpsc::unbounded_channel();
        let proposer = Proposer {
            raft: raft.clone(),
            node_id,
            shared: shared.clone(),
            peers: peers.clone(),
            forward_timeout: Ensemble::sync_timeout(&config),
        };
        tokio::spawn(proposer.run(queue));
        let to_close = shared.take_connections_to_close();
        let limits = Arc::new(KeeperLimits::new(&config));
        let registry = Registry::new(config.max_client_cnxns);
        let keeper = Arc::new(Self {
            config,
            proposals,
            shared,
            raft,
            sessions,
            registry,
            limits,
            stats: ServerStats::default(),
            node_id,
            started: Instant::now(),
            serving: std::sync::atomic::AtomicBool::new(ensemble.is_none()),
            ensemble,
            peers,
        });
        if let Some(receiver) = to_close {
            tokio::spawn(keeper.clone().close_connections(receiver));
        }
        match peer_listener {
            Some(listener) => {
                tokio::spawn(crate::ensemble::peer_server::serve_peers(
                    keeper.clone(),
                    listener,
                ));
                tokio::spawn(keeper.clone().ensemble_duties());
            }
            None => keeper.wait_until_leader().await?,
        }
        // Sessions restored from disk get a full timeout to reconnect, as in ZooKeeper.
        for (id, info) in &keeper.shared.read().db.sessions {
            keeper.sessions.track(*id, info.timeout_ms);
        }
        tokio::spawn(keeper.clone().expire_sessions());
        tokio::spawn(keeper.clone().reap_containers_and_ttls());
        tokio::spawn(keeper.clone().snapshot_when_due());
        if keeper.config.purge_interval_hours > 0 {
            tokio::spawn(keeper.clone().autopurge());
        }
        Ok(keeper)
    }

    pub fn is_serving(&self) -> bool {
        self.serving.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts or stops serving clients; stopping closes every client connection, so that
    /// clients move to a server that can answer them.
    pub(crate) fn set_serving(&self, serving: bool) {
        let was = self
            .serving
            .swap(serving, std::sync::atomic::Ordering::Relaxed);
        if was && !serving {
            tracing::warn!("lost the quorum: closing client connections until a leader is back");
            self.registry.close_all();
        } else if serving && !was {
            tracing::info!(mode = four_letter::mode(self), "serving clients");
            self.registry.close_read_only();
        }
    }

    /// Closes the client connections applied changes end: those of sessions the log closed
    /// (expired by the leader, or closed by their client through another server; no longer
    /// tracked either), or all of them when a snapshot replaced the state.
    async fn close_connections(
        self: Arc<Self>,
        mut to_close: tokio::sync::mpsc::UnboundedReceiver<crate::shared::ToClose>,
    ) {
        while let Some(which) = to_close.recv().await {
            match which {
                crate::shared::ToClose::Session(session) => {
                    self.sessions.forget(session);
                    self.registry.close_session_connections(session);
                }
                crate::shared::ToClose::All => {
                    tracing::info!(
                        "a snapshot from the leader replaced the state: reconnecting clients"
                    );
                    self.registry.close_all();
                }
            }
        }
    }

    async fn wait_until_leader(&self) -> Result<(), KeeperError> {
        let mut metrics = self.raft.metrics();
        let node_id = self.node_id;
        metrics
            .wait_for(|m| {
                m.current_leader == Some(node_id)
                    && m.last_applied.map(|id| id.index) >= m.last_log_index
            })
            .await
            .map_err(KeeperError::NoLeader)?;
        Ok(())
    }

    /// Stops raft (flushing the log); connections end with the process.
    pub async fn shutdown(&self) {
        if let Err(error) = self.raft.shutdown().await {
            tracing::warn!(%error, "raft did not shut down cleanly");
        }
    }

    /// Binds the client port and serves connections until the process ends.
    pub async fn serve(self: Arc<Self>) -> Result<(), KeeperError> {
        let ip = self
            .config
            .client_port_address
            .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        let addr = SocketAddr::new(ip, self.config.client_port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| KeeperError::Listen { addr, source })?;
        tracing::info!(%addr, "keeper serving clients");
        self.accept_loop(listener).await;
        Ok(())
    }

    /// Serves a client connection from inside this process (a program embedding the keeper
    /// reaches it through a pipe): exactly a TCP client's protocol and request path, but never
    /// counted against `maxClientCnxns`, so clients filling their share cannot lock the
    /// embedder out. `peer` is what `ip` ACLs see.
    pub async fn serve_local<S>(self: Arc<Self>, stream: S, peer: SocketAddr)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    {
        connection::serve_local(self, stream, peer).await
    }

    pub async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let keeper = self.clone();
                    tokio::spawn(async move { connection::serve(keeper, stream, peer).await });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Submits a transaction to the replicated log and waits for its answer.
    pub async fn submit(
        &self,
        session_id: i64,
        cxid: i32,
        auth: Vec<(String, String)>,
        kind: TxnKind,
    ) -> Result<Applied, KeeperError> {
        self.submit_nowait(session_id, cxid, auth, kind, None).await
    }

    /// Queues a transaction for the log and returns a future for its answer, so a connection
    /// can pipeline writes while keeping answers in order. Transactions are proposed in the
    /// order they are queued. A client's write carries its `globalOutstandingLimit` slot,
    /// given back once the log has answered.
    pub fn submit_nowait(
        &self,
        session_id: i64,
        cxid: i32,
        auth: Vec<(String, String)>,
        kind: TxnKind,
        slot: Option<OwnedSemaphorePermit>,
    ) -> impl std::future::Future<Output = Result<Applied, KeeperError>> {
        let txn = Txn {
            session_id,
            cxid,
            time: now_ms(),
            auth,
            kind,
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let queued = self.proposals.send(Proposal { txn, reply, slot });
        async move {
            queued.map_err(|_stopped| KeeperError::Write(ProposalError::ProposerStopped))?;
            answer
                .await
                .map_err(|_dropped| KeeperError::Write(ProposalError::ProposerStopped))?
                .map_err(KeeperError::Write)
        }
    }

    /// Closes sessions whose clients have been silent past their timeout (once per tick).
    async fn expire_sessions(self: Arc<Self>) {
        let mut tick =
            tokio::time::interval(self.sessions.tick().max(Duration::from_millis(10)) / 2);
        loop {
            tick.tick().await;
            if !self.is_leader() {
                continue;
            }
            for session in self.sessions.expired(Instant::now()) {
                tracing::info!(session = format_args!("0x{session:x}"), "session expired");
                self.registry.close_session_connections(session);
                if let Err(error) = self
                    .submit(session, 0, Vec::new(), TxnKind::CloseSession)
                    .await
                {
                    tracing::warn!(%error, "could not close expired session");
                }
            }
        }
    }

    /// ZooKeeper's ContainerManager: deletes empty containers that once had children and TTL
    /// nodes past their TTL, through the log like any other write.
    async fn reap_containers_and_ttls(self: Arc<Self>) {
        let period = Duration::from_millis(self.config.container_check_interval_ms);
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            // The leader reaps, as ZooKeeper's ContainerManager runs on the leader.
            if !self.is_leader() {
                continue;
            }
            let candidates = self.reap_candidates(now_ms());
            for path in candidates {
                if let Err(error) = self.submit(0, 0, Vec::new(), TxnKind::Reap { path }).await {
                    tracing::warn!(%error, "could not reap container/TTL node");
                }
            }
        }
    }

    /// Takes a snapshot once about `snapCount` transactions have been applied since the last.
    /// Like ZooKeeper, the threshold is drawn between snapCount/2 and snapCount so that the
    /// servers of an ensemble do not all snapshot at once.
    ///
    /// Writing a snapshot takes a core for a while (writes go on meanwhile; see `tree::cut`),
    /// so under a heavy write load snapshots are spaced out to at least `SNAPSHOT_DUTY` times
    /// the time the last one took: they then cost at most a tenth of a core, and the log
    /// simply grows a little longer in between.
    async fn snapshot_when_due(self: Arc<Self>) {
        const SNAPSHOT_DUTY: u32 = 10;
        let half = (self.config.snap_count / 2).max(1);
        let threshold = half + rand::random::<u64>() % half;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut last = Instant::now();
        loop {
            tick.tick().await;
            let applied = self
                .shared
                .txns_since_snapshot
                .load(std::sync::atomic::Ordering::Relaxed);
            let took = Duration::from_micros(
                self.shared
                    .last_snapshot_us
                    .load(std::sync::atomic::Ordering::Relaxed),
            );
            if applied < threshold || last.elapsed() < took * SNAPSHOT_DUTY {
                continue;
            }
            if let Err(error) = self.raft.trigger().snapshot().await {
                tracing::warn!(%error, "cannot trigger a snapshot");
                return;
            }
            last = Instant::now();
            // Do not trigger again before this one has started and reset the count.
            self.shared
                .txns_since_snapshot
                .store(0, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// `autopurge.purgeInterval`: every so many hours, delete all but the newest
    /// `autopurge.snapRetainCount` snapshots. (Log segments go as soon as a snapshot covers
    /// them; raft purges those itself.)
    async fn autopurge(self: Arc<Self>) {
        let period = Duration::from_secs(u64::from(self.config.purge_interval_hours) * 3600);
        let dir = self.config.data_dir.join("snapshots");
        let retain = self.config.snap_retain_count;
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            let dir = dir.clone();
            let purged =
                tokio::task::spawn_blocking(move || crate::raft::snapshot::purge(&dir, retain))
                    .await;
            tracing::info!(purged = purged.unwrap_or(0), "autopurge done");
        }
    }

    fn reap_candidates(&self, now: i64) -> Vec<String> {
        let state = self.shared.read();
        let tree = &state.db.tree;
        let empty = |path: &String| tree.get(path).is_some_and(|n| n.children.is_empty());
        let containers = tree
            .containers()
            .filter(|p| empty(p) && tree.get(p).is_some_and(|n| n.stat.cversion > 0));
        let ttls = tree.ttls().filter(|p| {
            empty(p)
                && tree.get(p).is_some_and(|n| {
                    ephemeral_owner::ttl(n.stat.ephemeral_owner)
                        .is_some_and(|ttl| now > n.stat.mtime.saturating_add(ttl))
                })
        });
        containers.chain(ttls).cloned().collect()
    }
}
