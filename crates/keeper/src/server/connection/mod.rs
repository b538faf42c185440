//! One client connection: the handshake, then three cooperating parts joined by bounded
//! queues:
//!
//! - the *reader* (this task) decodes frames in arrival order; writes are handed to raft at
//!   once (so a session's writes pipeline), and every request leaves a *step* in the queue;
//! - the *responder* runs the steps strictly in order: a write's step waits for its commit, a
//!   read's step reads the database at that moment — after every earlier write of the session
//!   has been applied — which is ZooKeeper's FIFO-per-session guarantee;
//! - the *writer* ([`outbound`]) owns the socket's write half and sends replies and watch
//!   events in the order they were queued, batching what is ready into one write.
//!
//! What bounds a connection: every frame is read into a buffer that grows with the bytes
//! received (`ferry_net::read_body`), and must be complete within its deadline (the handshake
//! within the sessionless timeout, later frames within the session timeout, which is also how
//! long a connection may stay idle); the step queue holds at most `globalOutstandingLimit`
//! steps; replies wait while the client has not read its earlier ones ([`outbound`]); and a
//! write needs one of the server's `globalOutstandingLimit` slots, so past that many writes in
//! the pipeline the server stops reading requests, as ZooKeeper throttles.

mod outbound;
mod requests;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_jute::{body_len, write_frame, Bytes, ConnectRequest, ConnectResponse, Id, Record};
use tokio::io::{AsyncBufRead, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};

use self::outbound::Outbound;
use self::requests::{Action, Caller, Step};
use super::registry::{Admitted, PacketCounters};
use super::{four_letter, Keeper};
use crate::txn::TxnKind;

