//! A keeper ensemble: several servers sharing one replicated log, as a ZooKeeper ensemble
//! shares its transaction log.
//!
//! The ensemble is the same openraft group a standalone keeper runs with one voter; the
//! `server.N` lines of zoo.cfg name its members. Participants are raft voters, observers raft
//! learners (they replicate and serve clients but do not vote). Peers talk on each server's
//! quorum port (`host:quorumPort`); raft elects the leader itself, so the election port of a
//! `server.N` line is accepted and not used.
//!
//! | module | concept |
//! |---|---|
//! | [`wire`] | the messages peers exchange, and their framing |
//! | [`client`] | calls to a peer over pooled connections |
//! | [`network`] | openraft's RPCs over those calls |
//! | [`peer_server`] | the quorum port: answers peers' calls |
//! | [`metrics`] | the ensemble's `mntr` figures |
//! | [`duties`] | what a server does for the ensemble besides raft: session refreshes to the leader, sessions and observers taken over by a new leader |

pub mod client;
pub mod duties;
pub mod metrics;
pub mod network;
pub mod peer_server;
pub mod reconfig;
pub mod wire;

use std::collections::BTreeMap;
use std::time::Duration;

use openraft::BasicNode;

use crate::config::{KeeperConfig, ServerSpec};

/// Where server `id` of the raft group's current membership answers its peers.
pub fn peer_addr_of(raft: &crate::raft::Raft, id: u64) -> Option<String> {
    raft.metrics()
        .borrow()
        .membership_config
        .membership()
        .get_node(&id)
        .map(|node| node.addr.clone())
}

#[derive(Debug, thiserror::Error)]
pub enum EnsembleError {
    #[error(
        "zoo.cfg names an ensemble (servers {0:?}) but {1}/myid is missing: each server of an \
         ensemble needs its id in dataDir/myid"
    )]
    NoMyId(Vec<u64>, String),
    #[error("myid is {0}, but zoo.cfg has no server.{0} line (servers: {1:?})")]
    NotAMember(u64, Vec<u64>),
    #[error("zoo.cfg names no participant: an ensemble needs voters, not only observers")]
    NoParticipant,
    #[error("peerType=observer, but the server.{0} line does not end in :observer")]
    ObserverMismatch(u64),
}

/// The ensemble as zoo.cfg describes it, seen from this server.
#[derive(Debug, Clone)]
pub struct Ensemble {
    pub my_id: u64,
    pub servers: BTreeMap<u64, ServerSpec>,
}

impl Ensemble {
    /// The ensemble `config` names, or `None` for a standalone server (at most one
    /// `server.N` line, as ZooKeeper runs standalone with `standaloneEnabled`).
    pub fn from_config(config: &KeeperConfig) -> Result<Option<Self>, EnsembleError> {
        if config.servers.len() <= 1 {
            return Ok(None);
        }
        let ids = || config.servers.keys().copied().collect::<Vec<_>>();
        let my_id = config
            .my_id
            .ok_or_else(|| EnsembleError::NoMyId(ids(), config.data_dir.display().to_string()))?;
        if !config.servers.contains_key(&my_id) {
            return Err(EnsembleError::NotAMember(my_id, ids()));
        }
        if config.servers.values().all(|s| s.observer) {
            return Err(EnsembleError::NoParticipant);
        }
        if config.peer_type_observer && !config.servers[&my_id].observer {
            return Err(EnsembleError::ObserverMismatch(my_id));
        }
        Ok(Some(Self {
            my_id,
            servers: config.servers.clone(),
        }))
    }

    pub fn me(&self) -> &ServerSpec {
        &self.servers[&self.my_id]
    }

    /// Where server `spec` answers its peers.
    pub fn peer_addr(spec: &ServerSpec) -> String {
        format!("{}:{}", spec.host, spec.quorum_port)
    }

    fn nodes(&self, observers: bool) -> BTreeMap<u64, BasicNode> {
        self.servers
            .iter()
            .filter(|(_, spec)| spec.observer == observers)
            .map(|(id, spec)| (*id, BasicNode::new(Self::peer_addr(spec))))
            .collect()
    }

