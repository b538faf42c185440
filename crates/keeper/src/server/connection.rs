//! One client connection: the handshake, then three cooperating parts joined by channels:
//!
//! - the *reader* (this task) decodes frames in arrival order; writes are handed to raft at
//!   once (so a session's writes pipeline), and every request leaves a *step* in the queue;
//! - the *responder* runs the steps strictly in order: a write's step waits for its commit, a
//!   read's step reads the database at that moment — after every earlier write of the session
//!   has been applied — which is ZooKeeper's FIFO-per-session guarantee;
//! - the *writer* owns the socket's write half and sends replies and watch events in the order
//!   they were queued, batching what is ready into one write.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_jute::{
    body_len, write_frame, AuthPacket, Bytes, ConnectRequest, ConnectResponse, ErrorCode, Id,
    OpCode, Reader as JuteReader, Record, ReplyHeader, Request, RequestHeader, SyncResponse,
    WatcherEvent,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::reads::Reader;
use super::registry::PacketCounters;
use super::{four_letter, Keeper};
use crate::txn::TxnKind;

enum Outbound {
    Frame(Vec<u8>),
    Event(WatcherEvent),
    Close,
}

/// A queued answer: resolves to the reply frame and whether to close after sending it.
type Step = Pin<Box<dyn Future<Output = (Vec<u8>, bool)> + Send>>;

#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame: {0}")]
    Frame(#[from] ferry_jute::FrameError),
    #[error("malformed request: {0}")]
    Decode(#[from] ferry_jute::DecodeError),
    #[error("no handshake within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("{0}")]
    Refused(String),
}

pub async fn serve(keeper: Arc<Keeper>, stream: TcpStream, peer: SocketAddr) {
    let max = keeper.config.max_client_cnxns;
    let Some((id, closed, packets)) = keeper.registry.admit(peer, max) else {
        tracing::warn!(%peer, max, "too many connections from this address, closing");
        return;
    };
    let _ = stream.set_nodelay(true);
    match run(&keeper, stream, peer, id, closed, packets).await {
        Ok(()) => tracing::debug!(%peer, "connection closed"),
        Err(ConnectionError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            tracing::debug!(%peer, "client went away")
        }
        Err(error) => tracing::info!(%peer, %error, "closing connection"),
    }
    keeper.shared.watches().disconnect(id);
    keeper.registry.leave(id);
}

async fn read_frame(
    reader: &mut BufReader<OwnedReadHalf>,
    max: usize,
) -> Result<Vec<u8>, ConnectionError> {
    let mut prefix = [0u8; 4];
    reader.read_exact(&mut prefix).await?;
    let len = body_len(&prefix, max)?.unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

async fn run(
    keeper: &Arc<Keeper>,
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    mut closed: watch::Receiver<bool>,
    packets: Arc<PacketCounters>,
) -> Result<(), ConnectionError> {
    let (read_half, mut write_half) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let max = keeper.config.jute_max_buffer;

    let mut prefix = [0u8; 4];
    let silence = Duration::from_millis(keeper.config.sessionless_timeout_ms);
    tokio::time::timeout(silence, reader.read_exact(&mut prefix))
        .await
        .map_err(|_elapsed| ConnectionError::HandshakeTimeout(silence))??;
    if let Some(answer) = four_letter::answer(keeper, &prefix) {
        write_half.write_all(answer.as_bytes()).await?;
        write_half.shutdown().await?;
        return Ok(());
    }
    let len = body_len(&prefix, max)?.unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    let connect = ConnectRequest::from_bytes(&body)?;
    let (session, response) = handshake(keeper, &connect, id).await?;
    let mut frame = Vec::new();
    write_frame(&mut frame, &response.to_bytes());
    write_half.write_all(&frame).await?;
    if session == 0 {
        return Err(ConnectionError::Refused(format!(
            "session 0x{:x} expired or password mismatch",
            connect.session_id
        )));
    }

    let (out, outbound) = mpsc::unbounded_channel();
    let event_out = out.clone();
    keeper.shared.watches().connect(
        id,
        Box::new(move |event| {
            let _ = event_out.send(Outbound::Event(event));
        }),
    );
    let writer = tokio::spawn(write_loop(
        write_half,
        outbound,
        keeper.clone(),
        packets.clone(),
    ));
    let (steps, queue) = mpsc::unbounded_channel::<Step>();
    let responder = tokio::spawn(respond_loop(queue, out.clone()));
    let mut auth = vec![Id {
        scheme: "ip".into(),
        id: peer.ip().to_string(),
    }];
    let result = loop {
        let body = tokio::select! {
            frame = read_frame(&mut reader, max) => frame,
            _ = closed.wait_for(|c| *c) => break Ok(()),
        };
        let body = match body {
            Ok(body) => body,
            Err(e) => break Err(e),
        };
        keeper.stats.received();
        packets.received.fetch_add(1, Ordering::Relaxed);
        keeper.sessions.touch(session);
        let started = Instant::now();
        match handle(keeper, session, id, &mut auth, &body) {
            Ok(Some(step)) => {
                let outstanding = Outstanding::new(keeper.clone());
                let timed: Step = Box::pin(async move {
                    let answer = step.await;
                    outstanding
                        .0
                        .stats
                        .record_latency(started.elapsed().as_micros() as u64);
                    answer
                });
                if steps.send(timed).is_err() {
                    break Ok(());
                }
            }
            Ok(None) => {}
            Err(e) => break Err(e),
        }
    };
    drop(steps);
    // Let queued answers go out before the socket closes.
    let _ = responder.await;
    let _ = out.send(Outbound::Close);
    drop(out);
    let _ = writer.await;
    result
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
    let last_zxid = keeper.shared.read().db.last_zxid;
    if request.last_zxid_seen > last_zxid {
        return Err(ConnectionError::Refused(format!(
            "client has seen zxid 0x{:x}, our last zxid is 0x{last_zxid:x}",
            request.last_zxid_seen
        )));
    }
    let timeout = keeper.config.negotiate_timeout(request.time_out);
    let refused = ConnectResponse {
        protocol_version: 0,
        time_out: 0,
        session_id: 0,
        passwd: Bytes::from_static(&[0; 16]),
        read_only: Some(false),
    };
    let (session, password) = if request.session_id == 0 {
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
            .map_err(|e| ConnectionError::Refused(e.to_string()))?;
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
    keeper.sessions.track(session, timeout);
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
            read_only: Some(false),
        },
    ))
}

