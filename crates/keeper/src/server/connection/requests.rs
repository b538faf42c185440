//! Turning one request frame into a *step*: a future that resolves to the reply, queued in
//! arrival order. Writes go to the log when they are read (so a session's writes pipeline);
//! reads run when the responder reaches their step, after every earlier write of the session.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferry_jute::{
    write_frame, AuthPacket, Bytes, ErrorCode, Id, OpCode, Reader as JuteReader, Record,
    ReplyHeader, Request, RequestHeader, SyncResponse,
};
use tokio::sync::OwnedSemaphorePermit;

use super::super::reads::Reader;
use super::super::Keeper;
use super::ConnectionError;
use crate::txn::TxnKind;

/// A queued answer: resolves to the reply frame and whether to close after sending it.
pub type Step = Pin<Box<dyn Future<Output = (Vec<u8>, bool)> + Send>>;

/// What a request asks of the connection.
pub enum Action {
    /// Queue this step.
    Answer(Step),
    /// A write for the log: it needs one of the `globalOutstandingLimit` slots first.
    Write {
        xid: i32,
        kind: TxnKind,
        close_after: bool,
    },
}

/// Who is asking: the session and connection, and the identities `addauth` gave it.
pub struct Caller<'a> {
    pub keeper: &'a Arc<Keeper>,
    pub session: i64,
    pub connection: u64,
    pub auth: &'a mut Vec<Id>,
    /// Connected to a server in read-only mode: reads are answered, writes refused.
    pub read_only: bool,
}

pub fn reply(xid: i32, zxid: i64, err: i32, body: &[u8]) -> Vec<u8> {
    let mut payload = ReplyHeader { xid, zxid, err }.to_bytes();
    payload.extend_from_slice(body);
    let mut frame = Vec::with_capacity(payload.len() + 4);
    write_frame(&mut frame, &payload);
    frame
}

fn ready(frame: Vec<u8>, close: bool) -> Action {
    Action::Answer(Box::pin(std::future::ready((frame, close))))
}

