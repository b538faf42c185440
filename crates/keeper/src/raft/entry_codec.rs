//! How a raft log entry is laid out on disk.
//!
//! A log file is a sequence of records, each `len u32 | crc32c(payload) u32 | payload`, all
//! big-endian. The payload is `term u64 | leader node u64 | index u64 | kind u8 | body`, where
//! kind 0 is a blank entry (no body), 1 a batch of keeper transactions (body: `TxnBatch` in
//! jute encoding, see `crate::txn`), 2 a membership change (body: JSON). A record whose length or CRC does
//! not check out marks a torn tail: recovery stops reading there.

use ferry_jute::{Reader, Record};
use openraft::EntryPayload;

use super::{log_id, Entry};

const BLANK: u8 = 0;
const NORMAL: u8 = 1;
const MEMBERSHIP: u8 = 2;

/// Bytes of the `len` and `crc` fields before each payload.
pub const RECORD_HEADER_LEN: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum EntryDecodeError {
    #[error("entry payload: {0}")]
    Jute(#[from] ferry_jute::DecodeError),
    #[error("membership entry: {0}")]
    Membership(#[from] serde_json::Error),
    #[error("unknown entry kind {0}")]
    Kind(u8),
}

/// Appends one framed record for `entry` to `out`.
pub fn encode(entry: &Entry, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; RECORD_HEADER_LEN]);
    (entry.log_id.leader_id.term as i64).encode(out);
    (entry.log_id.leader_id.node_id as i64).encode(out);
    (entry.log_id.index as i64).encode(out);
    match &entry.payload {
        EntryPayload::Blank => out.push(BLANK),
        EntryPayload::Normal(txn) => {
            out.push(NORMAL);
            txn.encode(out);
        }
        EntryPayload::Membership(membership) => {
            out.push(MEMBERSHIP);
            // Serialising a membership (sets and maps of integers and strings) cannot fail.
            out.extend_from_slice(&serde_json::to_vec(membership).unwrap_or_default());
        }
    }
    let payload = &out[start + RECORD_HEADER_LEN..];
    let len = payload.len() as u32;
    let crc = crc32c::crc32c(payload);
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
}

/// The outcome of reading one record at the start of `buf`.
pub enum Decoded {
    /// A whole, valid record and its size in bytes.
    Entry(Box<Entry>, usize),
    /// The data ends before the record does (or is exactly empty).
    Incomplete,
    /// A record whose CRC or contents are wrong.
    Corrupt(String),
}

pub fn decode(buf: &[u8]) -> Decoded {
    if buf.len() < RECORD_HEADER_LEN {
        return Decoded::Incomplete;
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let crc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let Some(payload) = buf.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len) else {
        return Decoded::Incomplete;
    };
    if crc32c::crc32c(payload) != crc {
        return Decoded::Corrupt(format!("CRC mismatch in a {len}-byte record"));
    }
    match decode_payload(payload) {
        Ok(entry) => Decoded::Entry(Box::new(entry), RECORD_HEADER_LEN + len),
        Err(error) => Decoded::Corrupt(error.to_string()),
    }
}

fn decode_payload(payload: &[u8]) -> Result<Entry, EntryDecodeError> {
    let mut r = Reader::new(payload);
    let term = i64::decode(&mut r)? as u64;
    let node = i64::decode(&mut r)? as u64;
    let index = i64::decode(&mut r)? as u64;
    let kind = r.take(1)?[0];
    let payload = match kind {
        BLANK => EntryPayload::Blank,
        NORMAL => EntryPayload::Normal(crate::txn::TxnBatch::decode(&mut r)?),
        MEMBERSHIP => EntryPayload::Membership(serde_json::from_slice(r.take(r.remaining())?)?),
        other => return Err(EntryDecodeError::Kind(other)),
    };
    Ok(Entry {
        log_id: log_id(term, node, index),
        payload,
    })
}