fn reply(xid: i32, zxid: i64, err: i32, body: &[u8]) -> Vec<u8> {
    let mut payload = ReplyHeader { xid, zxid, err }.to_bytes();
    payload.extend_from_slice(body);
    let mut frame = Vec::with_capacity(payload.len() + 4);
    write_frame(&mut frame, &payload);
    frame
}

fn ready(frame: Vec<u8>, close: bool) -> Step {
    Box::pin(std::future::ready((frame, close)))
}

/// Turns one request frame into a step for the responder (or acts on it directly).
fn handle(
    keeper: &Arc<Keeper>,
    session: i64,
    connection: u64,
    auth: &mut Vec<Id>,
    body: &[u8],
) -> Result<Option<Step>, ConnectionError> {
    let mut r = JuteReader::new(body);
    let header = RequestHeader::decode(&mut r)?;
    let xid = header.xid;
    let last_zxid = || keeper.shared.read().db.last_zxid;
    let Ok(op) = OpCode::try_from(header.op) else {
        // ZooKeeper answers UNIMPLEMENTED (zxid -1) and closes the connection.
        tracing::info!(op = header.op, "unknown opcode, closing the connection");
        return Ok(Some(ready(
            reply(xid, -1, ErrorCode::Unimplemented.code(), &[]),
            true,
        )));
    };
    let request_body = &body[r.position()..];
    let request = Request::decode(op, &mut r)?;
    Ok(Some(match request {
        Request::Ping => ready(reply(xid, last_zxid(), 0, &[]), false),
        Request::Auth(packet) => {
            let err = add_auth(keeper, auth, &packet, connection_ip(auth));
            let failed = err != ErrorCode::Ok;
            if failed {
                tracing::info!(scheme = %packet.scheme, "authentication failed, closing");
            }
            // ZooKeeper answers auth packets with zxid 0.
            ready(reply(xid, 0, err.code(), &[]), failed)
        }
        Request::Sync(r) => sync(keeper, xid, r.path),
        Request::Sasl => ready(
            reply(xid, last_zxid(), ErrorCode::Unimplemented.code(), &[]),
            false,
        ),
        Request::CloseSession => {
            // The client is leaving: stop tracking it now rather than expiring it later.
            keeper.sessions.forget(session);
            submit(keeper, session, xid, auth, TxnKind::CloseSession, true)
        }
        request if request.is_write() => {
            let kind = TxnKind::Request {
                op: op.code(),
                body: Bytes::copy_from_slice(request_body),
            };
            submit(keeper, session, xid, auth, kind, false)
        }
        request => {
            let keeper = keeper.clone();
            let auth = auth.clone();
            Box::pin(async move {
                let reader = Reader {
                    shared: &keeper.shared,
                    watcher: connection,
                    session,
                    auth: &auth,
                };
                let answer = reader
                    .answer(&request)
                    .unwrap_or(Err(ErrorCode::Unimplemented));
                let zxid = keeper.shared.read().db.last_zxid;
                let frame = match answer {
                    Ok(body) => reply(xid, zxid, 0, &body),
                    Err(code) => reply(xid, zxid, code.code(), &[]),
                };
                (frame, false)
            })
        }
    }))
}

