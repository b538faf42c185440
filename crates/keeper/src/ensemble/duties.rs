//! What a server does for the ensemble besides raft.
//!
//! Sessions are global, as in ZooKeeper: the leader alone expires them, and the other servers
//! tell it which of their clients were heard from (every half tick; ZooKeeper's followers do
//! it in their pings). A new leader gives every session a full timeout from the moment it
//! takes over, since it cannot know when the old leader last heard of them. Observers named
//! in zoo.cfg are added to the group as learners by whichever server leads.

use std::sync::Arc;
use std::time::Duration;

use super::client::PeerClient;
use super::wire::{PeerRequest, PeerResponse};
use super::Ensemble;
use crate::config::KeeperConfig;
use crate::raft::Raft;
use crate::server::Keeper;

/// Forms a fresh ensemble. The highest-numbered participant initialises the group with the
/// zoo.cfg members (raft then elects it at once, as ZooKeeper's election prefers the highest
/// myid among equally up-to-date servers); the others receive the membership from it. Should
/// it not lead within `initLimit` ticks (it may be down), each server initialises the same
/// membership itself and raft elects among those present.
///
/// A server whose peers have formed an ensemble already never forms one itself: it was
/// started to join that ensemble (or lost its data) and waits for the leader to add it
/// (`reconfig -add`, or at once when it is a member).
pub fn initialize(raft: &Raft, ensemble: &Ensemble, config: &KeeperConfig, peers: &PeerClient) {
    let tick = Duration::from_millis(u64::from(config.tick_time_ms));
    let grace = if ensemble.is_highest_participant() {
        Duration::ZERO
    } else {
        tick * config.init_limit.max(1)
    };
    let (raft, voters, peers) = (raft.clone(), ensemble.voters(), peers.clone());
    let others: Vec<String> = ensemble
        .servers
        .iter()
        .filter(|(id, _)| **id != ensemble.my_id)
        .map(|(_, spec)| Ensemble::peer_addr(spec))
        .collect();
    tokio::spawn(async move {
        let mut metrics = raft.metrics();
        let led = tokio::time::timeout(grace, metrics.wait_for(|m| m.current_leader.is_some()));
        if led.await.is_ok() || raft.is_initialized().await.unwrap_or(true) {
            return;
        }
        if any_initialized(&peers, &others, tick).await {
            tracing::info!("the other servers form an ensemble already: waiting to be added to it");
            return;
        }
        if let Err(error) = raft.initialize(voters).await {
            tracing::warn!(%error, "cannot initialise the ensemble");
            return;
        }
        // The first election can go out before the other servers listen (they start at the
        // same moment); rather than wait a whole election timeout, the one server that forms
        // a fresh ensemble asks again shortly (others, after the grace, leave it to raft's
        // randomised timeouts, which keep candidates from splitting the vote).
        let nudges = if grace.is_zero() { 10 } else { 0 };
        for _ in 0..nudges {
            let led = metrics.wait_for(|m| m.current_leader.is_some());
            if tokio::time::timeout(Duration::from_millis(100), led)
                .await
                .is_ok()
            {
                return;
            }
            let _ = raft.trigger().elect().await;
        }
    });
}

/// Whether any of the servers at `addrs` answers that it is in an ensemble already.
async fn any_initialized(peers: &PeerClient, addrs: &[String], timeout: Duration) -> bool {
    for addr in addrs {
        if let Ok(PeerResponse::Initialized(true)) =
            peers.call(addr, &PeerRequest::Initialized, timeout).await
        {
            return true;
        }
    }
    false
}

