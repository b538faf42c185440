//! The replicated transaction: what one raft log entry asks the state machine to do.
//!
//! A client write is stored as the request the client sent (opcode + jute body) together with
//! what the leader decided when it accepted it: the session, the wall-clock time that becomes
//! ctime/mtime, and the identities the session had authenticated. Applying it is therefore
//! deterministic on every replica, and it consumes one zxid whether it succeeds or fails, as in
//! ZooKeeper.
//!
//! Transactions travel in batches: one raft entry carries every write that arrived while the
//! previous entry was being made durable, so a busy server pays one log round trip for many
//! writes (ZooKeeper's group commit). Each transaction still gets its own zxid.
//!
//! On-disk encoding (inside a log entry, see `raft::entry_codec`), jute-style big-endian:
//! a batch is `count i32` then per transaction
//! `session_id i64, cxid i32, time i64, auth vector<Id>, kind u8, kind fields`.

use ferry_jute::{Bytes, DecodeError, Id, Reader, Record};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub session_id: i64,
    pub cxid: i32,
    /// Milliseconds since the epoch on the leader when it accepted the request.
    pub time: i64,
    /// `(scheme, id)` pairs the session had authenticated, for ACL checks at apply time.
    pub auth: Vec<(String, String)>,
    pub kind: TxnKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnKind {
    CreateSession {
        timeout_ms: i32,
        password: Bytes,
    },
    CloseSession,
    /// A client write request: its opcode and jute body.
    Request {
        op: i32,
        body: Bytes,
    },
    /// Removes a container or TTL node the cleaner found expired, if it still is.
    Reap {
        path: String,
    },
    /// A reconfiguration took effect: `/zookeeper/config` becomes `servers` (its `server.N`
    /// lines) and the `version` line: `version`, or else this transaction's zxid.
    SetConfig {
        servers: String,
        version: Option<i64>,
    },
}

impl Txn {
    pub fn auth_ids(&self) -> Vec<Id> {
        self.auth
            .iter()
            .map(|(scheme, id)| Id {
                scheme: scheme.clone(),
                id: id.clone(),
            })
            .collect()
    }
}

const CREATE_SESSION: u8 = 1;
const CLOSE_SESSION: u8 = 2;
const REQUEST: u8 = 3;
const REAP: u8 = 4;
const SET_CONFIG: u8 = 5;

impl Record for Txn {
    fn encode(&self, out: &mut Vec<u8>) {
        self.session_id.encode(out);
        self.cxid.encode(out);
        self.time.encode(out);
        self.auth_ids().encode(out);
        match &self.kind {
            TxnKind::CreateSession {
                timeout_ms,
                password,
            } => {
                out.push(CREATE_SESSION);
                timeout_ms.encode(out);
                password.encode(out);
            }
            TxnKind::CloseSession => out.push(CLOSE_SESSION),
            TxnKind::Request { op, body } => {
                out.push(REQUEST);
                op.encode(out);
                body.encode(out);
            }
            TxnKind::Reap { path } => {
                out.push(REAP);
                path.encode(out);
            }
            TxnKind::SetConfig { servers, version } => {
                out.push(SET_CONFIG);
                servers.encode(out);
                version.unwrap_or(-1).encode(out);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let session_id = i64::decode(r)?;
        let cxid = i32::decode(r)?;
        let time = i64::decode(r)?;
        let auth = Vec::<Id>::decode(r)?
            .into_iter()
            .map(|id| (id.scheme, id.id))
            .collect();
        let tag = r.take(1)?[0];
        let kind = match tag {
            CREATE_SESSION => TxnKind::CreateSession {
                timeout_ms: i32::decode(r)?,
                password: Bytes::decode(r)?,
            },
            CLOSE_SESSION => TxnKind::CloseSession,
            REQUEST => TxnKind::Request {
                op: i32::decode(r)?,
                body: Bytes::decode(r)?,
            },
            REAP => TxnKind::Reap {
                path: String::decode(r)?,
            },
            SET_CONFIG => TxnKind::SetConfig {
                servers: String::decode(r)?,
                version: Some(i64::decode(r)?).filter(|v| *v >= 0),
            },
            other => {
                return Err(DecodeError::UnknownValue {
                    what: "TxnKind",
                    value: i32::from(other),
                })
            }
        };
        Ok(Self {
            session_id,
            cxid,
            time,
            auth,
            kind,
        })
    }
}

/// The payload of one raft entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TxnBatch(pub Vec<Txn>);

impl Record for TxnBatch {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(Vec::<Txn>::decode(r)?))
    }
}

/// The answers to one batch, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AppliedBatch(pub Vec<Applied>);

/// What applying a transaction answered: the zxid it got and the reply the client is owed
/// (error code plus the jute-encoded response body).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Applied {
    pub zxid: i64,
    pub err: i32,
    pub body: Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txn_round_trips() {
        let txn = Txn {
            session_id: 42,
            cxid: 7,
            time: 1_700_000_000_000,
            auth: vec![("digest".into(), "bob:x".into())],
            kind: TxnKind::Request {
                op: 1,
                body: Bytes::from_static(b"\x00\x01"),
            },
        };
        assert_eq!(Txn::from_bytes(&txn.to_bytes()).unwrap(), txn);
    }
}
