//! What a [`crate::Client`] handle sends the session task, and what comes back.
//!
//! A handle encodes the request body itself and the task only frames it with the next xid, so
//! the task stays free of per-operation code: it matches replies to requests by order and xid,
//! registers watches the reply allows, and hands back the raw reply body for the handle to
//! decode.

use bytes::Bytes;
use ferry_jute::{AuthPacket, ErrorCode, OpCode, WatcherType};
use tokio::sync::oneshot;

use crate::watch::Registration;

/// The server's answer to one request: the reply header's error, and the body that follows it
/// (empty when `err` is not 0, except for a failed multi).
#[derive(Debug)]
pub(crate) struct Reply {
    pub err: i32,
    pub body: Bytes,
}

/// A request that could not get a reply, and why (`ConnectionLoss`, `SessionExpired`, ...).
pub(crate) type CallResult = Result<Reply, ErrorCode>;

/// Local watch removal for `removeWatches`, applied when the server agrees (or at once, with
/// `local`, whatever it answers).
#[derive(Debug, Clone)]
pub(crate) struct Removal {
    pub path: String,
    pub watcher_type: WatcherType,
    pub local: bool,
}

pub(crate) struct Call {
    pub op: OpCode,
    pub body: Vec<u8>,
    pub registration: Option<Registration>,
    pub removal: Option<Removal>,
    pub reply: oneshot::Sender<CallResult>,
}

/// Where the answer to an `addauth` goes.
pub(crate) type AuthReply = oneshot::Sender<Result<(), ErrorCode>>;

pub(crate) enum Command {
    Call(Call),
    /// Remembered for the life of the session and re-sent on every new connection.
    Auth {
        packet: AuthPacket,
        reply: AuthReply,
    },
    /// Close the session; the sender fires when it is closed.
    Close(oneshot::Sender<()>),
}
