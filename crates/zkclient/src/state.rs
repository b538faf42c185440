//! The session's state as callers see it, published by the session task on a `watch` channel.

use bytes::Bytes;

/// Where the session stands. Java's `ZooKeeper.States`, with expiry kept apart from closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Looking for a server (first connection or after a lost one); requests wait.
    Connecting,
    Connected,
    /// Closed by [`crate::Client::close`]. Terminal.
    Closed,
    /// The server declared the session expired. Terminal: ephemerals are gone and watches
    /// with them; a new [`crate::Client`] must be made.
    Expired,
    /// The server refused an `addauth`. Terminal.
    AuthFailed,
}

impl State {
    /// Whether the session can still carry requests (now or after a reconnect).
    pub fn is_alive(self) -> bool {
        matches!(self, Self::Connecting | Self::Connected)
    }

    /// The name Java's `ZooKeeper.getState()` prints (an expired session is `CLOSED` there).
    pub fn java_name(self) -> &'static str {
        match self {
            Self::Connecting => "CONNECTING",
            Self::Connected => "CONNECTED",
            Self::Closed | Self::Expired => "CLOSED",
            Self::AuthFailed => "AUTH_FAILED",
        }
    }
}

/// A snapshot of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    pub state: State,
    /// 0 until the first server granted a session.
    pub session_id: i64,
    pub password: Bytes,
    /// The timeout the server granted, in milliseconds (the requested one until then).
    pub timeout_ms: i32,
    /// The server currently connected to, as `host:port`.
    pub server: Option<String>,
}