impl Keeper {
    /// Whether this server leads the ensemble (a standalone server always does).
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(self.node_id)
    }

    /// The peer address of the current leader, if one is known.
    pub fn leader_addr(&self) -> Option<String> {
        let leader = self.raft.metrics().borrow().current_leader?;
        super::peer_addr_of(&self.raft, leader)
    }

    /// Sessions another server's clients were heard from: refresh those this leader tracks,
    /// and start tracking the ones it has not seen yet (created through another server).
    pub fn refresh_sessions(&self, sessions: &[i64]) {
        let state = self.shared.read();
        for session in sessions {
            if !self.sessions.touch(*session) {
                if let Some(info) = state.db.sessions.get(session) {
                    self.sessions.track(*session, info.timeout_ms);
                }
            }
        }
    }

    /// The index this server must have applied before answering `sync`: the leader's commit
    /// index, confirmed by a quorum. Asked of the leader when this server is not it.
    pub async fn sync_index(&self) -> Result<u64, String> {
        if self.is_leader() || self.ensemble.is_none() {
            return self.local_read_index().await;
        }
        // Until `syncLimit` ticks have passed, wait out an election (no leader, or one that
        // cannot be reached yet).
        let deadline = tokio::time::Instant::now() + Ensemble::sync_timeout(&self.config);
        loop {
            let timeout = deadline.saturating_duration_since(tokio::time::Instant::now());
            let answer = match self.leader_addr() {
                None => Err("no leader is known".to_string()),
                Some(addr) => match self
                    .peers
                    .call(&addr, &PeerRequest::ReadIndex, timeout)
                    .await
                {
                    Ok(PeerResponse::ReadIndex(Ok(index))) => return Ok(index),
                    Ok(PeerResponse::ReadIndex(Err(refusal))) => Err(refusal.to_string()),
                    Ok(other) => return Err(format!("unexpected answer to ReadIndex: {other:?}")),
                    Err(error) => Err(error.to_string()),
                },
            };
            if tokio::time::Instant::now() >= deadline {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.is_leader() {
                return self.local_read_index().await;
            }
        }
    }

    /// Waits until this server has applied everything the leader had committed when asked
    /// (what `sync` waits for); false when the leader's commit index could not be learnt.
    pub async fn catch_up(&self) -> bool {
        match self.sync_index().await {
            Ok(target) => {
                let mut applied = self.shared.subscribe_applied();
                let reached = applied.wait_for(|index| *index >= target).await.is_ok();
                reached
            }
            Err(error) => {
                tracing::warn!(%error, "cannot learn the leader's commit index");
                false
            }
        }
    }

    /// This leader's read index, confirmed by a quorum.
    pub(crate) async fn local_read_index(&self) -> Result<u64, String> {
        let pending = &self.stats.pending_syncs;
        pending.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let confirmed = self.raft.ensure_linearizable().await;
        pending.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        Ok(confirmed
            .map_err(|e| e.to_string())?
            .map_or(0, |id| id.index))
    }

    /// Runs for the life of an ensemble server.
    pub(crate) async fn ensemble_duties(self: Arc<Self>) {
        if self.ensemble.is_none() {
            return;
        }
        let half_tick = Duration::from_millis(u64::from(self.config.tick_time_ms) / 2)
            .max(Duration::from_millis(10));
        let mut tick = tokio::time::interval(half_tick);
        let mut was_leader = false;
        let mut metrics = self.raft.metrics();
        loop {
            let known_leader = metrics.borrow().current_leader;
            // A change of leader is acted on at once rather than at the next tick, so that a
            // fresh or re-elected ensemble serves as soon as it has a leader.
            let running = tokio::select! {
                _ = tick.tick() => true,
                changed = metrics.wait_for(|m| m.current_leader != known_leader) => changed.is_ok(),
            };
            if !running {
                return; // raft has shut down
            }
            let leader = self.is_leader();
            let serving = if leader {
                self.quorum_confirmed().await
            } else {
                self.raft.metrics().borrow().current_leader.is_some()
            };
            self.set_serving(serving);
            if leader && !was_leader {
                self.take_over_sessions();
                self.add_observers().await;
                self.publish_static_config().await;
            }
            was_leader = leader;
            let touched = self.sessions.take_touched();
            if !leader && !touched.is_empty() {
                self.report_touches(touched, half_tick).await;
            }
        }
    }

    /// Whether a quorum still follows this leader (raft keeps a cut-off leader in office
    /// until it hears of a newer term; ZooKeeper's leader steps down after `syncLimit`).
    async fn quorum_confirmed(&self) -> bool {
        let (_, max, _) = Ensemble::raft_timing_ms(u64::from(self.config.tick_time_ms));
        let confirmed =
            tokio::time::timeout(Duration::from_millis(max), self.raft.ensure_linearizable());
        matches!(confirmed.await, Ok(Ok(_)))
    }

    fn take_over_sessions(&self) {
        let state = self.shared.read();
        for (session, info) in &state.db.sessions {
            self.sessions.track(*session, info.timeout_ms);
        }
        tracing::info!(
            sessions = state.db.sessions.len(),
            "leading the ensemble: every session has a full timeout from now"
        );
    }

    async fn add_observers(&self) {
        let known = self.raft.metrics().borrow().membership_config.clone();
        // The observers of the ensemble as of now: zoo.cfg's until a reconfig changes them.
        let observers = self
            .current_members()
            .into_iter()
            .filter(|(_, s)| s.observer);
        for (id, spec) in observers {
            if known.membership().get_node(&id).is_some() {
                continue;
            }
            let node = openraft::BasicNode::new(Ensemble::peer_addr(&spec));
            // Not blocking: the observer catches up in the background.
            if let Err(error) = self.raft.add_learner(id, node, false).await {
                tracing::warn!(observer = id, %error, "cannot add the observer");
            }
        }
    }

    /// Tells the leader which sessions were heard from; kept for the next report if the
    /// leader cannot be told now.
    async fn report_touches(&self, touched: Vec<i64>, timeout: Duration) {
        let Some(addr) = self.leader_addr() else {
            self.sessions.retouch(touched);
            return;
        };
        let request = PeerRequest::Touch(touched);
        if let Err(error) = self.peers.call(&addr, &request, timeout).await {
            tracing::debug!(%error, "cannot refresh sessions on the leader");
            if let PeerRequest::Touch(touched) = request {
                self.sessions.retouch(touched);
            }
        }
    }
}
