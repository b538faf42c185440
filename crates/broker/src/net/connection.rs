//! One client connection: read a frame (within its deadlines), handle it, queue the answer,
//! repeat; a writer task writes the answers in request order (within their deadline).
//!
//! Requests are handled one after the other, so what they change happens in request order,
//! as in Kafka. An acks=all produce's answer waits for the ISR to replicate its records; the
//! connection goes on reading and appending the next requests meanwhile (up to
//! [`PIPELINE_DEPTH`] answers queued), which is what lets a client with many small batches in
//! flight reach the throughput of one replication round trip per *group* of batches instead
//! of per batch. Answers still leave in request order.
//!
//! Deadlines, all `connections.max.idle.ms`: the next frame must start within it (an idle
//! connection is closed, as Kafka closes one), a frame that has started must be complete within
//! it (a client cannot hold a connection and its buffer by sending a length and then nothing),
//! and an answer must be taken by the client within it (one that reads no answers is closed,
//! which releases what it held).

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use ferry_kafka_protocol::{Encoded, Part};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::time::{timeout, timeout_at, Instant};

use crate::broker::Broker;
use crate::handlers::{self, Answer, LaterAnswer};

/// How many answers one connection may have queued (waiting for replication or for the
/// socket) before it stops reading requests.
pub const PIPELINE_DEPTH: usize = 64;

/// What one read from a client's socket may take: several pipelined requests (a producer's
/// batches are 16 KiB by default) arrive in one read instead of two or three reads each,
/// for a copy of their bytes out of this buffer, which costs less than the reads saved.
/// Pages a connection's reads never reach are not resident: 2,000 connections that sent one
/// small request each measured the same broker memory with this buffer as with 8 KiB.
const READ_BUFFER: usize = 64 * 1024;

/// An answer on its way out, with what its request still holds.
struct Outgoing {
    api_key: i16,
    started: std::time::Instant,
    /// The `queued.max.requests` slot, held until the answer is written.
    _slot: OwnedSemaphorePermit,
    answer: Answer,
}

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
    let mut reader = BufReader::with_capacity(READ_BUFFER, read);
    let (answers, queued) = mpsc::channel(PIPELINE_DEPTH);
    let writer = tokio::spawn(write_answers(
        Arc::clone(&broker),
        peer,
        BufWriter::new(write),
        queued,
    ));
    let read = read_requests(&broker, peer, &mut reader, answers).await;
    // The answers queued before the end (or the error) still go out.
    let written = match writer.await {
        Ok(result) => result,
        Err(_panicked) => Ok(()),
    };
    read.and(written)
}

/// Reads and handles requests until the client closes or an error ends the connection.
async fn read_requests(
    broker: &Arc<Broker>,
    peer: SocketAddr,
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    answers: mpsc::Sender<Outgoing>,
) -> Result<(), ConnectionError> {
    let net = &broker.net;
    let max = net.settings.request_max_bytes;
    let limit = net.settings.max_idle;
    loop {
        match timeout(limit, ferry_net::frame::wait_readable(reader)).await {
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
            Ok(ferry_net::read_body(reader, len, &net.pool).await?)
        })
        .await;
        let frame = frame.map_err(|_elapsed| stalled(broker, peer, "request"))??;
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
        let answer = handlers::handle(broker, Bytes::from(body), Some(peer)).await;
        // The request's bytes are done with once it is handled.
        drop(memory);
        let outgoing = Outgoing {
            api_key,
            started,
            _slot: slot,
            answer: answer?,
        };
        if answers.send(outgoing).await.is_err() {
            // The writer stopped (its error is the connection's).
            return Ok(());
        }
    }
}

/// Writes the answers in request order, each within `connections.max.idle.ms` once it is
/// ready; the buffer is flushed whenever no further answer is ready, so pipelined answers
/// share writes and none waits in the buffer.
async fn write_answers(
    broker: Arc<Broker>,
    peer: SocketAddr,
    mut writer: BufWriter<OwnedWriteHalf>,
    mut queued: mpsc::Receiver<Outgoing>,
) -> Result<(), ConnectionError> {
    let net = &broker.net;
    let limit = net.settings.max_idle;
    loop {
        if queued.is_empty() {
            flush(&broker, peer, &mut writer).await?;
        }
        let Some(out) = queued.recv().await else {
            return flush(&broker, peer, &mut writer).await;
        };
        let response = match out.answer {
            Answer::Now(response) => response,
            Answer::Later(waiting) => resolve_after_flushing(&broker, peer, &mut writer, waiting)
                .await?
                .map_err(ConnectionError::from)?,
        };
        // acks=0 produce: no response at all.
        let Some(response) = response else {
            net.record_request(out.api_key, out.started.elapsed());
            continue;
        };
        let written = timeout(limit, write_frame(&mut writer, response)).await;
        net.record_request(out.api_key, out.started.elapsed());
        written.map_err(|_elapsed| stalled(&broker, peer, "answer"))??;
    }
}

/// The answer of a request still waiting (an acks=all produce). It may be ready already:
/// one high watermark advance completes several, and those then share one write. Only an
/// answer that must really wait has the buffered ones sent first, so that they are not held
/// back behind it.
async fn resolve_after_flushing(
    broker: &Broker,
    peer: SocketAddr,
    writer: &mut BufWriter<OwnedWriteHalf>,
    mut waiting: LaterAnswer,
) -> Result<Result<Option<Encoded>, handlers::HandleError>, ConnectionError> {
    if let Poll::Ready(answer) = poll_fn(|cx| Poll::Ready(waiting.as_mut().poll(cx))).await {
        return Ok(answer);
    }
    flush(broker, peer, writer).await?;
    Ok(waiting.await)
}

/// Writes one answer with its size prefix: its parts in order, the file slices among them
/// (a follower's records) straight from the page cache with `sendfile`.
async fn write_frame(
    writer: &mut BufWriter<OwnedWriteHalf>,
    response: Encoded,
) -> std::io::Result<()> {
    for part in response.framed() {
        match part {
            Part::Bytes(bytes) => writer.write_all(&bytes).await?,
            Part::File(slice) => {
                writer.flush().await?;
                let stream = writer.get_ref().as_ref();
                ferry_net::send_file(stream, &slice.file, slice.position, slice.len).await?;
            }
        }
    }
    Ok(())
}

/// Pushes the buffered answers out, within `connections.max.idle.ms`.
async fn flush(
    broker: &Broker,
    peer: SocketAddr,
    writer: &mut BufWriter<OwnedWriteHalf>,
) -> Result<(), ConnectionError> {
    let limit = broker.net.settings.max_idle;
    timeout(limit, writer.flush())
        .await
        .map_err(|_elapsed| stalled(broker, peer, "answer"))?
        .map_err(ConnectionError::from)
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
