//! The [`Client`] handle, its builder, and the plumbing every operation shares: submit a
//! request to the session task, await the reply, turn error codes into [`Error`]s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferry_jute::{ErrorCode, OpCode, Record};
use rand::seq::SliceRandom;
use tokio::sync::{mpsc, oneshot, watch};

use crate::call::{Call, Command, Removal, Reply};
use crate::conn::{Dialer, TcpDialer, DEFAULT_MAX_FRAME};
use crate::connect_string::ConnectString;
use crate::error::{Error, Result};
use crate::session::{Session, Settings, Shared};
use crate::state::{SessionStatus, State};
use crate::watch::{Registration, WatchedEvent};

/// The session's event stream: state changes (`type:None`) and the events of watches left with
/// [`crate::Watch::Default`] (or `true`), in the order they happened.
pub type Events = mpsc::UnboundedReceiver<WatchedEvent>;

/// How many requests may wait for the session task before callers wait to submit.
const COMMAND_QUEUE: usize = 1024;

/// Settings for a new session.
#[derive(Clone)]
pub struct ClientBuilder {
    connect_string: String,
    session_timeout: Duration,
    connect_timeout: Option<Duration>,
    max_frame: usize,
    resume: Option<(i64, Bytes)>,
    dialer: Arc<dyn Dialer>,
    retry_connection_loss: bool,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("connect_string", &self.connect_string)
            .field("session_timeout", &self.session_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_frame", &self.max_frame)
            .field("resume", &self.resume.as_ref().map(|(id, _)| id))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// `connect_string` is `host:port[,host:port...][/chroot]`.
    pub fn new(connect_string: &str) -> Self {
        Self {
            connect_string: connect_string.to_string(),
            session_timeout: Duration::from_secs(30),
            connect_timeout: None,
            max_frame: DEFAULT_MAX_FRAME,
            resume: None,
            dialer: Arc::new(TcpDialer),
            retry_connection_loss: false,
        }
    }

    /// Sends a request that failed with `ConnectionLoss` again once the session has
    /// reconnected, for as long as the session lives, as Kafka's `ZooKeeperClient` does
    /// (`retryRequestsUntilConnected`): the caller then sees only answers and the session's
    /// end. A write may so be applied twice over, so its caller must take every answer as
    /// possible (a create answered `NodeExists`, a conditional write `BadVersion`).
    pub fn retry_connection_loss(mut self, retry: bool) -> Self {
        self.retry_connection_loss = retry;
        self
    }

    /// How connections to the servers are opened (TCP unless told otherwise).
    pub fn dialer(mut self, dialer: Arc<dyn Dialer>) -> Self {
        self.dialer = dialer;
        self
    }

    /// The session timeout to ask for; the server grants one within its
    /// min/maxSessionTimeout. Default 30 s, as zkCli.sh.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// How long [`ClientBuilder::connect`] waits for the first session. Default: the session
    /// timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The largest frame accepted from the server (Java's `jute.maxbuffer`, default 0xfffff).
    pub fn max_frame_len(mut self, len: usize) -> Self {
        self.max_frame = len;
        self
    }

    /// Re-attach to an existing session instead of creating one.
    pub fn resume_session(mut self, session_id: i64, password: Bytes) -> Self {
        self.resume = Some((session_id, password));
        self
    }

    /// Starts the session task and waits until a server has granted the session.
    pub async fn connect(self) -> Result<(Client, Events)> {
        let parsed = ConnectString::parse(&self.connect_string)?;
        let hosts_display = parsed.hosts_display();
        let mut hosts = parsed.hosts;
        hosts.shuffle(&mut rand::thread_rng());
        let timeout_ms = i32::try_from(self.session_timeout.as_millis()).unwrap_or(i32::MAX);
        let (session_id, password) = self
            .resume
            .unwrap_or_else(|| (0, Bytes::from_static(&[0; 16])));
        let (events_tx, events) = mpsc::unbounded_channel();
        let (commands_tx, commands) = mpsc::channel(COMMAND_QUEUE);
        let (status_tx, status) = watch::channel(SessionStatus {
            state: State::Connecting,
            session_id,
            password: password.clone(),
            timeout_ms,
            server: None,
        });
        let shared = Arc::new(Shared {
            registry: Mutex::default(),
            events: events_tx,
            chroot: parsed.chroot,
        });
        let settings = Settings {
            hosts,
            session_timeout_ms: timeout_ms,
            max_frame: self.max_frame,
            session_id,
            password,
            dialer: self.dialer,
        };
        tokio::spawn(Session::new(settings, shared.clone(), status_tx, commands).run());
        let client = Client {
            inner: Arc::new(Inner {
                commands: commands_tx,
                status,
                shared,
                retry_connection_loss: self.retry_connection_loss,
            }),
        };
        let wait = self.connect_timeout.unwrap_or(self.session_timeout);
        let mut status = client.inner.status.clone();
        // Take the state out of the watch guard at once: holding the guard across the
        // `close().await` below would make this future unsendable between threads.
        let outcome = tokio::time::timeout(wait, status.wait_for(|s| s.state != State::Connecting))
            .await
            .map(|waited| waited.map(|status| status.state));
        let state = match outcome {
            Ok(Ok(state)) => state,
            Ok(Err(_task_gone)) => client.state(),
            Err(_elapsed) => {
                client.close().await;
                return Err(Error::ConnectTimeout {
                    hosts: hosts_display,
                    timeout_ms: wait.as_millis() as u64,
                });
            }
        };
        match state {
            State::Connected => Ok((client, events)),
            _ => Err(client.gone_error(None)),
        }
    }
}

/// A ZooKeeper session. Cheap to clone; every clone drives the same session, and the session
/// is closed when the last clone is dropped (or by [`Client::close`]).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<SessionStatus>,
    shared: Arc<Shared>,
    retry_connection_loss: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("status", &*self.inner.status.borrow())
            .finish()
    }
}

