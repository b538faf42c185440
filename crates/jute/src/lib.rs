//! ZooKeeper's wire format ("jute") as plain Rust records.
//!
//! This crate is pure: no I/O, no async runtime. It turns byte slices into records and back,
//! and it is the one place that knows ZooKeeper's numeric constants.
//!
//! Invariants:
//! - Decoding never panics and never allocates more than the input holds: every length read
//!   from the wire is checked against the bytes that remain (fuzzed in `fuzz/`, property-tested
//!   in `tests/`).
//! - `decode(encode(x)) == x` for every record.
//! - Field order and types follow ZooKeeper 3.8's `zookeeper.jute` exactly; optional trailing
//!   fields (`ConnectRequest.readOnly`) are tolerated when absent, as the Java server does.

mod codec;
mod consts;
mod frame;
mod multi;
mod records;
mod request;

pub use codec::{DecodeError, Reader, Record};
pub use consts::*;
pub use frame::{body_len, write_frame, FrameError, FRAME_HEADER_LEN};
pub use multi::{MultiOp, MultiRequest, MultiResponse, MultiResult};
pub use records::*;
pub use request::Request;

/// Re-exported so users of the records need not depend on `bytes` themselves.
pub use bytes::Bytes;
