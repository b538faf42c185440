//! One client connection: read a frame (within its deadlines), handle it, write the answer
//! (within its deadline), repeat.
//!
//! Deadlines, all `connections.max.idle.ms`: the next frame must start within it (an idle
//! connection is closed, as Kafka closes one), a frame that has started must be complete within
//! it (a client cannot hold a connection and its buffer by sending a length and then nothing),
//! and an answer must be taken by the client within it (one that reads no answers is closed,
//! which releases what it held).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

use crate::broker::Broker;
use crate::handlers;

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("request of {size} bytes exceeds socket.request.max.bytes {max}")]
    TooLarge { size: i64, max: usize },
    #[error("no request for {0:?} (connections.max.idle.ms)")]
    Idle(std::time::Duration),
    #[error("{what} not complete within {limit:?} (connections.max.idle.ms)")]
    Stalled {
        what: &'static str,
        limit: std::time::Duration,
    },
    #[error("request rejected: {0}")]
    Rejected(#[from] handlers::HandleError),
}

pub async fn serve(
    broker: Arc<Broker>,
    stream: TcpStream,
    peer: SocketAddr,
) -> Result<(), ConnectionError> {
    stream.set_nodelay(true)?;
    let net = &broker.net;
    net.accepted.fetch_add(1, Ordering::Relaxed);
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut writer = BufWriter::new(write);
    let max = net.settings.request_max_bytes;
    let limit = net.settings.max_idle;
    loop {
        match timeout(limit, ferry_net::frame::wait_readable(&mut reader)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return Ok(()), // the client closed between requests
            Ok(Err(e)) => return Err(e.into()),
            Err(_idle) => {
                net.idle_closed
                    .hit(format_args!("closing {peer}: no request for {limit:?}"));
                return Err(ConnectionError::Idle(limit));
            }
        }
        let deadline = Instant::now() + limit;
        let frame = timeout_at(deadline, async {
            let size = reader.read_i32().await?;
            let Some(len) = usize::try_from(size).ok().filter(|&n| n <= max) else {
                net.oversize.hit(format_args!(
                    "closing {peer}: request of {size} bytes exceeds socket.request.max.bytes {max}"
                ));
                return Err(ConnectionError::TooLarge {
                    size: size.into(),
                    max,
                });
            };
            Ok(ferry_net::read_body(&mut reader, len, &net.pool).await?)
        })
        .await;
        let frame = frame.map_err(|_elapsed| stalled(&broker, peer, "request"))??;
        let slot = match net.request_slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                net.slots_full.hit(format_args!(
                    "{} requests in progress (queued.max.requests); {peer} waits",
                    net.settings.queued_max_requests
                ));
                match net.request_slots.clone().acquire_owned().await {
                    Ok(slot) => slot,
                    Err(_closed) => return Ok(()),
                }
            }
        };
        let started = std::time::Instant::now();
        let (body, memory) = frame.into_parts();
        let api_key = match body.get(..2) {
            Some(&[a, b]) => i16::from_be_bytes([a, b]),
            _ => -1,
        };
        let answer = handlers::handle(&broker, Bytes::from(body), Some(peer)).await;
        // The request's bytes are done with once it is handled.
        drop((memory, slot));
        // acks=0 produce: no response at all.
        let Some(response) = answer? else {
            net.record_request(api_key, started.elapsed());
            continue;
        };
        let size = u32::try_from(response.len()).unwrap_or(u32::MAX);
        let written = timeout(limit, async {
            writer.write_u32(size).await?;
            writer.write_all(&response).await?;
            writer.flush().await
        })
        .await;
        net.record_request(api_key, started.elapsed());
        written.map_err(|_elapsed| stalled(&broker, peer, "answer"))??;
    }
}

/// A request that did not arrive, or an answer that was not taken, within
/// `connections.max.idle.ms`: counted, and the connection's end.
fn stalled(broker: &Broker, peer: SocketAddr, what: &'static str) -> ConnectionError {
    let limit = broker.net.settings.max_idle;
    broker.net.stalled_closed.hit(format_args!(
        "closing {peer}: {what} not complete within {limit:?}"
    ));
    ConnectionError::Stalled { what, limit }
}
