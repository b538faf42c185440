//! The quorum port: answers the calls of the other servers (raft's RPCs, and a follower's
//! forwarded writes, session refreshes and `sync` read index).

use std::sync::Arc;

use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};

use super::wire::{read_message, write_message, Forwarded, PeerRequest, PeerResponse, Refusal};
use crate::server::Keeper;
use crate::txn::{TxnBatch, TxnKind};

/// Accepts peer connections until the process ends.
pub async fn serve_peers(keeper: Arc<Keeper>, listener: TcpListener) {
    let pool = Arc::new(ferry_net::MemoryPool::new(None, "peer frames"));
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let (keeper, pool) = (keeper.clone(), pool.clone());
                tokio::spawn(async move {
                    if let Err(error) = serve_peer(&keeper, stream, &pool).await {
                        tracing::debug!(%peer, %error, "peer connection ended");
                    }
                });
            }
            Err(error) => {
                tracing::warn!(%error, "accept on the quorum port failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_peer(
    keeper: &Arc<Keeper>,
    stream: TcpStream,
    pool: &ferry_net::MemoryPool,
) -> Result<(), super::wire::WireError> {
    let mut stream = BufReader::new(stream);
    while let Some(request) = read_message::<_, PeerRequest>(&mut stream, pool).await? {
        let response = answer(keeper, request).await;
        write_message(&mut stream, &response).await?;
    }
    Ok(())
}

async fn answer(keeper: &Arc<Keeper>, request: PeerRequest) -> PeerResponse {
    match request {
        PeerRequest::AppendEntries(rpc) => {
            PeerResponse::AppendEntries(keeper.raft.append_entries(rpc).await)
        }
        PeerRequest::Vote(rpc) => PeerResponse::Vote(keeper.raft.vote(rpc).await),
        PeerRequest::InstallSnapshot(rpc) => {
            PeerResponse::InstallSnapshot(keeper.raft.install_snapshot(rpc).await)
        }
        PeerRequest::Forward(batch) => {
            PeerResponse::Forwarded(write_forwarded(keeper, batch).await)
        }
        PeerRequest::Touch(sessions) => {
            keeper.refresh_sessions(&sessions);
            PeerResponse::Touched
        }
        PeerRequest::ReadIndex => PeerResponse::ReadIndex(read_index(keeper).await),
        PeerRequest::Reconfig(call) => PeerResponse::Reconfigured(if keeper.is_leader() {
            Ok(keeper.reconfigure(&call).await.map_err(|code| code.code()))
        } else {
            Err(not_leader(keeper))
        }),
        PeerRequest::Initialized => {
            PeerResponse::Initialized(keeper.raft.is_initialized().await.unwrap_or(false))
        }
    }
}

fn not_leader(keeper: &Keeper) -> Refusal {
    Refusal::NotLeader {
        asked: keeper.node_id,
        leader: keeper.raft.metrics().borrow().current_leader,
    }
}

/// Appends a follower's batch as one entry. Sessions it creates are tracked here from now on
/// (the leader expires sessions); sessions it closes are forgotten when the entry is applied.
async fn write_forwarded(keeper: &Keeper, batch: TxnBatch) -> Result<Forwarded, Refusal> {
    let created: Vec<(i64, i32)> = batch
        .0
        .iter()
        .filter_map(|txn| match &txn.kind {
            TxnKind::CreateSession { timeout_ms, .. } => Some((txn.session_id, *timeout_ms)),
            _ => None,
        })
        .collect();
    match keeper.raft.client_write(batch).await {
        Ok(response) => {
            for (session, timeout_ms) in created {
                keeper.sessions.track(session, timeout_ms);
            }
            Ok(Forwarded {
                index: response.log_id.index,
                applied: response.data.0,
            })
        }
        Err(openraft::error::RaftError::APIError(
            openraft::error::ClientWriteError::ForwardToLeader(_),
        )) => Err(not_leader(keeper)),
        Err(error) => Err(Refusal::Failed(error.to_string())),
    }
}

/// The commit index as of now, once a quorum has confirmed this server still leads.
async fn read_index(keeper: &Keeper) -> Result<u64, Refusal> {
    if !keeper.is_leader() {
        return Err(not_leader(keeper));
    }
    keeper.local_read_index().await.map_err(Refusal::Failed)
}