/// The socket read buffer of a connection: enough for a burst of small requests in one
/// read; a large frame goes straight into its own growing buffer past it.
const READ_BUFFER: usize = 8 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame: {0}")]
    Frame(#[from] ferry_jute::FrameError),
    #[error("malformed request: {0}")]
    Decode(#[from] ferry_jute::DecodeError),
    #[error("no complete handshake within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("no complete request within {0:?} (the session timeout)")]
    Idle(Duration),
    #[error("client has seen zxid {seen:#x}, our last zxid is {ours:#x}")]
    AheadOfUs { seen: i64, ours: i64 },
    #[error("session {0:#x} expired or password mismatch")]
    SessionRefused(i64),
    #[error("creating the session: {0}")]
    CreateSession(#[source] Box<super::KeeperError>),
    #[error("the client reads nothing")]
    SlowReader,
    #[error("this server has no quorum (no leader it can reach): not serving")]
    NotServing,
}

/// Serves a TCP client connection, counted against `maxClientCnxns`.
pub async fn serve(keeper: Arc<Keeper>, stream: TcpStream, peer: SocketAddr) {
    let Some(admitted) = keeper.registry.admit(peer) else {
        return; // refused: counted and logged by the quotas
    };
    let _ = stream.set_nodelay(true);
    serve_admitted(keeper, stream, admitted).await;
}

/// Serves an in-process connection (the embedded broker of `ferry standalone`): the same
/// protocol, never counted against a client limit.
pub async fn serve_local<S>(keeper: Arc<Keeper>, stream: S, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let admitted = keeper.registry.admit_exempt(peer);
    serve_admitted(keeper, stream, admitted).await;
}

async fn serve_admitted<S>(keeper: Arc<Keeper>, stream: S, admitted: Admitted)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (id, peer) = (admitted.id, admitted.peer);
    match run(&keeper, stream, &admitted).await {
        Ok(()) => tracing::debug!(%peer, "connection closed"),
        Err(ConnectionError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            tracing::debug!(%peer, "client went away")
        }
        Err(error) => tracing::info!(%peer, %error, "closing connection"),
    }
    keeper.shared.watches().disconnect(id);
    keeper.registry.leave(id);
    drop(admitted);
}

/// Reads one frame's body (its prefix already read), refusing one over `jute.maxbuffer`.
async fn read_body<R: AsyncRead + Unpin>(
    keeper: &Keeper,
    reader: &mut R,
    prefix: [u8; 4],
) -> Result<ferry_net::Frame, ConnectionError> {
    let max = keeper.config.jute_max_buffer;
    let len = match body_len(&prefix, max) {
        Ok(len) => len.unwrap_or(0),
        Err(error) => {
            keeper
                .limits
                .oversize
                .hit(format_args!("closing a connection: {error}"));
            return Err(error.into());
        }
    };
    Ok(ferry_net::read_body(reader, len, &keeper.limits.pool).await?)
}

/// Reads the next request frame: it must start within `idle` and be complete within `idle`
/// of its first byte. `None` when the client closed the connection between frames.
async fn next_frame<R: AsyncBufRead + Unpin>(
    keeper: &Keeper,
    reader: &mut R,
    idle: Duration,
) -> Result<Option<ferry_net::Frame>, ConnectionError> {
    let idle_closed = |_| {
        keeper
            .limits
            .idle_closed
            .hit(format_args!("closing a connection silent for {idle:?}"));
        ConnectionError::Idle(idle)
    };
    let started = tokio::time::timeout(idle, ferry_net::frame::wait_readable(reader))
        .await
        .map_err(idle_closed)??;
    if !started {
        return Ok(None);
    }
    let frame = tokio::time::timeout(idle, async {
        let mut prefix = [0u8; 4];
        reader.read_exact(&mut prefix).await?;
        read_body(keeper, reader, prefix).await
    })
    .await
    .map_err(idle_closed)??;
    Ok(Some(frame))
}

async fn run<S>(keeper: &Arc<Keeper>, stream: S, admitted: &Admitted) -> Result<(), ConnectionError>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (id, peer) = (admitted.id, admitted.peer);
    let mut closed = admitted.closed.clone();
    let (read_half, mut write_half) = tokio::io::split(stream);
    let mut reader = BufReader::with_capacity(READ_BUFFER, read_half);

    // The whole first frame (a four-letter word or the handshake) within the sessionless
    // timeout: a client cannot hold a connection by sending a length and nothing more.
    let silence = Duration::from_millis(keeper.config.sessionless_timeout_ms);
    let first = tokio::time::timeout(silence, async {
        let mut prefix = [0u8; 4];
        reader.read_exact(&mut prefix).await?;
        if let Some(answer) = four_letter::answer(keeper, &prefix) {
            return Ok(Err(answer));
        }
        Ok::<_, ConnectionError>(Ok(read_body(keeper, &mut reader, prefix).await?))
    })
    .await
    .map_err(|_elapsed| {
        keeper.limits.handshake_timeouts.hit(format_args!(
            "closing {peer}: no complete handshake within {silence:?}"
        ));
        ConnectionError::HandshakeTimeout(silence)
    })?;
    let body = match first? {
        Ok(frame) => frame,
        Err(answer) => {
            write_half.write_all(answer.as_bytes()).await?;
            write_half.shutdown().await?;
            return Ok(());
        }
    };
    let connect = ConnectRequest::from_bytes(body.body())?;
    drop(body);
    // Closed while the handshake waits (on the log, for a new session: the server lost its
    // leader meanwhile), the connection goes at once, so that the client tries another server
    // rather than waiting on this one's election only to be closed when it ends.
    let (session, response) = tokio::select! {
        answer = handshake(keeper, &connect, id) => answer?,
        _ = closed.wait_for(|c| *c) => return Err(ConnectionError::NotServing),
    };
    let mut frame = Vec::new();
    write_frame(&mut frame, &response.to_bytes());
    write_half.write_all(&frame).await?;
    if session == 0 {
        return Err(ConnectionError::SessionRefused(connect.session_id));
    }
    let session_timeout = Duration::from_millis(response.time_out.max(1) as u64);

    let jute_max = keeper.config.jute_max_buffer;
    let (out, outbound) = outbound::channel(
        outbound::soft_limit(jute_max),
        outbound::hard_limit(jute_max),
    );
    let event_out = out.clone();
    let limits = keeper.limits.clone();
    keeper.shared.watches().connect(
        id,
        Box::new(move |event| event_out.event(&event, &limits.slow_readers)),
    );
    let writer = {
        let keeper = keeper.clone();
        let packets = admitted.packets.clone();
        tokio::spawn(async move {
            let stats = &keeper.stats;
            outbound::write_loop(
                write_half,
                outbound,
                session_timeout,
                &keeper.limits.slow_readers,
                || {
                    stats.sent();
                    packets.sent.fetch_add(1, Ordering::Relaxed);
                },
            )
            .await
        })
    };
    let (steps, queue) = mpsc::channel::<Step>(keeper.config.global_outstanding_limit.max(1));
    let responder = tokio::spawn(respond_loop(queue, out.clone()));
    let mut auth = vec![Id {
        scheme: "ip".into(),
        id: peer.ip().to_string(),
    }];
    let result = serve_requests(
        keeper,
        &mut reader,
        &mut closed,
        &out,
        &steps,
        Caller {
            keeper,
            session,
            connection: id,
            auth: &mut auth,
            read_only: response.read_only == Some(true),
        },
        &admitted.packets,
        session_timeout,
    )
    .await;
    drop(steps);
    // Let queued answers go out before the socket closes (unless the client reads nothing).
    tokio::select! {
        _ = responder => {}
        () = out.overflowed() => {}
    }
    out.close();
    drop(out);
    let _ = writer.await;
    result
}

