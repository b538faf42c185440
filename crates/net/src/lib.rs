//! Connection safety shared by the keeper (ZooKeeper protocol) and the broker (Kafka
//! protocol), and the small HTTP server both serve their admin pages with. Both protocols are
//! 4-byte big-endian length-prefixed frames from clients nobody trusts.
//!
//! | module | concept |
//! |---|---|
//! | [`frame`] | a frame's body read into a buffer that grows with the bytes that arrive |
//! | [`pool`] | a memory pool bounding the bytes of all requests being read at once |
//! | [`quotas`] | connection counts, in all and per client address, with overrides |
//! | [`limit`] | a limit reached: counted for the metrics, logged at most once per interval |
//! | [`histogram`] | latency histograms for the metrics pages |
//! | [`http`] | a minimal HTTP/1.1 server for the admin and metrics endpoints |
//! | [`sendfile`] | a slice of a file sent to a socket without passing through user space |
//!
//! Invariants:
//! - No allocation is sized from a length prefix alone: a buffer grows (at most fourfold per
//!   step) only as bytes arrive, so a client that announces 100 MiB and sends 4 KiB holds about
//!   64 KiB, never 100 MiB. Every byte of capacity is reserved from the [`pool::MemoryPool`]
//!   first, so the sum over all connections is bounded, and released when the frame is dropped.
//! - Reading never holds a lock across `.await`; waiting for pool memory stops reading that one
//!   connection (TCP backpressure), not the others.

pub mod frame;
pub mod histogram;
pub mod http;
pub mod limit;
pub mod pool;
pub mod quotas;
pub mod sendfile;

pub use frame::{read_body, wait_readable, Frame};
pub use histogram::Histogram;
pub use limit::LimitCounter;
pub use pool::{MemoryPool, Reservation};
pub use quotas::{Admission, ConnectionQuotas, QuotaRefusal, QuotaSettings};
pub use sendfile::send_file;
