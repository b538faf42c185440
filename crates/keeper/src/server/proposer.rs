//! The write path: queued transactions batched into log entries, in queue order.
//!
//! On the leader a batch becomes one raft entry. On a follower or observer it is forwarded to
//! the leader, which appends it; the follower answers its clients once its own replica has
//! applied that entry, so a client always reads its own writes where it is connected.
//! Forwarding is one batch at a time: batches reach the leader in the order their clients sent
//! them (per-session FIFO), and transactions that queue meanwhile go in the next batch.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;

use super::{ProposalError, RaftNode};
use crate::ensemble::client::PeerClient;
use crate::ensemble::wire::{PeerRequest, PeerResponse, Refusal};
use crate::raft::Raft;
use crate::shared::Shared;
use crate::txn::{Applied, Txn, TxnBatch};

/// A transaction waiting to be proposed, with where its answer goes.
pub(super) struct Proposal {
    pub txn: Txn,
    pub reply: tokio::sync::oneshot::Sender<Result<Applied, ProposalError>>,
    /// The client's `globalOutstandingLimit` slot, given back with the answer.
    pub slot: Option<OwnedSemaphorePermit>,
}

/// Most transactions in one log entry.
const MAX_BATCH: usize = 1000;
/// Log entries in flight at once on the leader. While they are being made durable, new
/// transactions queue up and go out together in the next entry: group commit.
const MAX_IN_FLIGHT: usize = 2;

pub(super) struct Proposer {
    pub raft: Raft,
    pub node_id: u64,
    pub shared: Arc<Shared>,
    pub peers: PeerClient,
    /// How long a follower waits for the leader to commit a forwarded batch, and then for its
    /// own replica to apply it (`syncLimit` ticks, as a ZooKeeper follower waits on its
    /// leader).
    pub forward_timeout: Duration,
}

type Waiting = Vec<(
    tokio::sync::oneshot::Sender<Result<Applied, ProposalError>>,
    Option<OwnedSemaphorePermit>,
)>;

impl Proposer {
    /// Batches queued transactions into log entries until the queue closes.
    ///
    /// The queue is unbounded, but what is in it is not: client writes each hold one of the
    /// `globalOutstandingLimit` slots until answered, and the server's own writes (session
    /// expiry, container reaping) are one per expired session or reaped node, each awaited.
    pub async fn run(self, mut queue: tokio::sync::mpsc::UnboundedReceiver<Proposal>) {
        let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
        while let Some(first) = queue.recv().await {
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let (txns, waiting): (Vec<Txn>, Waiting) = batch
                .into_iter()
                .map(|p| (p.txn, (p.reply, p.slot)))
                .unzip();
            let leader = self.raft.metrics().borrow().current_leader;
            if leader == Some(self.node_id) {
                let answer = self.raft.client_write_ff(TxnBatch(txns)).await;
                tokio::spawn(async move {
                    let outcome = match answer {
                        Ok(receiver) => match receiver.await {
                            Ok(Ok(response)) => Ok(response.data.0),
                            Ok(Err(error)) => Err(refused(error)),
                            Err(_dropped) => Err(ProposalError::Dropped),
                        },
                        Err(fatal) => Err(ProposalError::Stopped(fatal)),
                    };
                    drop(permit);
                    answer_all(waiting, outcome);
                });
            } else {
                let committed = self.forward(leader, TxnBatch(txns)).await;
                drop(permit);
                let shared = self.shared.clone();
                let timeout = self.forward_timeout;
                tokio::spawn(async move {
                    let outcome = match committed {
                        Ok((index, applied)) => wait_applied(&shared, index, timeout)
                            .await
                            .map(|()| applied),
                        Err(error) => Err(error),
                    };
                    answer_all(waiting, outcome);
                });
            }
        }
    }