/// Ends when the connection should close: the client left or misbehaved, or the server
/// closed it (session expired, taken over by another connection).
#[allow(clippy::too_many_arguments)]
async fn serve_requests<R: AsyncBufRead + Unpin>(
    keeper: &Arc<Keeper>,
    reader: &mut R,
    closed: &mut watch::Receiver<bool>,
    out: &Outbound,
    steps: &mpsc::Sender<Step>,
    mut caller: Caller<'_>,
    packets: &PacketCounters,
    session_timeout: Duration,
) -> Result<(), ConnectionError> {
    loop {
        let frame = tokio::select! {
            frame = next_frame(keeper, reader, session_timeout) => frame?,
            _ = closed.wait_for(|c| *c) => return Ok(()),
            () = out.overflowed() => return Err(ConnectionError::SlowReader),
        };
        let Some(frame) = frame else { return Ok(()) };
        keeper.stats.received();
        packets.received.fetch_add(1, Ordering::Relaxed);
        keeper.sessions.touch(caller.session);
        let started = Instant::now();
        let step = match caller.handle(frame.body())? {
            Action::Answer(step) => step,
            Action::Write {
                xid,
                kind,
                close_after,
            } => {
                let slot = tokio::select! {
                    slot = write_slot(keeper) => slot,
                    _ = closed.wait_for(|c| *c) => return Ok(()),
                    () = out.overflowed() => return Err(ConnectionError::SlowReader),
                };
                let Some(slot) = slot else { return Ok(()) };
                caller.submit(xid, kind, close_after, slot)
            }
        };
        drop(frame);
        let outstanding = Outstanding::new(keeper.clone());
        let timed: Step = Box::pin(async move {
            let answer = step.await;
            outstanding
                .0
                .stats
                .record_latency(started.elapsed().as_micros() as u64);
            answer
        });
        // A full queue (the client reads nothing back) stops reading from it.
        tokio::select! {
            sent = steps.send(timed) => if sent.is_err() { return Ok(()) },
            _ = closed.wait_for(|c| *c) => return Ok(()),
            () = out.overflowed() => return Err(ConnectionError::SlowReader),
        }
    }
}