    /// The voters: every participant.
    pub fn voters(&self) -> BTreeMap<u64, BasicNode> {
        self.nodes(false)
    }

    /// The learners: every observer.
    pub fn observers(&self) -> BTreeMap<u64, BasicNode> {
        self.nodes(true)
    }

    /// openraft's election timeout range and heartbeat interval, in ms. A follower that
    /// hears nothing for the timeout stands for election; but a voter refuses to vote while
    /// its leader's lease (its own longest timeout) lasts, so the first candidate is refused
    /// and a leader emerges on a second try: about twice the timeout after the last
    /// heartbeat. A timeout of 0.35-0.45 ticks therefore replaces a lost leader within about
    /// a tick (2 s at ZooKeeper's default tickTime), with heartbeats every tenth of a tick.
    pub fn raft_timing_ms(tick_ms: u64) -> (u64, u64, u64) {
        let min = (tick_ms * 35 / 100).max(150);
        let max = (tick_ms * 45 / 100).max(min + 50);
        let heartbeat = (tick_ms / 10).max(20).min(min / 3);
        (min, max, heartbeat)
    }

    /// Whether this server is the highest-numbered participant: the one a fresh ensemble
    /// elects, as ZooKeeper's election prefers the highest myid among equally up-to-date
    /// servers.
    pub fn is_highest_participant(&self) -> bool {
        self.servers
            .iter()
            .filter(|(_, spec)| !spec.observer)
            .all(|(id, _)| *id <= self.my_id)
    }

    /// How long a follower waits on the leader (`syncLimit` ticks, as in ZooKeeper).
    pub fn sync_timeout(config: &KeeperConfig) -> Duration {
        Duration::from_millis(u64::from(config.tick_time_ms) * u64::from(config.sync_limit.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(lines: &str, my_id: Option<u64>) -> KeeperConfig {
        let text = format!("dataDir=/tmp/x\nclientPort=2181\n{lines}");
        let mut config = KeeperConfig::parse(&text).unwrap();
        config.my_id = my_id;
        config
    }

    const THREE: &str = "server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n";

    #[test]
    fn one_server_line_is_standalone() {
        let single = config("server.1=a:2888:3888\n", Some(1));
        assert!(Ensemble::from_config(&single).unwrap().is_none());
    }

    #[test]
    fn an_ensemble_needs_a_myid_among_its_lines() {
        let missing = Ensemble::from_config(&config(THREE, None)).unwrap_err();
        assert!(missing.to_string().contains("myid is missing"), "{missing}");
        let stranger = Ensemble::from_config(&config(THREE, Some(9))).unwrap_err();
        assert!(
            stranger.to_string().contains("no server.9 line"),
            "{stranger}"
        );
    }

    #[test]
    fn a_lost_leader_is_replaced_within_about_a_tick() {
        let (min, max, heartbeat) = Ensemble::raft_timing_ms(2000);
        assert!(
            min < max && 2 * max <= 2000,
            "two timeouts within a tick: {min}..{max}"
        );
        assert!(
            heartbeat * 3 <= min,
            "several heartbeats per timeout: {heartbeat} vs {min}"
        );
        let highest: Vec<bool> = (1..=3)
            .map(|id| {
                Ensemble::from_config(&config(THREE, Some(id)))
                    .unwrap()
                    .unwrap()
                    .is_highest_participant()
            })
            .collect();
        assert_eq!(highest, [false, false, true]);
    }

    #[test]
    fn observers_are_learners_not_voters() {
        let lines = format!("{THREE}server.4=d:2888:3888:observer\n");
        let ensemble = Ensemble::from_config(&config(&lines, Some(4)))
            .unwrap()
            .unwrap();
        assert_eq!(ensemble.voters().len(), 3);
        assert_eq!(
            ensemble.observers().keys().copied().collect::<Vec<_>>(),
            [4]
        );
        assert_eq!(ensemble.voters()[&1].addr, "a:2888");
        let mut mismatch = config(&lines, Some(3));
        mismatch.peer_type_observer = true;
        let error = Ensemble::from_config(&mismatch).unwrap_err();
        assert!(error.to_string().contains("server.3 line"), "{error}");
    }
}
