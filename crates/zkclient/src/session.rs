//! The session task: one per [`crate::Client`], owning the connection, the queue of requests
//! awaiting replies, the session's identity and its lifecycle.
//!
//! Lifecycle: `Connecting` (dial the hosts in turn; the first attempt after a lost connection
//! is immediate, later ones wait a random 0–1 s, and a whole unsuccessful round of hosts adds a
//! second) → `Connected` (after the handshake: re-register watches with `SetWatches`, re-send
//! every `addauth`, then the requests that waited) → back to `Connecting` when the connection
//! drops, or to a terminal state: `Closed`, `Expired` (the server's word on reconnect) or
//! `AuthFailed`.
//!
//! While connected the task pipelines requests: it writes them as they come and matches each
//! reply to the oldest unanswered request, which must carry the same xid (ZooKeeper answers a
//! session in order). It pings when it has sent nothing for a third of the negotiated timeout
//! (at most every 10 s) and gives the connection up when it has heard nothing for two thirds of
//! it, as the Java client does. A request whose connection dropped fails with
//! `ConnectionLoss`; so does one still waiting when a connection attempt fails.
//!
//! Watch events and state changes go out on unbounded channels: the task must never wait on a
//! slow reader, or its pings would stop and the session would expire.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use ferry_jute::{
    write_frame, xid, AuthPacket, ConnectRequest, ErrorCode, EventType, KeeperState, OpCode,
    Reader, Record, ReplyHeader, RequestHeader, WatcherEvent,
};
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::call::{AuthReply, Call, CallResult, Command, Removal, Reply};
use crate::conn::{connect_timeout, cut_frame, Conn, Dialer};
use crate::path::Chroot;
use crate::state::{SessionStatus, State};
use crate::watch::{Registration, WatchRegistry, WatchedEvent, Watcher};

/// What the handles and the task share.
pub(crate) struct Shared {
    pub registry: Mutex<WatchRegistry>,
    /// The default watcher's channel, which also carries state changes.
    pub events: mpsc::UnboundedSender<WatchedEvent>,
    pub chroot: Chroot,
}

impl Shared {
    pub(crate) fn registry(&self) -> MutexGuard<'_, WatchRegistry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes the watches `removal` names and tells each removed watcher with a
    /// `*WatchRemoved` event. `false` when there were none.
    pub(crate) fn remove_watches(&self, removal: &Removal) -> bool {
        let removed = self.registry().remove(&removal.path, removal.watcher_type);
        for (watcher, event_type) in &removed {
            let event = WatchedEvent {
                event_type: *event_type,
                state: KeeperState::SyncConnected,
                path: Some(removal.path.clone()),
            };
            watcher.deliver(&self.events, &event);
        }
        !removed.is_empty()
    }

    /// Delivers a state change to the default watcher and every registered one, as Java does.
    fn notify_state(&self, state: KeeperState) {
        let event = WatchedEvent::state(state);
        let mut watchers = self.registry().all_watchers();
        if !watchers.iter().any(|w| matches!(w, Watcher::Default)) {
            watchers.insert(0, Watcher::Default);
        }
        for watcher in watchers {
            watcher.deliver(&self.events, &event);
        }
    }
}

/// How the task was set up.
pub(crate) struct Settings {
    pub hosts: Vec<(String, u16)>,
    pub session_timeout_ms: i32,
    pub max_frame: usize,
    /// A session to resume (id, password), or `(0, 16 zero bytes)` for a new one.
    pub session_id: i64,
    pub password: Bytes,
    pub dialer: Arc<dyn Dialer>,
}

/// A request written to the server and not yet answered.
struct Pending {
    xid: i32,
    op: OpCode,
    reply: Option<oneshot::Sender<CallResult>>,
    registration: Option<Registration>,
    removal: Option<Removal>,
}

/// Why the session ended.
#[derive(Debug, Clone, Copy)]
enum End {
    Closed,
    Expired,
    AuthFailed,
}

/// Stop reading commands while this much is waiting to be written.
const WRITE_HIGH_WATER: usize = 1 << 20;
/// Java's `MAX_SEND_PING_INTERVAL`.
const MAX_PING_INTERVAL: Duration = Duration::from_secs(10);