impl Client {
    /// Connects with the default settings; see [`ClientBuilder`].
    pub async fn connect(connect_string: &str) -> Result<(Client, Events)> {
        ClientBuilder::new(connect_string).connect().await
    }

    pub fn builder(connect_string: &str) -> ClientBuilder {
        ClientBuilder::new(connect_string)
    }

    pub fn state(&self) -> State {
        self.inner.status.borrow().state
    }

    pub fn status(&self) -> SessionStatus {
        self.inner.status.borrow().clone()
    }

    /// A receiver that sees every change of [`SessionStatus`].
    pub fn status_watch(&self) -> watch::Receiver<SessionStatus> {
        self.inner.status.clone()
    }

    pub fn session_id(&self) -> i64 {
        self.inner.status.borrow().session_id
    }

    pub fn chroot(&self) -> Option<&str> {
        self.inner.shared.chroot.as_str()
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Closes the session: the server drops its ephemerals and watches. Requests still waiting
    /// fail with `SessionExpired`, as in Java. Returns once the session task has stopped.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.commands.send(Command::Close(tx)).await.is_ok() {
            let _already_over = rx.await;
        }
    }

    /// The error for a request the session could not take because it is over.
    pub(crate) fn gone_error(&self, path: Option<&str>) -> Error {
        let code = match self.state() {
            State::AuthFailed => ErrorCode::AuthFailed,
            State::Connecting | State::Connected => ErrorCode::ConnectionLoss,
            State::Closed | State::Expired => ErrorCode::SessionExpired,
        };
        Error::keeper(code, path.map(str::to_string))
    }

    pub(crate) async fn send(&self, command: Command) -> Result<(), ()> {
        self.inner.commands.send(command).await.map_err(drop)
    }

    /// Sends one request and waits for its reply, whatever error code the reply carries
    /// (with [`ClientBuilder::retry_connection_loss`], again after each lost connection).
    pub(crate) async fn submit(
        &self,
        op: OpCode,
        body: Vec<u8>,
        path: &str,
        registration: Option<Registration>,
        removal: Option<Removal>,
    ) -> Result<Reply> {
        if !self.inner.retry_connection_loss {
            // Moved, not copied: the request may be sent only once.
            return self
                .submit_once(op, body, path, registration, removal)
                .await;
        }
        loop {
            let attempt = self
                .submit_once(
                    op,
                    body.clone(),
                    path,
                    registration.clone(),
                    removal.clone(),
                )
                .await;
            match attempt {
                Err(error) if error.is_connection_loss() => {
                    if !self.reconnected().await {
                        return Err(self.gone_error(Some(path)));
                    }
                }
                answered => return answered,
            }
        }
    }

    /// Waits until the session is connected again; `false` when it ended instead.
    async fn reconnected(&self) -> bool {
        let mut status = self.inner.status.clone();
        let settled = status.wait_for(|s| s.state != State::Connecting).await;
        settled.is_ok_and(|s| s.state == State::Connected)
    }

    async fn submit_once(
        &self,
        op: OpCode,
        body: Vec<u8>,
        path: &str,
        registration: Option<Registration>,
        removal: Option<Removal>,
    ) -> Result<Reply> {
        let (reply, rx) = oneshot::channel();
        let call = Call {
            op,
            body,
            registration,
            removal,
            reply,
        };
        if self.send(Command::Call(call)).await.is_err() {
            return Err(self.gone_error(Some(path)));
        }
        match rx.await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(code)) => Err(Error::keeper(code, Some(path.to_string()))),
            Err(_task_gone) => Err(self.gone_error(Some(path))),
        }
    }

    /// Sends one request; a non-zero error code becomes an [`Error::Keeper`] naming `path`.
    pub(crate) async fn request(
        &self,
        op: OpCode,
        record: &impl Record,
        path: &str,
        registration: Option<Registration>,
    ) -> Result<Bytes> {
        let reply = self
            .submit(op, record.to_bytes(), path, registration, None)
            .await?;
        check(reply.err, path)?;
        Ok(reply.body)
    }
}

/// Turns a reply's error code into a result.
pub(crate) fn check(err: i32, path: &str) -> Result<()> {
    if err == 0 {
        return Ok(());
    }
    let code = ErrorCode::try_from(err).unwrap_or_else(|_unknown| {
        tracing::warn!(err, "unknown error code from the server");
        ErrorCode::SystemError
    });
    Err(Error::keeper(code, Some(path.to_string())))
}

/// Decodes a reply body as `T`.
pub(crate) fn decode<T: Record>(body: &[u8], what: &'static str) -> Result<T> {
    T::from_bytes(body).map_err(|source| Error::Decode { what, source })
}
