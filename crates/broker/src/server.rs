//! The Kafka listener: one tokio task per connection.
//!
//! A connection reads size-prefixed frames and answers each before reading the next. Kafka
//! requires responses in request order on a connection; handling one request at a time gives
//! that for free (the Java broker also mutes a channel while its request is in flight). Anything
//! wrong with a connection (oversize frame, undecodable request, I/O error) closes that
//! connection only; handlers never panic on input and other connections go on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

use crate::broker::{Broker, BrokerError};
use crate::handlers;

/// Binds the configured listener (`listeners`; an empty host is every interface).
pub async fn bind(broker: &Broker) -> Result<TcpListener, BrokerError> {
    let l = &broker.config.listener;
    let host = if l.host.is_empty() {
        "0.0.0.0"
    } else {
        &l.host
    };
    let addr = format!("{host}:{}", l.port);
    TcpListener::bind(&addr)
        .await
        .map_err(|source| BrokerError::Bind { addr, source })
}

/// Accepts connections until the task is dropped.
pub async fn accept_loop(broker: Arc<Broker>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let broker = broker.clone();
                tokio::spawn(async move {
                    if let Err(error) = serve(broker, stream).await {
                        tracing::debug!(%peer, %error, "connection closed");
                    }
                });
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("request of {size} bytes exceeds socket.request.max.bytes {max}")]
    TooLarge { size: i64, max: usize },
    #[error("request rejected: {0}")]
    Rejected(String),
}

async fn serve(broker: Arc<Broker>, stream: TcpStream) -> Result<(), ConnectionError> {
    stream.set_nodelay(true)?;
    let peer: Option<SocketAddr> = stream.peer_addr().ok();
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut writer = BufWriter::new(write);
    let max = broker.config.socket_request_max_bytes;
    loop {
        let size = match reader.read_i32().await {
            Ok(size) => size,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let len = usize::try_from(size).ok().filter(|&n| n <= max);
        let Some(len) = len else {
            return Err(ConnectionError::TooLarge {
                size: size.into(),
                max,
            });
        };
        let mut frame = BytesMut::zeroed(len);
        reader.read_exact(&mut frame).await?;
        match handlers::handle(&broker, frame.freeze(), peer).await {
            Ok(Some(response)) => {
                let size = u32::try_from(response.len()).unwrap_or(u32::MAX);
                writer.write_u32(size).await?;
                writer.write_all(&response).await?;
                writer.flush().await?;
            }
            Ok(None) => {} // acks=0 produce: no response at all
            Err(reason) => {
                tracing::debug!(?peer, %reason, "closing connection");
                return Err(ConnectionError::Rejected(reason.to_string()));
            }
        }
    }
}