/// `addauth` as ZooKeeper's providers do it: `digest` adds `user:hash` (and recognises the
/// super user), `ip` re-adds the connection's address; any other scheme fails, which closes the
/// connection.
fn add_auth(keeper: &Keeper, auth: &mut Vec<Id>, packet: &AuthPacket, ip: String) -> ErrorCode {
    let id = match packet.scheme.as_str() {
        "digest" => {
            let credentials = String::from_utf8_lossy(&packet.auth);
            let digest = crate::acl::digest(&credentials);
            if keeper.config.super_digest.as_deref() == Some(digest.as_str()) {
                push_unique(
                    auth,
                    Id {
                        scheme: crate::acl::SUPER_SCHEME.into(),
                        id: String::new(),
                    },
                );
            }
            Id {
                scheme: "digest".into(),
                id: digest,
            }
        }
        "ip" => Id {
            scheme: "ip".into(),
            id: ip,
        },
        _ => return ErrorCode::AuthFailed,
    };
    push_unique(auth, id);
    ErrorCode::Ok
}

fn push_unique(auth: &mut Vec<Id>, id: Id) {
    if !auth.contains(&id) {
        auth.push(id);
    }
}

/// The connection's own `ip` identity, added at connect time.
fn connection_ip(auth: &[Id]) -> String {
    auth.iter()
        .find(|id| id.scheme == "ip")
        .map(|id| id.id.clone())
        .unwrap_or_default()
}

fn submit(
    keeper: &Arc<Keeper>,
    session: i64,
    xid: i32,
    auth: &[Id],
    kind: TxnKind,
    close_after: bool,
) -> Step {
    let auth = auth
        .iter()
        .map(|id| (id.scheme.clone(), id.id.clone()))
        .collect();
    // Queueing the write happens here, in arrival order; only the wait for its commit is
    // deferred to the step.
    let pending = keeper.submit_nowait(session, xid, auth, kind);
    let keeper = keeper.clone();
    Box::pin(async move {
        let outcome = pending.await;
        match outcome {
            Ok(applied) => (
                reply(xid, applied.zxid, applied.err, &applied.body),
                close_after,
            ),
            Err(error) => {
                tracing::warn!(%error, "write failed");
                let zxid = keeper.shared.read().db.last_zxid;
                (
                    reply(xid, zxid, ErrorCode::ConnectionLoss.code(), &[]),
                    true,
                )
            }
        }
    })
}

/// `sync`: answer once this server has applied everything committed before the request.
fn sync(keeper: &Arc<Keeper>, xid: i32, path: String) -> Step {
    let keeper = keeper.clone();
    Box::pin(async move {
        let caught_up = match keeper.raft.ensure_linearizable().await {
            Ok(read_log_id) => {
                let target = read_log_id.map_or(0, |id| id.index);
                let mut applied = keeper.shared.subscribe_applied();
                let reached = applied.wait_for(|index| *index >= target).await.is_ok();
                reached
            }
            Err(error) => {
                tracing::warn!(%error, "sync could not confirm leadership");
                false
            }
        };
        let zxid = keeper.shared.read().db.last_zxid;
        if caught_up {
            (
                reply(xid, zxid, 0, &SyncResponse { path }.to_bytes()),
                false,
            )
        } else {
            (
                reply(xid, zxid, ErrorCode::ConnectionLoss.code(), &[]),
                true,
            )
        }
    })
}

async fn respond_loop(
    mut queue: mpsc::UnboundedReceiver<Step>,
    out: mpsc::UnboundedSender<Outbound>,
) {
    while let Some(step) = queue.recv().await {
        let (frame, close) = step.await;
        if out.send(Outbound::Frame(frame)).is_err() {
            return;
        }
        if close {
            let _ = out.send(Outbound::Close);
            return;
        }
    }
}

async fn write_loop(
    mut socket: OwnedWriteHalf,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
    keeper: Arc<Keeper>,
    packets: Arc<PacketCounters>,
) {
    let mut buffer = Vec::with_capacity(64 * 1024);
    let notification = ReplyHeader {
        xid: ferry_jute::xid::NOTIFICATION,
        zxid: -1,
        err: 0,
    };
    'outer: while let Some(first) = outbound.recv().await {
        let mut next = Some(first);
        let mut closing = false;
        while let Some(item) = next.take() {
            if !matches!(item, Outbound::Close) {
                keeper.stats.sent();
                packets.sent.fetch_add(1, Ordering::Relaxed);
            }
            match item {
                Outbound::Frame(frame) => buffer.extend_from_slice(&frame),
                Outbound::Event(event) => {
                    let mut payload = notification.to_bytes();
                    event.encode(&mut payload);
                    write_frame(&mut buffer, &payload);
                }
                Outbound::Close => {
                    closing = true;
                    break;
                }
            }
            if buffer.len() < 256 * 1024 {
                next = outbound.try_recv().ok();
            }
        }
        if !buffer.is_empty() {
            if socket.write_all(&buffer).await.is_err() {
                break 'outer;
            }
            buffer.clear();
        }
        if closing {
            break;
        }
    }
    let _ = socket.shutdown().await;
}