impl Caller<'_> {
    /// Decodes one request frame and says what to do with it.
    pub fn handle(&mut self, body: &[u8]) -> Result<Action, ConnectionError> {
        let keeper = self.keeper;
        let mut r = JuteReader::new(body);
        let header = RequestHeader::decode(&mut r)?;
        let xid = header.xid;
        let last_zxid = || keeper.shared.read().db.last_zxid;
        let Ok(op) = OpCode::try_from(header.op) else {
            // ZooKeeper answers UNIMPLEMENTED (zxid -1) and closes the connection.
            tracing::info!(op = header.op, "unknown opcode, closing the connection");
            return Ok(ready(
                reply(xid, -1, ErrorCode::Unimplemented.code(), &[]),
                true,
            ));
        };
        let request_body = &body[r.position()..];
        let request = Request::decode(op, &mut r)?;
        Ok(match request {
            Request::Ping => ready(reply(xid, last_zxid(), 0, &[]), false),
            Request::Auth(packet) => {
                let err = self.add_auth(&packet);
                let failed = err != ErrorCode::Ok;
                if failed {
                    tracing::info!(scheme = %packet.scheme, "authentication failed, closing");
                }
                // ZooKeeper answers auth packets with zxid 0.
                ready(reply(xid, 0, err.code(), &[]), failed)
            }
            Request::Sync(r) => Action::Answer(sync(keeper, xid, r.path)),
            Request::Sasl => ready(
                reply(xid, last_zxid(), ErrorCode::Unimplemented.code(), &[]),
                false,
            ),
            // A read-only server answers every write with NOTREADONLY (a read-only session's
            // close included: it was never in the log), keeping the connection.
            request if self.read_only && (request.is_write() || op == OpCode::CloseSession) => {
                if op == OpCode::CloseSession {
                    return Ok(ready(reply(xid, last_zxid(), 0, &[]), true));
                }
                ready(
                    reply(xid, last_zxid(), ErrorCode::NotReadOnly.code(), &[]),
                    false,
                )
            }
            Request::CloseSession => {
                // The client is leaving: stop tracking it now rather than expiring it later.
                keeper.sessions.forget(self.session);
                Action::Write {
                    xid,
                    kind: TxnKind::CloseSession,
                    close_after: true,
                }
            }
            Request::Reconfig(request) => {
                let keeper = keeper.clone();
                let auth = self.auth.clone();
                Action::Answer(Box::pin(async move {
                    let answer = keeper.reconfig(request, &auth).await;
                    (answer_frame(&keeper, xid, answer), false)
                }))
            }
            request if request.is_write() => Action::Write {
                xid,
                kind: TxnKind::Request {
                    op: op.code(),
                    body: Bytes::copy_from_slice(request_body),
                },
                close_after: false,
            },
            request => {
                let keeper = keeper.clone();
                let auth = self.auth.clone();
                let (session, connection) = (self.session, self.connection);
                Action::Answer(Box::pin(async move {
                    let reader = Reader {
                        shared: &keeper.shared,
                        watcher: connection,
                        session,
                        auth: &auth,
                    };
                    let answer = reader
                        .answer(&request)
                        .unwrap_or(Err(ErrorCode::Unimplemented));
                    (answer_frame(&keeper, xid, answer), false)
                }))
            }
        })
    }

    /// Queues a write for the log now, in arrival order; the step waits for its commit. The
    /// slot is given back once the log has answered, whether or not the client reads it.
    pub fn submit(
        &self,
        xid: i32,
        kind: TxnKind,
        close_after: bool,
        slot: OwnedSemaphorePermit,
    ) -> Step {
        let auth = self
            .auth
            .iter()
            .map(|id| (id.scheme.clone(), id.id.clone()))
            .collect();
        let pending = self
            .keeper
            .submit_nowait(self.session, xid, auth, kind, Some(slot));
        let keeper = self.keeper.clone();
        Box::pin(async move {
            match pending.await {
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

    /// `addauth` as ZooKeeper's providers do it: `digest` adds `user:hash` (and recognises the
    /// super user), `ip` re-adds the connection's address; any other scheme fails, which closes
    /// the connection.
    fn add_auth(&mut self, packet: &AuthPacket) -> ErrorCode {
        let id = match packet.scheme.as_str() {
            "digest" => {
                let credentials = String::from_utf8_lossy(&packet.auth);
                let digest = crate::acl::digest(&credentials);
                if self.keeper.config.super_digest.as_deref() == Some(digest.as_str()) {
                    self.push_unique(Id {
                        scheme: crate::acl::SUPER_SCHEME.into(),
                        id: String::new(),
                    });
                }
                Id {
                    scheme: "digest".into(),
                    id: digest,
                }
            }
            "ip" => Id {
                scheme: "ip".into(),
                id: self.connection_ip(),
            },
            _ => return ErrorCode::AuthFailed,
        };
        self.push_unique(id);
        ErrorCode::Ok
    }

    fn push_unique(&mut self, id: Id) {
        if !self.auth.contains(&id) {
            self.auth.push(id);
        }
    }

    /// The connection's own `ip` identity, added at connect time.
    fn connection_ip(&self) -> String {
        self.auth
            .iter()
            .find(|id| id.scheme == "ip")
            .map(|id| id.id.clone())
            .unwrap_or_default()
    }
}

/// The reply frame for an answer computed here (not by the log), at the zxid applied now.
fn answer_frame(keeper: &Keeper, xid: i32, answer: Result<impl AsRef<[u8]>, ErrorCode>) -> Vec<u8> {
    let zxid = keeper.shared.read().db.last_zxid;
    match answer {
        Ok(body) => reply(xid, zxid, 0, body.as_ref()),
        Err(code) => reply(xid, zxid, code.code(), &[]),
    }
}

/// `sync`: answer once this server has applied everything the leader had committed when the
/// request arrived.
fn sync(keeper: &Arc<Keeper>, xid: i32, path: String) -> Step {
    let keeper = keeper.clone();
    Box::pin(async move {
        let caught_up = keeper.catch_up().await;
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
