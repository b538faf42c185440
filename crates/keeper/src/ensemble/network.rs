//! openraft's transport between keeper peers, over the peer protocol (`wire`). A standalone
//! keeper is a one-voter group and never sends an RPC through it.

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;

use super::client::{CallError, PeerClient};
use super::wire::{PeerRequest, PeerResponse};
use crate::raft::TypeConfig;

/// Hands out connections to peers; the node's `addr` is its `host:quorumPort`.
#[derive(Clone, Default)]
pub struct PeerNetwork {
    client: PeerClient,
}

impl PeerNetwork {
    pub fn new(client: PeerClient) -> Self {
        Self { client }
    }
}

pub struct PeerConnection {
    target: u64,
    node: BasicNode,
    client: PeerClient,
}

#[derive(Debug, thiserror::Error)]
#[error("peer {peer} answered a {asked} request with another kind of response")]
struct MismatchedResponse {
    peer: u64,
    asked: &'static str,
}

/// What a peer answered to a raft RPC: its result, or its raft error.
type RemoteAnswer<T, E> = Result<T, RaftError<u64, E>>;

impl PeerConnection {
    /// Sends a raft RPC; `unpack` takes the matching response apart.
    async fn rpc<T, E>(
        &self,
        request: PeerRequest,
        option: &RPCOption,
        unpack: fn(PeerResponse) -> Option<RemoteAnswer<T, E>>,
    ) -> Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>
    where
        E: std::error::Error,
    {
        let asked = match &request {
            PeerRequest::AppendEntries(_) => "AppendEntries",
            PeerRequest::Vote(_) => "Vote",
            PeerRequest::InstallSnapshot(_) => "InstallSnapshot",
            _ => "peer",
        };
        let response = self
            .client
            .call(&self.node.addr, &request, option.hard_ttl())
            .await
            .map_err(|error| transport_error(&error))?;
        match unpack(response) {
            Some(Ok(answer)) => Ok(answer),
            Some(Err(remote)) => Err(RPCError::RemoteError(RemoteError::new_with_node(
                self.target,
                self.node.clone(),
                remote,
            ))),
            None => Err(RPCError::Network(NetworkError::new(&MismatchedResponse {
                peer: self.target,
                asked,
            }))),
        }
    }
}

/// A peer that cannot be dialled is unreachable (openraft backs off); any other failure is a
/// network error (retried at once).
fn transport_error<E: std::error::Error>(error: &CallError) -> RPCError<u64, BasicNode, E> {
    if error.is_unreachable() {
        RPCError::Unreachable(Unreachable::new(error))
    } else {
        RPCError::Network(NetworkError::new(error))
    }
}

impl RaftNetworkFactory<TypeConfig> for PeerNetwork {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> PeerConnection {
        PeerConnection {
            target,
            node: node.clone(),
            client: self.client.clone(),
        }
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.rpc(PeerRequest::AppendEntries(rpc), &option, |r| match r {
            PeerResponse::AppendEntries(answer) => Some(answer),
            _ => None,
        })
        .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>,
    > {
        self.rpc(PeerRequest::InstallSnapshot(rpc), &option, |r| match r {
            PeerResponse::InstallSnapshot(answer) => Some(answer),
            _ => None,
        })
        .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.rpc(PeerRequest::Vote(rpc), &option, |r| match r {
            PeerResponse::Vote(answer) => Some(answer),
            _ => None,
        })
        .await
    }
}
