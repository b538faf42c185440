//! What keeper peers say to each other on the quorum port (`server.N=host:quorumPort:...`).
//!
//! A connection carries one call at a time: a request frame, then its response frame, each
//! `len u32 (big-endian) | bincode body`. Calls that may run at once use separate connections
//! (see `client`). The messages are raft's own RPCs plus what a follower needs from the leader
//! to serve its clients: writing their transactions, refreshing their sessions, and learning
//! the leader's commit point for `sync`.

use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::raft::TypeConfig;
use crate::txn::{Applied, TxnBatch};

/// The largest frame a peer may send. Peers are other servers of the ensemble, but the port is
/// open to anyone who can reach it: the body is read into a buffer that grows with the bytes
/// received (`ferry_net::read_body`), so a false length costs nothing up front.
pub const MAX_PEER_FRAME: usize = 1 << 30;

#[derive(Debug, Serialize, Deserialize)]
pub enum PeerRequest {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<u64>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A follower's batch of client transactions, for the leader to append.
    Forward(TxnBatch),
    /// Sessions a follower's clients were heard from since its last report.
    Touch(Vec<i64>),
    /// The leader's commit index, confirmed by a quorum (for `sync` on a follower).
    ReadIndex,
    /// A client's `reconfig`, for the leader to carry out.
    Reconfig(ReconfigCall),
    /// Whether the server has joined an ensemble already (a fresh server asks before forming
    /// one, so that a server started to join an existing ensemble waits to be added).
    Initialized,
}

/// A `reconfig` as its client asked it (the follower has checked the client's permission).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReconfigCall {
    /// `server.N=...` specs, comma- or newline-separated (incremental form).
    pub joining: String,
    /// Server ids, comma-separated (incremental form).
    pub leaving: String,
    /// The whole new ensemble as `server.N=...` specs (non-incremental form).
    pub new_members: String,
    /// The config version the client based its change on; -1 for any.
    pub from_config: i64,
}

impl PeerRequest {
    /// Whether sending the request twice does no harm (raft's RPCs are idempotent; a
    /// forwarded batch is not).
    pub fn may_repeat(&self) -> bool {
        !matches!(self, Self::Forward(_) | Self::Reconfig(_))
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub enum PeerResponse {
    AppendEntries(Result<AppendEntriesResponse<u64>, RaftError<u64>>),
    Vote(Result<VoteResponse<u64>, RaftError<u64>>),
    InstallSnapshot(Result<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>>),
    Forwarded(Result<Forwarded, Refusal>),
    Touched,
    ReadIndex(Result<u64, Refusal>),
    /// The new `/zookeeper/config` (a GetDataResponse body), or ZooKeeper's error code.
    Reconfigured(Result<Result<Vec<u8>, i32>, Refusal>),
    Initialized(bool),
}

/// A forwarded batch, committed: the log index of its entry (the follower answers its clients
/// once it has applied that far) and the answer to each transaction.
#[derive(Debug, Serialize, Deserialize)]
pub struct Forwarded {
    pub index: u64,
    pub applied: Vec<Applied>,
}

/// Why the leader did not do what a follower asked.
#[derive(Debug, Clone, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    #[error("server {asked} is not the leader (leader: {leader:?})")]
    NotLeader { asked: u64, leader: Option<u64> },
    #[error("the leader could not commit: {0}")]
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("peer connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("peer frame of {0} bytes is larger than {MAX_PEER_FRAME}")]
    TooLarge(usize),
    #[error("undecodable peer message: {0}")]
    Decode(#[from] bincode::Error),
}

/// Writes one message as a frame.
pub async fn write_message<W, M>(writer: &mut W, message: &M) -> Result<(), WireError>
where
    W: AsyncWrite + Unpin,
    M: Serialize,
{
    let body = bincode::serialize(message)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    writer.write_all(&frame).await?;
    writer.flush().await?;
    Ok(())
}

/// Reads one message; `None` when the peer closed the connection between frames.
pub async fn read_message<R, M>(
    reader: &mut R,
    pool: &ferry_net::MemoryPool,
) -> Result<Option<M>, WireError>
where
    R: AsyncRead + Unpin,
    M: for<'de> Deserialize<'de>,
{
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error.into()),
    }
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_PEER_FRAME {
        return Err(WireError::TooLarge(len));
    }
    let frame = ferry_net::read_body(reader, len, pool).await?;
    Ok(Some(bincode::deserialize(frame.body())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{Txn, TxnKind};

    #[tokio::test]
    async fn a_forwarded_batch_round_trips() {
        let batch = TxnBatch(vec![Txn {
            session_id: 7,
            cxid: 3,
            time: 11,
            auth: vec![("digest".into(), "a:b".into())],
            kind: TxnKind::CloseSession,
        }]);
        let mut buf = Vec::new();
        write_message(&mut buf, &PeerRequest::Forward(batch.clone()))
            .await
            .unwrap();
        let pool = ferry_net::MemoryPool::new(None, "test");
        let read: PeerRequest = read_message(&mut buf.as_slice(), &pool)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(read, PeerRequest::Forward(b) if b == batch));
        let none: Option<PeerRequest> = read_message(&mut [].as_slice(), &pool).await.unwrap();
        assert!(none.is_none());
    }

    #[tokio::test]
    async fn garbage_is_an_error_not_a_panic() {
        let pool = ferry_net::MemoryPool::new(None, "test");
        let mut frame = 5u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[0xff; 5]);
        let read: Result<Option<PeerRequest>, _> = read_message(&mut frame.as_slice(), &pool).await;
        assert!(read.is_err());
        let huge = u32::MAX.to_be_bytes();
        let read: Result<Option<PeerRequest>, _> = read_message(&mut huge.as_slice(), &pool).await;
        assert!(matches!(read, Err(WireError::TooLarge(_))));
    }
}
