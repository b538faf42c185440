//! An async ZooKeeper client (tokio) on the `ferry-jute` codec: what `ferry zk-cli` and the
//! broker's metadata store use to talk to ferry keeper or to Apache ZooKeeper.
//!
//! ```no_run
//! # async fn demo() -> ferry_zkclient::Result<()> {
//! use ferry_zkclient::{Client, CreateOptions};
//! let (zk, mut events) = Client::connect("127.0.0.1:2181,127.0.0.1:2182/kafka").await?;
//! zk.create("/brokers", "", &CreateOptions::persistent()).await?;
//! let (data, stat) = zk.get_data("/brokers", true).await?; // leaves a watch
//! while let Some(event) = events.recv().await {
//!     println!("{event}"); // WatchedEvent state:SyncConnected type:NodeDataChanged path:/brokers
//! }
//! # Ok(()) }
//! ```
//!
//! Shape: a [`Client`] handle (cheap to clone) sends requests over a bounded channel to one
//! session task, which owns the TCP connection. The task frames each request with the next
//! xid, pipelines it, and matches replies in order; the handle decodes the reply. Watch events
//! and state changes arrive on the [`Events`] channel (the default watcher) or on a per-call
//! channel ([`Watch::Channel`]).
//!
//! Invariants:
//! - Replies are matched to requests by order and xid; a reply out of order, a frame over
//!   `max_frame_len`, or a malformed record drops the connection (requests in flight fail with
//!   `ConnectionLoss`) and never panics.
//! - A watch is registered only once its reply arrives and says the server took it, in reply
//!   order, so an event is never matched against a watch the server does not hold. One-shot
//!   watches fire at most once per registration; one watcher registered twice on a path fires
//!   once.
//! - The session survives a lost connection: the task reconnects (to any host of the connect
//!   string) with the session id, password and the last zxid it saw, then re-registers every
//!   watch (`SetWatches`/`SetWatches2`) and re-sends every `addauth` before any new request.
//! - Expiry is the server's word (a reconnect answered with timeout 0): the state becomes
//!   [`State::Expired`], an `Expired` event goes out, and every later call fails with
//!   `SessionExpired`. Closing works the same way with [`State::Closed`].
//! - The session task never blocks on a caller: events go out on unbounded channels, so pings
//!   keep flowing however slowly events are read.
//! - Paths are checked by ZooKeeper's rules before they are sent; the chroot is prepended to
//!   every path sent and stripped from every path received.

mod call;
mod client;
mod conn;
mod connect_string;
mod error;
mod multi;
mod ops;
mod path;
mod session;
mod state;
mod types;
mod watch;

pub use client::{Client, ClientBuilder, Events};
pub use conn::{DialFuture, Dialer, TcpDialer, Transport, DEFAULT_MAX_FRAME};
pub use connect_string::{ConnectString, DEFAULT_PORT};
pub use error::{java_code_name, java_message, Error, Result};
pub use multi::{Op, OpResult, ReadOp};
pub use ops::CONFIG_NODE;
pub use path::{validate as validate_path, Chroot};
pub use state::{SessionStatus, State};
pub use types::{acl, CreateOptions, IntoData};
pub use watch::{Watch, WatchedEvent};

pub use ferry_jute::{
    perms, Acl, AddWatchMode, Bytes, ClientInfo, CreateMode, ErrorCode, EventType, Id, KeeperState,
    Stat, WatcherType,
};