pub(crate) struct Session {
    shared: Arc<Shared>,
    status: watch::Sender<SessionStatus>,
    commands: mpsc::Receiver<Command>,
    hosts: Vec<(String, u16)>,
    next_host: usize,
    requested_timeout_ms: i32,
    max_frame: usize,
    dialer: Arc<dyn Dialer>,
    session_id: i64,
    password: Bytes,
    timeout_ms: i32,
    last_zxid: i64,
    next_xid: i32,
    /// Requests waiting for a connection.
    outbox: VecDeque<Call>,
    pending: VecDeque<Pending>,
    /// Every `addauth` of the session; the sender is taken by the first answer.
    auths: Vec<(AuthPacket, Option<AuthReply>)>,
    /// Indexes into `auths` of the packets this connection has yet to answer.
    auth_inflight: VecDeque<usize>,
    closing: bool,
    close_waiters: Vec<oneshot::Sender<()>>,
}

impl Session {
    pub(crate) fn new(
        settings: Settings,
        shared: Arc<Shared>,
        status: watch::Sender<SessionStatus>,
        commands: mpsc::Receiver<Command>,
    ) -> Self {
        Self {
            shared,
            status,
            commands,
            hosts: settings.hosts,
            next_host: 0,
            requested_timeout_ms: settings.session_timeout_ms,
            max_frame: settings.max_frame,
            session_id: settings.session_id,
            password: settings.password,
            dialer: settings.dialer,
            timeout_ms: settings.session_timeout_ms,
            last_zxid: 0,
            next_xid: 1,
            outbox: VecDeque::new(),
            pending: VecDeque::new(),
            auths: Vec::new(),
            auth_inflight: VecDeque::new(),
            closing: false,
            close_waiters: Vec::new(),
        }
    }

    pub(crate) async fn run(mut self) {
        let end = loop {
            let conn = match self.connect().await {
                Ok(conn) => conn,
                Err(end) => break end,
            };
            match self.serve(conn).await {
                Ok(()) => {
                    self.fail_pending(ErrorCode::ConnectionLoss);
                    self.auth_inflight.clear();
                    self.publish(State::Connecting, None);
                    self.shared.notify_state(KeeperState::Disconnected);
                }
                Err(end) => break end,
            }
        };
        self.finish(end);
    }

    fn publish(&self, state: State, server: Option<String>) {
        self.status.send_modify(|status| {
            status.state = state;
            status.session_id = self.session_id;
            status.password = self.password.clone();
            status.timeout_ms = self.timeout_ms;
            status.server = server;
        });
    }

    fn take_xid(&mut self) -> i32 {
        let xid = self.next_xid;
        self.next_xid = if xid == i32::MAX { 1 } else { xid + 1 };
        xid
    }

    /// Takes a command while no connection is up. `Some` when it ends the session.
    fn on_command_offline(&mut self, command: Option<Command>) -> Option<End> {
        match command {
            Some(Command::Call(call)) => self.outbox.push_back(call),
            Some(Command::Auth { packet, reply }) => self.auths.push((packet, Some(reply))),
            Some(Command::Close(waiter)) => {
                self.close_waiters.push(waiter);
                return Some(End::Closed);
            }
            // Every handle is gone: nobody can use the session any more.
            None => return Some(End::Closed),
        }
        None
    }

