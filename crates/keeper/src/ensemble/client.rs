//! Calls to other servers of the ensemble: a pool of idle connections per peer address, one
//! call per connection at a time. A call that fails or times out drops its connection (its
//! stream may hold half a frame); the next call dials afresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::TcpStream;

use super::wire::{read_message, write_message, PeerRequest, PeerResponse, WireError};

/// Idle connections kept per peer; calls beyond that many at once dial extra connections
/// that are closed after use.
const IDLE_PER_PEER: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("cannot connect to peer {addr}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("peer {addr} did not answer within {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
    #[error("peer {addr} closed the connection without answering")]
    Closed { addr: String },
    #[error("call to peer {addr} failed")]
    Wire {
        addr: String,
        #[source]
        source: WireError,
    },
}

impl CallError {
    /// The peer could not be reached at all (as opposed to failing during the call).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }
}

type Stream = BufReader<TcpStream>;

#[derive(Clone)]
pub struct PeerClient {
    idle: Arc<Mutex<HashMap<String, Vec<Stream>>>>,
    pool: Arc<ferry_net::MemoryPool>,
}

impl Default for PeerClient {
    fn default() -> Self {
        Self {
            idle: Arc::default(),
            pool: Arc::new(ferry_net::MemoryPool::new(None, "peer frames")),
        }
    }
}

impl PeerClient {
    /// Sends `request` to the server at `addr` and waits at most `timeout` (dialling included)
    /// for its response.
    pub async fn call(
        &self,
        addr: &str,
        request: &PeerRequest,
        timeout: Duration,
    ) -> Result<PeerResponse, CallError> {
        let exchange = async {
            // A pooled connection may have been closed by the peer (it restarted) since its
            // last use: then a call that may be repeated is tried once more on a fresh one. (A
            // forwarded write may not: the peer may have committed it before the stream broke.)
            if let Some(stream) = self.take_idle(addr) {
                match self.exchange(addr, stream, request).await {
                    Err(CallError::Closed { .. } | CallError::Wire { .. })
                        if request.may_repeat() => {}
                    answered => return answered,
                }
            }
            let stream = Self::dial(addr).await?;
            self.exchange(addr, stream, request).await
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_elapsed| {
                Err(CallError::Timeout {
                    addr: addr.to_string(),
                    timeout,
                })
            })
    }

    async fn exchange(
        &self,
        addr: &str,
        mut stream: Stream,
        request: &PeerRequest,
    ) -> Result<PeerResponse, CallError> {
        let wire = |source| CallError::Wire {
            addr: addr.to_string(),
            source,
        };
        write_message(&mut stream, request).await.map_err(wire)?;
        let response = read_message(&mut stream, &self.pool)
            .await
            .map_err(wire)?
            .ok_or_else(|| CallError::Closed {
                addr: addr.to_string(),
            })?;
        self.put_idle(addr, stream);
        Ok(response)
    }

    async fn dial(addr: &str) -> Result<Stream, CallError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| CallError::Connect {
                addr: addr.to_string(),
                source,
            })?;
        // Raft's heartbeats and forwarded writes are small and latency-bound.
        let _ = stream.set_nodelay(true);
        Ok(BufReader::new(stream))
    }

    fn take_idle(&self, addr: &str) -> Option<Stream> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.get_mut(addr).and_then(Vec::pop)
    }

    fn put_idle(&self, addr: &str, stream: Stream) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let streams = idle.entry(addr.to_string()).or_default();
        if streams.len() < IDLE_PER_PEER {
            streams.push(stream);
        }
    }
}
