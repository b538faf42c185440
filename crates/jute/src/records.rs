//! The records of ZooKeeper 3.8's `zookeeper.jute`, field for field, plus `WhoAmIResponse`.
//! Requests that carry znode data use `Option<Bytes>` so a null buffer survives the round trip.

use bytes::Bytes;

use crate::codec::{DecodeError, Reader, Record};
use crate::record;

record! {
    /// An identity: `scheme:id`, e.g. `world:anyone`, `digest:user:hash`, `ip:10.0.0.0/8`.
    pub struct Id { pub scheme: String, pub id: String }
}

record! {
    pub struct Acl { pub perms: i32, pub id: Id }
}

record! {
    /// The znode metadata every read returns.
    pub struct Stat {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub data_length: i32,
        pub num_children: i32,
        pub pzxid: i64,
    }
}

/// The first frame a client sends. `read_only` is an optional trailing field: clients older
/// than 3.4 do not send it, so decoding tolerates its absence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Bytes,
    pub read_only: bool,
}

impl Record for ConnectRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        self.protocol_version.encode(out);
        self.last_zxid_seen.encode(out);
        self.time_out.encode(out);
        self.session_id.encode(out);
        self.passwd.encode(out);
        self.read_only.encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            protocol_version: i32::decode(r)?,
            last_zxid_seen: i64::decode(r)?,
            time_out: i32::decode(r)?,
            session_id: i64::decode(r)?,
            passwd: Bytes::decode(r)?,
            read_only: if r.is_empty() {
                false
            } else {
                bool::decode(r)?
            },
        })
    }
}

/// The server's answer to `ConnectRequest`; `read_only` is sent only to clients that sent it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Bytes,
    pub read_only: Option<bool>,
}

impl Record for ConnectResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        self.protocol_version.encode(out);
        self.time_out.encode(out);
        self.session_id.encode(out);
        self.passwd.encode(out);
        if let Some(read_only) = self.read_only {
            read_only.encode(out);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            protocol_version: i32::decode(r)?,
            time_out: i32::decode(r)?,
            session_id: i64::decode(r)?,
            passwd: Bytes::decode(r)?,
            read_only: if r.is_empty() {
                None
            } else {
                Some(bool::decode(r)?)
            },
        })
    }
}

record! {
    pub struct SetWatches {
        pub relative_zxid: i64,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
    }
}

record! {
    pub struct SetWatches2 {
        pub relative_zxid: i64,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
        pub persistent_watches: Vec<String>,
        pub persistent_recursive_watches: Vec<String>,
    }
}

record! {
    pub struct RequestHeader { pub xid: i32, pub op: i32 }
}

record! {
    pub struct MultiHeader { pub op: i32, pub done: bool, pub err: i32 }
}

record! {
    pub struct AuthPacket { pub auth_type: i32, pub scheme: String, pub auth: Bytes }
}

record! {
    pub struct ReplyHeader { pub xid: i32, pub zxid: i64, pub err: i32 }
}

record! {
    pub struct PathAndWatch { pub path: String, pub watch: bool }
}

/// `GetDataRequest`, `ExistsRequest`, `GetChildrenRequest` and `GetChildren2Request` share this
/// shape on the wire.
pub type GetDataRequest = PathAndWatch;
pub type ExistsRequest = PathAndWatch;
pub type GetChildrenRequest = PathAndWatch;
pub type GetChildren2Request = PathAndWatch;

record! {
    /// The shape of every request that names only a path (`sync`, `getACL`,
    /// `getAllChildrenNumber`, `getEphemerals`).
    pub struct PathRequest { pub path: String }
}

pub type SyncRequest = PathRequest;
pub type SyncResponse = PathRequest;
pub type GetAclRequest = PathRequest;
pub type GetAllChildrenNumberRequest = PathRequest;
pub type GetEphemeralsRequest = PathRequest;
pub type CreateResponse = PathRequest;

record! {
    pub struct SetDataRequest { pub path: String, pub data: Option<Bytes>, pub version: i32 }
}

record! {
    pub struct ReconfigRequest {
        pub joining_servers: String,
        pub leaving_servers: String,
        pub new_members: String,
        pub cur_config_id: i64,
    }
}

record! {
    /// The shape of every response that is only a stat (`setData`, `setACL`, `exists`).
    pub struct StatResponse { pub stat: Stat }
}

pub type SetDataResponse = StatResponse;
pub type SetAclResponse = StatResponse;
pub type ExistsResponse = StatResponse;

record! {
    pub struct CreateRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub flags: i32,
    }
}

record! {
    pub struct CreateTtlRequest {
        pub path: String,
        pub data: Option<Bytes>,
        pub acl: Vec<Acl>,
        pub flags: i32,
        pub ttl: i64,
    }
}

record! {
    /// `DeleteRequest` and `CheckVersionRequest` share this shape.
    pub struct PathAndVersion { pub path: String, pub version: i32 }
}

pub type DeleteRequest = PathAndVersion;
pub type CheckVersionRequest = PathAndVersion;

record! {
    pub struct SetAclRequest { pub path: String, pub acl: Vec<Acl>, pub version: i32 }
}

record! {
    pub struct AddWatchRequest { pub path: String, pub mode: i32 }
}

record! {
    /// A watch notification, sent with xid -1.
    pub struct WatcherEvent { pub event_type: i32, pub state: i32, pub path: String }
}

record! {
    pub struct ErrorResponse { pub err: i32 }
}

record! {
    pub struct Create2Response { pub path: String, pub stat: Stat }
}

record! {
    pub struct GetDataResponse { pub data: Option<Bytes>, pub stat: Stat }
}

record! {
    /// `GetChildrenResponse` and `GetEphemeralsResponse` share this shape.
    pub struct PathList { pub paths: Vec<String> }
}

pub type GetChildrenResponse = PathList;
pub type GetEphemeralsResponse = PathList;

record! {
    pub struct GetAllChildrenNumberResponse { pub total_number: i32 }
}

record! {
    pub struct GetChildren2Response { pub children: Vec<String>, pub stat: Stat }
}

record! {
    pub struct GetAclResponse { pub acl: Vec<Acl>, pub stat: Stat }
}

record! {
    /// `CheckWatchesRequest` and `RemoveWatchesRequest` share this shape.
    pub struct PathAndWatcherType { pub path: String, pub watcher_type: i32 }
}

pub type CheckWatchesRequest = PathAndWatcherType;
pub type RemoveWatchesRequest = PathAndWatcherType;

record! {
    pub struct ClientInfo { pub auth_scheme: String, pub user: String }
}

record! {
    pub struct WhoAmIResponse { pub client_info: Vec<ClientInfo> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_request_without_read_only_flag_decodes() {
        let mut full = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 7,
            time_out: 30_000,
            session_id: 0,
            passwd: Bytes::from_static(&[0; 16]),
            read_only: true,
        }
        .to_bytes();
        full.pop();
        let legacy = ConnectRequest::from_bytes(&full).unwrap();
        assert!(!legacy.read_only);
        assert_eq!(legacy.last_zxid_seen, 7);
    }

    #[test]
    fn stat_is_68_bytes_on_the_wire() {
        assert_eq!(Stat::default().to_bytes().len(), 68);
    }
}