/// One of the `globalOutstandingLimit` slots for a write; waits (reading nothing more from
/// this connection) while all are taken.
async fn write_slot(keeper: &Keeper) -> Option<OwnedSemaphorePermit> {
    let slots = &keeper.limits.write_slots;
    match slots.clone().try_acquire_owned() {
        Ok(slot) => Some(slot),
        Err(_) => {
            keeper.limits.throttled.hit(format_args!(
                "{} writes outstanding (globalOutstandingLimit): reading paused",
                keeper.config.global_outstanding_limit
            ));
            slots.clone().acquire_owned().await.ok()
        }
    }
}

/// Counts a request as outstanding until its step is done or dropped (a closing connection
/// drops the steps it will not answer).
struct Outstanding(Arc<Keeper>);

impl Outstanding {
    fn new(keeper: Arc<Keeper>) -> Self {
        keeper.stats.outstanding.fetch_add(1, Ordering::Relaxed);
        Self(keeper)
    }
}

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.0.stats.outstanding.fetch_sub(1, Ordering::Relaxed);
    }
}

/// New session or re-attach to an existing one. A refused attach answers with session 0.
async fn handshake(
    keeper: &Arc<Keeper>,
    request: &ConnectRequest,
    connection: u64,
) -> Result<(i64, ConnectResponse), ConnectionError> {
    let read_only = !keeper.is_serving();
    if read_only && !(keeper.config.read_only_mode && request.read_only) {
        return Err(ConnectionError::NotServing);
    }
    let last_zxid = keeper.shared.read().db.last_zxid;
    if request.last_zxid_seen > last_zxid {
        return Err(ConnectionError::AheadOfUs {
            seen: request.last_zxid_seen,
            ours: last_zxid,
        });
    }
    let timeout = keeper.config.negotiate_timeout(request.time_out);
    let refused = ConnectResponse {
        protocol_version: 0,
        time_out: 0,
        session_id: 0,
        passwd: Bytes::from_static(&[0; 16]),
        read_only: Some(false),
    };
    let (session, password) = if request.session_id == 0 && read_only {
        // A session of this server alone, never in the log (ZooKeeper's read-only server
        // hands out such local sessions too): it ends with its connection.
        let password: [u8; 16] = rand::random();
        (
            keeper.sessions.next_session_id(),
            Bytes::copy_from_slice(&password),
        )
    } else if request.session_id == 0 {
        let session = keeper.sessions.next_session_id();
        let password: [u8; 16] = rand::random();
        let password = Bytes::copy_from_slice(&password);
        let kind = TxnKind::CreateSession {
            timeout_ms: timeout,
            password: password.clone(),
        };
        keeper
            .submit(session, 0, Vec::new(), kind)
            .await
            .map_err(|e| ConnectionError::CreateSession(Box::new(e)))?;
        (session, password)
    } else {
        let known = keeper
            .shared
            .read()
            .db
            .sessions
            .get(&request.session_id)
            .map(|s| s.password.clone());
        match known {
            Some(password) if password == request.passwd => (request.session_id, password),
            _ => return Ok((0, refused)),
        }
    };
    if read_only {
        keeper.registry.mark_read_only(connection);
    } else {
        keeper.sessions.track(session, timeout);
    }
    keeper.registry.bind_session(connection, session);
    tracing::debug!(
        session = format_args!("0x{session:x}"),
        timeout,
        "session established"
    );
    Ok((
        session,
        ConnectResponse {
            protocol_version: 0,
            time_out: timeout,
            session_id: session,
            passwd: password,
            read_only: Some(read_only),
        },
    ))
}

async fn respond_loop(mut queue: mpsc::Receiver<Step>, out: Outbound) {
    while let Some(step) = queue.recv().await {
        let (frame, close) = step.await;
        if !out.reply(frame).await {
            return;
        }
        if close {
            out.close();
            return;
        }
    }
}
