//! The records of `__consumer_offsets`, in Kafka's binary formats (`GroupMetadataManager`), so
//! Kafka's own tools (`kafka-console-consumer --formatter OffsetsMessageFormatter`,
//! `kafka-dump-log --offsets-decoder`) read what Ferry writes and Ferry loads what Kafka wrote.
//!
//! All integers are big-endian; a string is an int16 length and UTF-8 bytes (-1 = null); bytes
//! are an int32 length and the bytes.
//!
//! Keys (the version says which kind):
//! - `OffsetCommitKey` v0/v1: `version:int16 group:string topic:string partition:int32`
//! - `GroupMetadataKey` v2: `version:int16 group:string`
//!
//! Values (a null value is a tombstone: the offset or the group was deleted):
//! - `OffsetCommitValue` v0 `offset:int64 metadata:string commit_timestamp:int64`;
//!   v1 adds `expire_timestamp:int64`; v2 is v0; v3 is
//!   `offset:int64 leader_epoch:int32 metadata:string commit_timestamp:int64`. Ferry writes v3.
//! - `GroupMetadataValue` v0..v3: `protocol_type:string generation:int32 protocol:string?
//!   leader:string?` then (v2+) `current_state_timestamp:int64`, then the members, each
//!   `member_id:string` (v3+ `group_instance_id:string?`) `client_id:string client_host:string`
//!   (v1+ `rebalance_timeout:int32`) `session_timeout:int32 subscription:bytes
//!   assignment:bytes`. Ferry writes v3.

use bytes::{BufMut, Bytes};

/// A record of `__consumer_offsets` that cannot be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("record ends early reading {0}")]
    Truncated(&'static str),
    #[error("string {0} is not UTF-8")]
    NotUtf8(&'static str),
    #[error("negative length for {0}")]
    NegativeLength(&'static str),
    #[error("unknown {kind} version {version}")]
    UnknownVersion { kind: &'static str, version: i16 },
}

type Result<T> = std::result::Result<T, RecordError>;

/// A decoded key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
}

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

/// A member as stored in the group's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// A group's metadata as stored (its state after a rebalance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp: i64,
    pub members: Vec<StoredMember>,
}

const OFFSET_KEY_VERSION: i16 = 1;
const GROUP_KEY_VERSION: i16 = 2;
const OFFSET_VALUE_VERSION: i16 = 3;
const GROUP_VALUE_VERSION: i16 = 3;

pub fn offset_key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + group.len() + topic.len());
    out.put_i16(OFFSET_KEY_VERSION);
    put_str(&mut out, group);
    put_str(&mut out, topic);
    out.put_i32(partition);
    out
}

pub fn group_key(group: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + group.len());
    out.put_i16(GROUP_KEY_VERSION);
    put_str(&mut out, group);
    out
}

pub fn offset_value(v: &OffsetValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + v.metadata.len());
    out.put_i16(OFFSET_VALUE_VERSION);
    out.put_i64(v.offset);
    out.put_i32(v.leader_epoch);
    put_str(&mut out, &v.metadata);
    out.put_i64(v.commit_timestamp);
    out
}

pub fn group_value(v: &GroupValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.put_i16(GROUP_VALUE_VERSION);
    put_str(&mut out, &v.protocol_type);
    out.put_i32(v.generation);
    put_opt_str(&mut out, v.protocol.as_deref());
    put_opt_str(&mut out, v.leader.as_deref());
    out.put_i64(v.current_state_timestamp);
    out.put_i32(i32::try_from(v.members.len()).unwrap_or(i32::MAX));
    for m in &v.members {
        put_str(&mut out, &m.member_id);
        put_opt_str(&mut out, m.group_instance_id.as_deref());
        put_str(&mut out, &m.client_id);
        put_str(&mut out, &m.client_host);
        out.put_i32(m.rebalance_timeout_ms);
        out.put_i32(m.session_timeout_ms);
        put_bytes(&mut out, &m.subscription);
        put_bytes(&mut out, &m.assignment);
    }
    out
}

pub fn decode_key(bytes: &[u8]) -> Result<Key> {
    let mut r = Cursor { buf: bytes };
    let version = r.i16("key version")?;
    match version {
        0 | 1 => Ok(Key::Offset {
            group: r.string("group")?,
            topic: r.string("topic")?,
            partition: r.i32("partition")?,
        }),
        2 => Ok(Key::Group {
            group: r.string("group")?,
        }),
        version => Err(RecordError::UnknownVersion {
            kind: "key",
            version,
        }),
    }
}

pub fn decode_offset_value(bytes: &[u8]) -> Result<OffsetValue> {
    let mut r = Cursor { buf: bytes };
    let version = r.i16("offset value version")?;
    let offset = r.i64("offset")?;
    let leader_epoch = if version >= 3 {
        r.i32("leader epoch")?
    } else {
        -1
    };
    if !(0..=3).contains(&version) {
        return Err(RecordError::UnknownVersion {
            kind: "offset value",
            version,
        });
    }
    let metadata = r.string("metadata")?;
    let commit_timestamp = r.i64("commit timestamp")?;
    Ok(OffsetValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
    })
}

