//! One TCP connection to one broker, pipelined: any number of requests may be in flight, each
//! answered through its correlation id. A writer task coalesces queued frames into few writes
//! and a reader task decodes each response and hands it to the waiting caller, so a caller that
//! sends many requests before awaiting any (the perf producer) keeps the socket busy.
//!
//! On connect the highest version both sides support is negotiated with ApiVersions; every
//! request is sent at that version unless the caller picks one ([`Connection::send_at`]).

use std::collections::{HashMap, VecDeque};
use std::io::IoSlice;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use ferry_kafka_protocol::messages::ApiVersionsRequest;
use ferry_kafka_protocol::{
    decode_response, encode_request_parts, ApiKey, ErrorCode, Part, ProtocolError, RequestHeader,
    ResponseBody,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::{ClientError, Result};
use ferry_kafka_protocol::Request;

/// Responses larger than this are refused (the connection is closed): a corrupt size prefix
/// must not make the client allocate gigabytes.
const MAX_RESPONSE_SIZE: usize = 512 << 20;

/// Bytes the writer gathers from the queue before one write.
const WRITE_COALESCE: usize = 1 << 20;

/// How a client connects and how long it waits.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub client_id: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            client_id: "ferry".to_string(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A connection; clones share it. Dropping the last clone stops its tasks.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    config: ClientConfig,
    frames: mpsc::UnboundedSender<Vec<Bytes>>,
    next_id: AtomicI32,
    /// The broker's (min, max) version per API key, from ApiVersions.
    versions: OnceLock<HashMap<i16, (i16, i16)>>,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What the I/O tasks and callers share.
struct Shared {
    addr: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    pending: HashMap<i32, Waiter>,
    /// Why the connection is unusable, once it is.
    closed: Option<String>,
}

struct Waiter {
    api: ApiKey,
    version: i16,
    tx: oneshot::Sender<Result<ResponseBody>>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the connection dead and fails every waiting request.
    fn fail(&self, reason: String) {
        let pending = {
            let mut state = self.lock();
            state.closed.get_or_insert(reason);
            std::mem::take(&mut state.pending)
        };
        for (_, waiter) in pending {
            let _ = waiter.tx.send(Err(ClientError::Disconnected {
                addr: self.addr.clone(),
            }));
        }
    }
}

impl Connection {
    /// Connects to `addr` (host:port) and negotiates API versions.
    pub async fn connect(addr: &str, config: ClientConfig) -> Result<Self> {
        let stream = tokio::time::timeout(config.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout {
                what: format!("a connection to {addr}"),
                timeout: config.connect_timeout,
            })?
            .map_err(|source| ClientError::Connect {
                addr: addr.to_string(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let shared = Arc::new(Shared {
            addr: addr.to_string(),
            state: Mutex::new(State::default()),
        });
        let (frames, queue) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(read, shared.clone()));
        let writer = tokio::spawn(write_loop(write, queue, shared.clone()));
        let conn = Connection {
            inner: Arc::new(Inner {
                shared,
                config,
                frames,
                next_id: AtomicI32::new(1),
                versions: OnceLock::new(),
                tasks: [reader, writer],
            }),
        };
        conn.negotiate().await?;
        Ok(conn)
    }

    /// The address this connection was opened to.
    pub fn addr(&self) -> &str {
        &self.inner.shared.addr
    }

    /// Asks ApiVersions at v3 and, if the broker is older (UNSUPPORTED_VERSION answered at v0,
    /// which a v3 decode may not read), again at v0.
    async fn negotiate(&self) -> Result<()> {
        let request = ApiVersionsRequest {
            client_software_name: "ferry".to_string(),
            client_software_version: env!("CARGO_PKG_VERSION").to_string(),
            ..Default::default()
        };
        let response = match self.send_at(request, 3)?.wait().await {
            Ok(r) if r.error_code != ErrorCode::UnsupportedVersion.code() => r,
            Ok(_) | Err(ClientError::Protocol(_)) => {
                self.send_at(ApiVersionsRequest::default(), 0)?
                    .wait()
                    .await?
            }
            Err(e) => return Err(e),
        };
        crate::error::check(response.error_code, "ApiVersions", None)?;
        let versions = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        let _ = self.inner.versions.set(versions);
        Ok(())
    }

    /// The version to use for `api`: the highest both sides support.
    pub fn version(&self, api: ApiKey) -> Result<i16> {
        let unsupported = || ClientError::Unsupported {
            addr: self.addr().to_string(),
            api: api.name(),
            min: api.min_version(),
            max: api.max_version(),
        };
        let Some(versions) = self.inner.versions.get() else {
            return Ok(api.min_version());
        };
        let (min, max) = versions.get(&api.key()).copied().ok_or_else(unsupported)?;
        let version = max.min(api.max_version());
        if version < min.max(api.min_version()) {
            return Err(unsupported());
        }
        Ok(version)
    }

    /// Whether the broker serves `api` at a version this client speaks.
    pub fn supports(&self, api: ApiKey) -> bool {
        self.version(api).is_ok()
    }

    /// Sends `request` at the negotiated version and waits for its response.
    pub async fn call<R: Request>(&self, request: R) -> Result<R::Response> {
        self.send(request)?.wait().await
    }

    /// Queues `request` at the negotiated version; the response is awaited separately, so
    /// many requests can be in flight.
    pub fn send<R: Request>(&self, request: R) -> Result<PendingResponse<R::Response>> {
        let version = self.version(R::API_KEY)?;
        self.send_at(request, version)
    }

    /// Queues `request` at `version`.
    pub fn send_at<R: Request>(
        &self,
        request: R,
        version: i16,
    ) -> Result<PendingResponse<R::Response>> {
        let (tx, rx) = oneshot::channel();
        let id = self.queue(request.into(), version, |state, id| {
            state.pending.insert(
                id,
                Waiter {
                    api: R::API_KEY,
                    version,
                    tx,
                },
            );
        })?;
        Ok(PendingResponse {
            rx,
            id,
            shared: self.inner.shared.clone(),
            timeout: self.inner.config.request_timeout,
            api: R::API_KEY,
            extract: R::response,
        })
    }

    /// Sends a request that gets no response (Produce with acks=0).
    pub fn send_no_response<R: Request>(&self, request: R) -> Result<()> {
        let version = self.version(R::API_KEY)?;
        self.queue(request.into(), version, |_, _| {}).map(|_| ())
    }

    /// Encodes and queues a frame; `register` runs under the state lock before the frame can
    /// reach the wire, so a response never arrives before its waiter.
    fn queue(
        &self,
        body: ferry_kafka_protocol::RequestBody,
        version: i16,
        register: impl FnOnce(&mut State, i32),
    ) -> Result<i32> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let header = RequestHeader {
            api_version: version,
            correlation_id: id,
            client_id: Some(self.inner.config.client_id.clone()),
            ..Default::default()
        };
        let frame = encode_request_parts(&header, &body)?
            .framed()
            .into_iter()
            .map(|part| match part {
                Part::Bytes(bytes) => Ok(bytes),
                // Only the broker's answers carry record sets in files.
                Part::File(_) => Err(ProtocolError::FileRecordsInContiguousFrame),
            })
            .collect::<std::result::Result<Vec<Bytes>, _>>()?;
        let mut state = self.inner.shared.lock();
        if state.closed.is_some() {
            return Err(ClientError::Disconnected {
                addr: self.addr().to_string(),
            });
        }
        register(&mut state, id);
        drop(state);
        if self.inner.frames.send(frame).is_err() {
            self.inner.shared.lock().pending.remove(&id);
            return Err(ClientError::Disconnected {
                addr: self.addr().to_string(),
            });
        }
        Ok(id)
    }

    /// Returns once everything queued before has reached the broker and been handled: a
    /// cheap Metadata round trip behind it (what an acks=0 producer waits for before exiting).
    pub async fn flush(&self) -> Result<()> {
        let request = ferry_kafka_protocol::messages::MetadataRequest {
            topics: Some(Vec::new()),
            allow_auto_topic_creation: false,
            ..Default::default()
        };
        self.call(request).await.map(|_| ())
    }

    /// True once the connection has failed or been closed by the broker.
    pub fn is_closed(&self) -> bool {
        self.inner.shared.lock().closed.is_some()
    }
}

/// A response on its way.
pub struct PendingResponse<T> {
    rx: oneshot::Receiver<Result<ResponseBody>>,
    id: i32,
    shared: Arc<Shared>,
    timeout: Duration,
    api: ApiKey,
    extract: fn(ResponseBody) -> Option<T>,
}

impl<T> PendingResponse<T> {
    /// Waits for the response, at most the request timeout.
    pub async fn wait(self) -> Result<T> {
        let outcome = tokio::time::timeout(self.timeout, self.rx).await;
        let body = match outcome {
            Ok(Ok(result)) => result?,
            Ok(Err(_)) => {
                return Err(ClientError::Disconnected {
                    addr: self.shared.addr.clone(),
                })
            }
            Err(_) => {
                self.shared.lock().pending.remove(&self.id);
                return Err(ClientError::Timeout {
                    what: format!("the {} response from {}", self.api.name(), self.shared.addr),
                    timeout: self.timeout,
                });
            }
        };
        (self.extract)(body)
            .ok_or_else(|| ClientError::UnexpectedResponse(format!("not a {}", self.api.name())))
    }
}

/// Writes the queued frames, those queued together in one vectored write (up to
/// [`WRITE_COALESCE`] bytes), their parts as they are: a produce request's records go from the
/// batch the producer built to the socket without another copy.
async fn write_loop(
    mut write: OwnedWriteHalf,
    mut queue: mpsc::UnboundedReceiver<Vec<Bytes>>,
    shared: Arc<Shared>,
) {
    let mut parts: VecDeque<Bytes> = VecDeque::new();
    while let Some(frame) = queue.recv().await {
        let mut queued: usize = frame.iter().map(Bytes::len).sum();
        parts.extend(frame);
        while queued < WRITE_COALESCE {
            match queue.try_recv() {
                Ok(frame) => {
                    queued += frame.iter().map(Bytes::len).sum::<usize>();
                    parts.extend(frame);
                }
                Err(_) => break,
            }
        }
        if let Err(error) = write_parts(&mut write, &mut parts).await {
            shared.fail(format!("write failed: {error}"));
            return;
        }
    }
}

/// Writes every part, as many at a time as one `writev` takes.
async fn write_parts(
    write: &mut OwnedWriteHalf,
    parts: &mut VecDeque<Bytes>,
) -> std::io::Result<()> {
    const MAX_SLICES: usize = 64;
    while !parts.is_empty() {
        let slices: Vec<IoSlice<'_>> = parts
            .iter()
            .take(MAX_SLICES)
            .map(|p| IoSlice::new(p))
            .collect();
        let mut written = write.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let Some(front) = parts.front_mut() else {
                break;
            };
            if written >= front.len() {
                written -= front.len();
                parts.pop_front();
            } else {
                front.advance(written);
                written = 0;
            }
        }
    }
    Ok(())
}

/// Response frames read into one buffer that is reused once the frames split off it are
/// dropped: a follower fetching hundreds of times a second would otherwise allocate (and the
/// kernel zero) fresh memory for every answer. Bytes go from the socket straight into the
/// buffer's spare room, neither zeroed first nor copied through another buffer.
struct FrameReader {
    read: OwnedReadHalf,
    buf: BytesMut,
}

/// Room reserved beyond the frame being read, so that small answers arrive in one read.
const READ_AHEAD: usize = 64 << 10;

impl FrameReader {
    /// The next frame body (without its size prefix).
    async fn next(&mut self) -> std::result::Result<BytesMut, String> {
        self.fill(4).await?;
        let size = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        let size = size as usize;
        if !(4..=MAX_RESPONSE_SIZE).contains(&size) {
            return Err(format!("response size {size} out of bounds"));
        }
        self.fill(4 + size).await?;
        self.buf.advance(4);
        Ok(self.buf.split_to(size))
    }

    async fn fill(&mut self, wanted: usize) -> std::result::Result<(), String> {
        while self.buf.len() < wanted {
            self.buf.reserve((wanted - self.buf.len()).max(READ_AHEAD));
            match self.read.read_buf(&mut self.buf).await {
                Ok(0) => return Err("read failed: the connection was closed".into()),
                Ok(_) => {}
                Err(error) => return Err(format!("read failed: {error}")),
            }
        }
        Ok(())
    }
}

async fn read_loop(read: OwnedReadHalf, shared: Arc<Shared>) {
    let mut frames = FrameReader {
        read,
        buf: BytesMut::new(),
    };
    let reason = loop {
        let frame = match frames.next().await {
            Ok(frame) => frame,
            Err(reason) => break reason,
        };
        let id = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let waiter = shared.lock().pending.remove(&id);
        // A response nobody waits for anymore (timed out) is dropped.
        if let Some(waiter) = waiter {
            let decoded = decode_response(waiter.api, waiter.version, frame.freeze())
                .map(|(_, body)| body)
                .map_err(ClientError::from);
            let _ = waiter.tx.send(decoded);
        }
    };
    tracing::debug!(addr = %shared.addr, %reason, "connection closed");
    shared.fail(reason);
}