    /// Sends a batch to the leader; its log index and answers once committed. While there is
    /// no leader, or the one named cannot be reached or says it no longer leads, the batch
    /// certainly was not written: it waits for a leader and tries again, until
    /// `forward_timeout`. (A call that fails once sent is not repeated: the leader may have
    /// written it.)
    async fn forward(
        &self,
        mut leader: Option<u64>,
        batch: TxnBatch,
    ) -> Result<(u64, Vec<Applied>), ProposalError> {
        let deadline = tokio::time::Instant::now() + self.forward_timeout;
        let request = PeerRequest::Forward(batch);
        loop {
            let outcome = match leader.and_then(|id| crate::ensemble::peer_addr_of(&self.raft, id))
            {
                None => Err(ProposalError::NoLeader),
                Some(addr) => self.forward_once(&addr, &request, deadline).await,
            };
            let not_written = match &outcome {
                Err(ProposalError::NoLeader) => true,
                Err(ProposalError::Forward(error)) => error.is_unreachable(),
                Err(ProposalError::LeaderRefused(Refusal::NotLeader { .. })) => true,
                _ => false,
            };
            if !not_written || tokio::time::Instant::now() >= deadline {
                return outcome;
            }
            leader = self.next_leader(leader, deadline).await;
            if leader == Some(self.node_id) {
                // This server leads now: the batch goes through its own log.
                return match request {
                    PeerRequest::Forward(batch) => self.append_locally(batch).await,
                    _ => Err(ProposalError::Dropped),
                };
            }
        }
    }

    async fn forward_once(
        &self,
        addr: &str,
        request: &PeerRequest,
        deadline: tokio::time::Instant,
    ) -> Result<(u64, Vec<Applied>), ProposalError> {
        let timeout = deadline.saturating_duration_since(tokio::time::Instant::now());
        let response = self
            .peers
            .call(addr, request, timeout)
            .await
            .map_err(|error| ProposalError::Forward(Arc::new(error)))?;
        match response {
            PeerResponse::Forwarded(Ok(done)) => Ok((done.index, done.applied)),
            PeerResponse::Forwarded(Err(refusal)) => Err(ProposalError::LeaderRefused(refusal)),
            _ => Err(ProposalError::Dropped),
        }
    }

    /// Waits (until `deadline`) for a leader other than `previous` to be known, or a short
    /// while when the same one is still named (its restart may be under way).
    async fn next_leader(
        &self,
        previous: Option<u64>,
        deadline: tokio::time::Instant,
    ) -> Option<u64> {
        let mut metrics = self.raft.metrics();
        let changed =
            metrics.wait_for(|m| m.current_leader.is_some() && m.current_leader != previous);
        let pause = tokio::time::Instant::now() + RETRY_PAUSE;
        let _ = tokio::time::timeout_at(pause.min(deadline), changed).await;
        self.raft.metrics().borrow().current_leader
    }

    /// Appends a batch as the leader and waits for its commit.
    async fn append_locally(&self, batch: TxnBatch) -> Result<(u64, Vec<Applied>), ProposalError> {
        match self.raft.client_write(batch).await {
            Ok(response) => Ok((response.log_id.index, response.data.0)),
            Err(openraft::error::RaftError::APIError(error)) => Err(refused(error)),
            Err(openraft::error::RaftError::Fatal(fatal)) => Err(ProposalError::Stopped(fatal)),
        }
    }
}

/// Why the log refused a write.
fn refused(error: openraft::error::ClientWriteError<u64, RaftNode>) -> ProposalError {
    match error {
        openraft::error::ClientWriteError::ForwardToLeader(to) => ProposalError::NotLeader(to),
        error => ProposalError::Refused(error),
    }
}

/// How long a follower waits before forwarding again to a leader it could not reach.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Waits until this server's replica has applied the entry at `index`.
async fn wait_applied(shared: &Shared, index: u64, timeout: Duration) -> Result<(), ProposalError> {
    let mut applied = shared.subscribe_applied();
    let reached = tokio::time::timeout(timeout, applied.wait_for(|at| *at >= index))
        .await
        .map(|waited| waited.is_ok());
    match reached {
        Ok(true) => Ok(()),
        Ok(false) => Err(ProposalError::Dropped),
        Err(_elapsed) => Err(ProposalError::NotApplied(index)),
    }
}

fn answer_all(waiting: Waiting, outcome: Result<Vec<Applied>, ProposalError>) {
    match outcome {
        Ok(applied) => {
            for ((reply, _slot), applied) in waiting.into_iter().zip(applied) {
                let _ = reply.send(Ok(applied));
            }
        }
        Err(error) => {
            for (reply, _slot) in waiting {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