pub fn decode_group_value(bytes: &[u8]) -> Result<GroupValue> {
    let mut r = Cursor { buf: bytes };
    let version = r.i16("group value version")?;
    if !(0..=3).contains(&version) {
        return Err(RecordError::UnknownVersion {
            kind: "group value",
            version,
        });
    }
    let protocol_type = r.string("protocol type")?;
    let generation = r.i32("generation")?;
    let protocol = r.opt_string("protocol")?;
    let leader = r.opt_string("leader")?;
    let current_state_timestamp = if version >= 2 {
        r.i64("current state timestamp")?
    } else {
        -1
    };
    let count = r.i32("member count")?;
    let mut members = Vec::new();
    for _ in 0..count.max(0) {
        let member_id = r.string("member id")?;
        let group_instance_id = if version >= 3 {
            r.opt_string("group instance id")?
        } else {
            None
        };
        let client_id = r.string("client id")?;
        let client_host = r.string("client host")?;
        let rebalance_timeout_ms = if version >= 1 {
            r.i32("rebalance timeout")?
        } else {
            -1
        };
        let session_timeout_ms = r.i32("session timeout")?;
        let rebalance_timeout_ms = if version >= 1 {
            rebalance_timeout_ms
        } else {
            session_timeout_ms
        };
        members.push(StoredMember {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription: r.bytes("subscription")?,
            assignment: r.bytes("assignment")?,
        });
    }
    Ok(GroupValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

/// The partition of `__consumer_offsets` holding a group: Kafka's
/// `Utils.abs(groupId.hashCode) % partitions`, with Java's `String.hashCode` over UTF-16 code
/// units, so a Kafka broker and Ferry agree on where a group lives.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let hash = group.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    // Utils.abs maps Integer.MIN_VALUE to 0 (Math.abs would leave it negative).
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % partitions.max(1)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Group ids, topics and metadata are bounded by the request's own int16 lengths.
    let len = i16::try_from(s.len()).unwrap_or(i16::MAX);
    out.put_i16(len);
    out.put_slice(&s.as_bytes()[..len as usize]);
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_str(out, s),
        None => out.put_i16(-1),
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.put_i32(i32::try_from(b.len()).unwrap_or(i32::MAX));
    out.put_slice(b);
}

/// A bounds-checked reader over one key or value.
struct Cursor<'a> {
    buf: &'a [u8],
}

impl Cursor<'_> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&[u8]> {
        if self.buf.len() < n {
            return Err(RecordError::Truncated(what));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn i16(&mut self, what: &'static str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    fn opt_string(&mut self, what: &'static str) -> Result<Option<String>> {
        let len = self.i16(what)?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(len as usize, what)?;
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_utf8| RecordError::NotUtf8(what))
    }

    fn string(&mut self, what: &'static str) -> Result<String> {
        Ok(self.opt_string(what)?.unwrap_or_default())
    }

    fn bytes(&mut self, what: &'static str) -> Result<Bytes> {
        let len = self.i32(what)?;
        if len < 0 {
            return Err(RecordError::NegativeLength(what));
        }
        Ok(Bytes::copy_from_slice(self.take(len as usize, what)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_records_round_trip_in_kafkas_layout() {
        let key = offset_key("g", "t", 3);
        assert_eq!(key, [0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 3]);
        assert_eq!(
            decode_key(&key),
            Ok(Key::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 3
            })
        );
        let value = OffsetValue {
            offset: 42,
            leader_epoch: 7,
            metadata: "m".into(),
            commit_timestamp: 1000,
        };
        let bytes = offset_value(&value);
        assert_eq!(&bytes[..2], &[0, 3]);
        assert_eq!(bytes.len(), 2 + 8 + 4 + 3 + 8);
        assert_eq!(decode_offset_value(&bytes), Ok(value));
    }

    #[test]
    fn offset_value_v1_as_kafka_wrote_it_decodes() {
        let mut v1 = vec![0, 1];
        v1.extend_from_slice(&9i64.to_be_bytes());
        v1.extend_from_slice(&[0, 0]);
        v1.extend_from_slice(&5i64.to_be_bytes());
        v1.extend_from_slice(&6i64.to_be_bytes());
        let decoded = decode_offset_value(&v1).expect("v1");
        assert_eq!((decoded.offset, decoded.leader_epoch), (9, -1));
        assert_eq!(decoded.commit_timestamp, 5);
    }

    #[test]
    fn group_records_round_trip() {
        assert_eq!(group_key("g"), [0, 2, 0, 1, b'g']);
        assert_eq!(
            decode_key(&group_key("g")),
            Ok(Key::Group { group: "g".into() })
        );
        let value = GroupValue {
            protocol_type: "consumer".into(),
            generation: 4,
            protocol: Some("range".into()),
            leader: Some("c-1".into()),
            current_state_timestamp: 77,
            members: vec![StoredMember {
                member_id: "c-1".into(),
                group_instance_id: Some("i".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300,
                session_timeout_ms: 100,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        assert_eq!(decode_group_value(&group_value(&value)), Ok(value));
    }

    #[test]
    fn truncated_or_unknown_records_are_errors_not_panics() {
        let value = group_value(&GroupValue {
            protocol_type: "consumer".into(),
            generation: 1,
            protocol: None,
            leader: None,
            current_state_timestamp: 0,
            members: vec![],
        });
        for n in 0..value.len() {
            assert!(decode_group_value(&value[..n]).is_err(), "prefix {n}");
        }
        assert!(decode_key(&[0, 9, 0, 0]).is_err());
        assert!(decode_offset_value(&[0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn partitions_match_kafkas_java_hash() {
        // "".hashCode() == 0; "a".hashCode() == 97; "group".hashCode() == 98629247.
        assert_eq!(partition_for("", 50), 0);
        assert_eq!(partition_for("a", 50), 97 % 50);
        assert_eq!(partition_for("group", 50), 98_629_247 % 50);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE: Utils.abs gives 0.
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        // "my-group".hashCode() == -1906497762: the absolute value is taken.
        assert_eq!(partition_for("my-group", 50), 12);
    }
}