    /// Dials the hosts in turn until one grants the session.
    async fn connect(&mut self) -> Result<Conn, End> {
        let mut attempt = 0usize;
        loop {
            if attempt > 0 {
                let mut pause = Duration::from_millis(rand::thread_rng().gen_range(0..1000));
                if self.next_host == 0 {
                    pause += Duration::from_secs(1);
                }
                let wake = Instant::now() + pause;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep_until(wake) => break,
                        command = self.commands.recv() => {
                            if let Some(end) = self.on_command_offline(command) {
                                return Err(end);
                            }
                        }
                    }
                }
            }
            attempt = attempt.wrapping_add(1);
            let (host, port) = self.hosts[self.next_host].clone();
            self.next_host = (self.next_host + 1) % self.hosts.len();
            let request = ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: self.last_zxid,
                time_out: self.requested_timeout_ms,
                session_id: self.session_id,
                passwd: self.password.clone(),
                read_only: false,
            };
            let limit = connect_timeout(self.timeout_ms, self.hosts.len());
            let dialer = self.dialer.clone();
            let open = tokio::time::timeout(
                limit,
                Conn::open(&dialer, &host, port, &request, self.max_frame),
            );
            tokio::pin!(open);
            let result = loop {
                tokio::select! {
                    result = &mut open => break result,
                    command = self.commands.recv() => {
                        if let Some(end) = self.on_command_offline(command) {
                            return Err(end);
                        }
                    }
                }
            };
            match result {
                Ok(Ok((conn, response))) => {
                    if response.time_out <= 0 {
                        tracing::info!(
                            session_id = format_args!("{:#x}", self.session_id),
                            server = %conn.server,
                            "session expired"
                        );
                        return Err(End::Expired);
                    }
                    self.session_id = response.session_id;
                    self.password = response.passwd;
                    self.timeout_ms = response.time_out;
                    tracing::debug!(
                        session_id = format_args!("{:#x}", self.session_id),
                        timeout_ms = self.timeout_ms,
                        server = %conn.server,
                        "session established"
                    );
                    return Ok(conn);
                }
                Ok(Err(error)) => {
                    tracing::debug!(host = %host, port, %error, "connection attempt failed");
                }
                Err(_elapsed) => {
                    tracing::debug!(host = %host, port, ?limit, "connection attempt timed out");
                }
            }
            // As in Java, what waited for this attempt learns that it failed.
            for call in self.outbox.drain(..) {
                let _caller_gone = call.reply.send(Err(ErrorCode::ConnectionLoss));
            }
        }
    }

    /// Appends one request frame to `out`.
    fn frame(out: &mut Vec<u8>, xid: i32, op: OpCode, body: &[u8]) {
        let mut message = RequestHeader { xid, op: op.code() }.to_bytes();
        message.extend_from_slice(body);
        write_frame(out, &message);
    }

    fn send_call(&mut self, out: &mut Vec<u8>, call: Call) {
        let xid = self.take_xid();
        Self::frame(out, xid, call.op, &call.body);
        self.pending.push_back(Pending {
            xid,
            op: call.op,
            reply: Some(call.reply),
            registration: call.registration,
            removal: call.removal,
        });
    }

    fn send_close(&mut self, out: &mut Vec<u8>) {
        let xid = self.take_xid();
        Self::frame(out, xid, OpCode::CloseSession, &[]);
        self.pending.push_back(Pending {
            xid,
            op: OpCode::CloseSession,
            reply: None,
            registration: None,
            removal: None,
        });
    }

    /// What a new connection sends first: watches, credentials, then whatever waited.
    fn prime(&mut self, out: &mut Vec<u8>) {
        let batches = self
            .shared
            .registry()
            .set_watches(&self.shared.chroot, self.last_zxid);
        for batch in batches {
            Self::frame(out, xid::SET_WATCHES, batch.op, &batch.body);
            self.pending.push_back(Pending {
                xid: xid::SET_WATCHES,
                op: batch.op,
                reply: None,
                registration: None,
                removal: None,
            });
        }
        for (i, (packet, _)) in self.auths.iter().enumerate() {
            Self::frame(out, xid::AUTH, OpCode::Auth, &packet.to_bytes());
            self.auth_inflight.push_back(i);
        }
        while let Some(call) = self.outbox.pop_front() {
            self.send_call(out, call);
        }
    }

    /// Runs one connection. `Ok` when it was lost (the session lives on), `Err` when the session
    /// ended.
    async fn serve(&mut self, conn: Conn) -> Result<(), End> {
        let Conn {
            mut stream,
            mut rbuf,
            server,
            max_frame,
        } = conn;
        self.publish(State::Connected, Some(server.clone()));
        self.shared.notify_state(KeeperState::SyncConnected);
        let mut out = Vec::new();
        self.prime(&mut out);

        let timeout = Duration::from_millis(self.timeout_ms as u64);
        let read_timeout = timeout * 2 / 3;
        let ping_every = (read_timeout / 2).min(MAX_PING_INTERVAL);
        let mut last_recv = Instant::now();
        let mut last_send = Instant::now();
        let mut close_deadline = None;
        let (mut rd, mut wr) = tokio::io::split(&mut stream);
        loop {
            if self.closing && close_deadline.is_none() {
                self.send_close(&mut out);
                close_deadline = Some(Instant::now() + read_timeout);
            }
            if rbuf.capacity() - rbuf.len() < 8 * 1024 {
                rbuf.reserve(64 * 1024);
            }
            let far = Instant::now() + timeout;
            tokio::select! {
                read = rd.read_buf(&mut rbuf) => {
                    match read {
                        Ok(0) => {
                            tracing::debug!(%server, "server closed the connection");
                            return self.lost_while_closing();
                        }
                        Err(error) => {
                            tracing::debug!(%server, %error, "connection failed");
                            return self.lost_while_closing();
                        }
                        Ok(_) => last_recv = Instant::now(),
                    }
                    loop {
                        match cut_frame(&mut rbuf, max_frame) {
                            Ok(Some(frame)) => match self.on_frame(frame) {
                                Ok(None) => {}
                                Ok(Some(end)) => return Err(end),
                                Err(error) => {
                                    tracing::warn!(%server, %error, "bad reply, dropping the connection");
                                    return self.lost_while_closing();
                                }
                            },
                            Ok(None) => break,
                            Err(error) => {
                                tracing::warn!(%server, %error, "bad frame, dropping the connection");
                                return self.lost_while_closing();
                            }
                        }
                    }
                }
                written = wr.write(&out), if !out.is_empty() => {
                    match written {
                        Ok(n) => {
                            out.drain(..n);
                            last_send = Instant::now();
                        }
                        Err(error) => {
                            tracing::debug!(%server, %error, "write failed");
                            return self.lost_while_closing();
                        }
                    }
                }
                command = self.commands.recv(), if !self.closing && out.len() < WRITE_HIGH_WATER => {
                    match command {
                        Some(Command::Call(call)) => self.send_call(&mut out, call),
                        Some(Command::Auth { packet, reply }) => {
                            Self::frame(&mut out, xid::AUTH, OpCode::Auth, &packet.to_bytes());
                            self.auth_inflight.push_back(self.auths.len());
                            self.auths.push((packet, Some(reply)));
                        }
                        Some(Command::Close(waiter)) => {
                            self.close_waiters.push(waiter);
                            self.closing = true;
                        }
                        None => self.closing = true,
                    }
                }
                _ = tokio::time::sleep_until(last_send + ping_every) => {
                    Self::frame(&mut out, xid::PING, OpCode::Ping, &[]);
                    last_send = Instant::now();
                }
                _ = tokio::time::sleep_until(last_recv + read_timeout) => {
                    tracing::warn!(
                        %server,
                        silent_ms = read_timeout.as_millis() as u64,
                        "no word from the server, reconnecting"
                    );
                    return self.lost_while_closing();
                }
                _ = tokio::time::sleep_until(close_deadline.unwrap_or(far)), if close_deadline.is_some() => {
                    return Err(End::Closed);
                }
            }
        }
    }

    /// A lost connection ends a session that was closing; otherwise the session reconnects.
    fn lost_while_closing(&self) -> Result<(), End> {
        if self.closing {
            Err(End::Closed)
        } else {
            Ok(())
        }
    }

    /// Handles one frame from the server. `Err` means the stream cannot be trusted any more.
    fn on_frame(&mut self, frame: Bytes) -> io::Result<Option<End>> {
        let mut reader = Reader::new(&frame);
        let header = ReplyHeader::decode(&mut reader).map_err(bad("reply header"))?;
        let body = frame.slice(reader.position()..);
        match header.xid {
            xid::NOTIFICATION => {
                self.on_notification(&body)?;
                Ok(None)
            }
            xid::PING => Ok(None),
            xid::AUTH => {
                let result = match header.err {
                    0 => Ok(()),
                    err => Err(ErrorCode::try_from(err).unwrap_or(ErrorCode::AuthFailed)),
                };
                if let Some(index) = self.auth_inflight.pop_front() {
                    if let Some(reply) = self.auths[index].1.take() {
                        let _caller_gone = reply.send(result);
                    }
                }
                if header.err == ErrorCode::AuthFailed.code() {
                    tracing::warn!("the server refused an addauth; the session is over");
                    return Ok(Some(End::AuthFailed));
                }
                Ok(None)
            }
            xid => self.on_reply(xid, header, body),
        }
    }

    fn on_reply(&mut self, xid: i32, header: ReplyHeader, body: Bytes) -> io::Result<Option<End>> {
        let Some(entry) = self.pending.pop_front() else {
            return Err(protocol(format!(
                "reply for xid {xid} with nothing pending"
            )));
        };
        if entry.xid != xid {
            if let Some(reply) = entry.reply {
                let _caller_gone = reply.send(Err(ErrorCode::ConnectionLoss));
            }
            return Err(protocol(format!(
                "reply for xid {xid} where xid {} was due",
                entry.xid
            )));
        }
        if header.zxid > 0 {
            self.last_zxid = header.zxid;
        }
        let mut err = header.err;
        if let Some(registration) = &entry.registration {
            if let Some(kind) = registration.kind_for(err) {
                self.shared.registry().register(
                    kind,
                    &registration.path,
                    registration.watcher.clone(),
                );
            }
        }
        if let Some(removal) = &entry.removal {
            err = self.apply_removal(removal, err);
        }
        if entry.op == OpCode::CloseSession {
            return Ok(Some(End::Closed));
        }
        if let Some(reply) = entry.reply {
            let _caller_gone = reply.send(Ok(Reply { err, body }));
        }
        Ok(None)
    }

    /// Applies a `removeWatches` once the server agreed (or regardless, for a local removal).
    /// Returns the error code the caller should see.
    fn apply_removal(&self, removal: &Removal, err: i32) -> i32 {
        if err != 0 && !removal.local {
            return err;
        }
        match self.shared.remove_watches(removal) {
            true => 0,
            false => ErrorCode::NoWatcher.code(),
        }
    }

    fn on_notification(&mut self, body: &[u8]) -> io::Result<()> {
        let event = WatcherEvent::from_bytes(body).map_err(bad("watch event"))?;
        let event_type = EventType::try_from(event.event_type).map_err(bad("event type"))?;
        let state = KeeperState::try_from(event.state).map_err(bad("keeper state"))?;
        let path = self.shared.chroot.strip(&event.path);
        let watchers = self.shared.registry().materialize(event_type, &path);
        let event = WatchedEvent {
            event_type,
            state,
            path: Some(path),
        };
        for watcher in watchers {
            watcher.deliver(&self.shared.events, &event);
        }
        Ok(())
    }

    fn fail_pending(&mut self, code: ErrorCode) {
        for entry in self.pending.drain(..) {
            if let Some(reply) = entry.reply {
                let _caller_gone = reply.send(Err(code));
            }
        }
    }

    /// Ends the session: every waiting caller learns why, watchers hear the final state.
    fn finish(mut self, end: End) {
        let (state, code, keeper_state) = match end {
            End::Closed => (
                State::Closed,
                ErrorCode::SessionExpired,
                KeeperState::Closed,
            ),
            End::Expired => (
                State::Expired,
                ErrorCode::SessionExpired,
                KeeperState::Expired,
            ),
            End::AuthFailed => (
                State::AuthFailed,
                ErrorCode::AuthFailed,
                KeeperState::AuthFailed,
            ),
        };
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Call(call) => self.outbox.push_back(call),
                Command::Auth { reply, .. } => {
                    let _caller_gone = reply.send(Err(code));
                }
                Command::Close(waiter) => self.close_waiters.push(waiter),
            }
        }
        for call in self.outbox.drain(..) {
            let _caller_gone = call.reply.send(Err(code));
        }
        self.fail_pending(code);
        for (_, reply) in &mut self.auths {
            if let Some(reply) = reply.take() {
                let _caller_gone = reply.send(Err(code));
            }
        }
        tracing::debug!(
            session_id = format_args!("{:#x}", self.session_id),
            ?state,
            "session over"
        );
        self.publish(state, None);
        self.shared.notify_state(keeper_state);
        self.shared.registry().clear();
        for waiter in self.close_waiters.drain(..) {
            let _caller_gone = waiter.send(());
        }
    }
}

fn bad(what: &'static str) -> impl Fn(ferry_jute::DecodeError) -> io::Error {
    move |error| protocol(format!("malformed {what}: {error}"))
}

fn protocol(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
