//! Snapshot files: the whole replicated state at one log index.
//!
//! File `snapshot.<last log index, 20 digits>` in dataDir, written to a temporary name, synced
//! and renamed, so a crash leaves either the old set of snapshots or the new one. Layout,
//! jute-style big-endian:
//!
//! ```text
//! magic "FRYSNAP1"
//! last log id: term i64, node i64, index i64     (index -1: none)
//! membership: buffer (JSON)
//! last zxid i64
//! sessions: i32 count, then { id i64, timeout i32, password buffer }
//! acl lists: i32 count, then { ref i32, vector<ACL> }
//! nodes: i64 count, then { path ustring, data buffer (-1 = null), acl ref i32,
//!                           czxid, mzxid, ctime, mtime i64, version, cversion, aversion i32,
//!                           ephemeralOwner, pzxid i64 }      in any order
//! crc32c of all of the above, u32
//! ```

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ferry_jute::{Acl, Bytes, DecodeError, Reader, Record};

use super::{log_id, StoredMembership};
use crate::database::{Database, SessionInfo};
use crate::shared::Replicated;
use crate::tree::{DataTree, NodeStat};

const MAGIC: &[u8; 8] = b"FRYSNAP1";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("snapshot is corrupt: {0}")]
    Corrupt(String),
    #[error("snapshot is corrupt: {0}")]
    Decode(#[from] DecodeError),
}

/// Serialises the replicated state into `out`, a block at a time, so a snapshot of millions
/// of nodes never sits in memory whole.
pub fn write_to(state: &Replicated, mut out: impl Write) -> io::Result<()> {
    const BLOCK: usize = 64 * 1024;
    let mut buf = Vec::with_capacity(2 * BLOCK);
    let mut crc = 0u32;
    let mut spill = |buf: &mut Vec<u8>, out: &mut dyn Write, force: bool| -> io::Result<()> {
        if force || buf.len() >= BLOCK {
            crc = crc32c::crc32c_append(crc, buf);
            out.write_all(buf)?;
            buf.clear();
        }
        Ok(())
    };
    buf.extend_from_slice(MAGIC);
    let (term, node, index) = state.last_applied.map_or((0, 0, -1), |id| {
        (
            id.leader_id.term as i64,
            id.leader_id.node_id as i64,
            id.index as i64,
        )
    });
    for v in [term, node, index] {
        v.encode(&mut buf);
    }
    Bytes::from(serde_json::to_vec(&state.membership).unwrap_or_default()).encode(&mut buf);
    state.db.last_zxid.encode(&mut buf);
    (state.db.sessions.len() as i32).encode(&mut buf);
    for (id, session) in &state.db.sessions {
        id.encode(&mut buf);
        session.timeout_ms.encode(&mut buf);
        session.password.encode(&mut buf);
        spill(&mut buf, &mut out, false)?;
    }
    let tree = &state.db.tree;
    let acls: Vec<_> = tree.acl_cache().entries().collect();
    (acls.len() as i32).encode(&mut buf);
    for (handle, list) in acls {
        (handle.index() as i32).encode(&mut buf);
        list.to_vec().encode(&mut buf);
        spill(&mut buf, &mut out, false)?;
    }
    (tree.node_count() as i64).encode(&mut buf);
    // In map order: no path is built and nothing is looked up, which keeps the time writes
    // wait for a snapshot short. Decoding links children to parents afterwards.
    for (node_path, node) in tree.nodes() {
        (node_path.len() as i32).encode(&mut buf);
        buf.extend_from_slice(node_path.as_bytes());
        node.data.encode(&mut buf);
        (node.acl.index() as i32).encode(&mut buf);
        let s = &node.stat;
        for v in [s.czxid, s.mzxid, s.ctime, s.mtime] {
            v.encode(&mut buf);
        }
        for v in [s.version, s.cversion, s.aversion] {
            v.encode(&mut buf);
        }
        s.ephemeral_owner.encode(&mut buf);
        s.pzxid.encode(&mut buf);
        spill(&mut buf, &mut out, false)?;
    }
    spill(&mut buf, &mut out, true)?;
    out.write_all(&crc.to_be_bytes())?;
    out.flush()
}

/// Serialises the replicated state into memory (for tests and small states).
pub fn encode(state: &Replicated) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_to(state, &mut out);
    out
}

/// Rebuilds the replicated state from `bytes`.
pub fn decode(bytes: &[u8], extended_types: bool) -> Result<Replicated, SnapshotError> {
    let (body, crc) = bytes
        .split_last_chunk::<4>()
        .ok_or_else(|| SnapshotError::Corrupt("too short".into()))?;
    if crc32c::crc32c(body) != u32::from_be_bytes(*crc) {
        return Err(SnapshotError::Corrupt("CRC mismatch".into()));
    }
    let mut r = Reader::new(body);
    if r.take(MAGIC.len())? != MAGIC {
        return Err(SnapshotError::Corrupt("not a ferry snapshot".into()));
    }
    let (term, node, index) = (
        i64::decode(&mut r)?,
        i64::decode(&mut r)?,
        i64::decode(&mut r)?,
    );
    let last_applied = (index >= 0).then(|| log_id(term as u64, node as u64, index as u64));
    let membership: StoredMembership = serde_json::from_slice(&Bytes::decode(&mut r)?)
        .map_err(|e| SnapshotError::Corrupt(format!("membership: {e}")))?;
    let mut db = Database::new(extended_types);
    db.tree = DataTree::empty();
    db.last_zxid = i64::decode(&mut r)?;
    for _ in 0..i32::decode(&mut r)? {
        let id = i64::decode(&mut r)?;
        let timeout_ms = i32::decode(&mut r)?;
        let password = Bytes::decode(&mut r)?;
        db.sessions.insert(
            id,
            SessionInfo {
                timeout_ms,
                password,
            },
        );
    }
    let mut acls: HashMap<i32, Vec<Acl>> = HashMap::new();
    for _ in 0..i32::decode(&mut r)? {
        let handle = i32::decode(&mut r)?;
        acls.insert(handle, Vec::<Acl>::decode(&mut r)?);
    }
    for _ in 0..i64::decode(&mut r)? {
        let node_path = String::decode(&mut r)?;
        let data = Option::<Bytes>::decode(&mut r)?;
        let acl = acls
            .get(&i32::decode(&mut r)?)
            .ok_or_else(|| SnapshotError::Corrupt(format!("{node_path}: unknown ACL")))?;
        let stat = NodeStat {
            czxid: i64::decode(&mut r)?,
            mzxid: i64::decode(&mut r)?,
            ctime: i64::decode(&mut r)?,
            mtime: i64::decode(&mut r)?,
            version: i32::decode(&mut r)?,
            cversion: i32::decode(&mut r)?,
            aversion: i32::decode(&mut r)?,
            ephemeral_owner: i64::decode(&mut r)?,
            pzxid: i64::decode(&mut r)?,
        };
        db.tree.restore_node(&node_path, data, acl, stat);
    }
    db.tree
        .link_restored()
        .map_err(|orphan| SnapshotError::Corrupt(format!("{orphan}: parent missing")))?;
    Ok(Replicated {
        db,
        last_applied,
        membership,
    })
}

fn snapshot_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("snapshot.{index:020}"))
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the state at log index `index` to a temporary file in `dir` (the caller holds the
/// state's lock for this part); `commit` then makes it durable and visible.
pub fn write_temp(dir: &Path, index: u64, state: &Replicated) -> Result<PathBuf, SnapshotError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let tmp = snapshot_path(dir, index).with_extension("tmp");
    let file = File::create(&tmp).map_err(io_error(&tmp))?;
    write_to(state, io::BufWriter::with_capacity(256 * 1024, file)).map_err(io_error(&tmp))?;
    Ok(tmp)
}

/// Syncs a temporary snapshot and renames it into place; returns the final path.
pub fn commit(dir: &Path, index: u64, tmp: &Path) -> Result<PathBuf, SnapshotError> {
    File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(io_error(tmp))?;
    let path = snapshot_path(dir, index);
    fs::rename(tmp, &path).map_err(io_error(&path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))?;
    Ok(path)
}

/// Writes snapshot bytes received from a peer durably and returns the path.
pub fn write(dir: &Path, index: u64, bytes: &[u8]) -> Result<PathBuf, SnapshotError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let tmp = snapshot_path(dir, index).with_extension("tmp");
    let mut file = File::create(&tmp).map_err(io_error(&tmp))?;
    file.write_all(bytes).map_err(io_error(&tmp))?;
    drop(file);
    commit(dir, index, &tmp)
}

/// Snapshot files in `dir`, newest first.
pub fn list(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut found: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let index = name.to_str()?.strip_prefix("snapshot.")?.parse().ok()?;
            Some((index, entry.path()))
        })
        .collect();
    found.sort_unstable_by_key(|(index, _)| std::cmp::Reverse(*index));
    found
}

/// The newest snapshot that reads back whole, with its path; corrupt ones are skipped with a
/// warning (an older snapshot plus the log still restores everything).
pub fn load_latest(
    dir: &Path,
    extended_types: bool,
) -> Result<Option<(Replicated, PathBuf)>, SnapshotError> {
    for (_, path) in list(dir) {
        let bytes = fs::read(&path).map_err(io_error(&path))?;
        match decode(&bytes, extended_types) {
            Ok(state) => return Ok(Some((state, path))),
            Err(error) => tracing::warn!(path = %path.display(), %error, "skipping snapshot"),
        }
    }
    Ok(None)
}

/// Deletes all but the newest `retain` snapshots (ZooKeeper's autopurge.snapRetainCount).
pub fn purge(dir: &Path, retain: usize) -> usize {
    let mut removed = 0;
    for (_, path) in list(dir).into_iter().skip(retain.max(1)) {
        match fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(error) => tracing::warn!(path = %path.display(), %error, "cannot purge snapshot"),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::SessionInfo;

    fn sample() -> Replicated {
        let mut db = Database::new(true);
        let open = crate::acl::open_acl();
        db.tree
            .create("/a", Some(Bytes::from_static(b"x")), &open, 0, 1, 5, 100);
        db.tree
            .create("/a/b", None, &crate::acl::read_acl(), 42, 1, 6, 101);
        db.tree
            .create("/c", Some(Bytes::new()), &open, 0, 2, 7, 102);
        db.sessions.insert(
            42,
            SessionInfo {
                timeout_ms: 4000,
                password: Bytes::from_static(&[7; 16]),
            },
        );
        db.last_zxid = 7;
        Replicated {
            db,
            last_applied: Some(log_id(1, 1, 9)),
            membership: StoredMembership::default(),
        }
    }

    #[test]
    fn snapshot_round_trips_the_whole_state() {
        let state = sample();
        let restored = decode(&encode(&state), true).unwrap();
        assert_eq!(restored.last_applied, state.last_applied);
        assert_eq!(restored.db.last_zxid, 7);
        assert_eq!(restored.db.sessions, state.db.sessions);
        for path in ["/", "/a", "/a/b", "/c", "/zookeeper", "/zookeeper/config"] {
            let (a, b) = (
                state.db.tree.get(path).unwrap(),
                restored.db.tree.get(path).unwrap(),
            );
            assert_eq!(a.stat(), b.stat(), "{path}");
            assert_eq!(a.data, b.data, "{path}");
            assert_eq!(state.db.tree.acl(a), restored.db.tree.acl(b), "{path}");
        }
        assert_eq!(
            restored.db.tree.ephemerals_of(42).collect::<Vec<_>>(),
            ["/a/b"]
        );
    }

    #[test]
    fn corruption_is_detected() {
        let mut bytes = encode(&sample());
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        assert!(matches!(
            decode(&bytes, true),
            Err(SnapshotError::Corrupt(_))
        ));
        assert!(decode(&bytes[..10], true).is_err());
    }

    #[test]
    fn purge_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for index in [10, 20, 30, 40] {
            write(dir.path(), index, b"x").unwrap();
        }
        assert_eq!(purge(dir.path(), 3), 1);
        let left: Vec<u64> = list(dir.path()).into_iter().map(|(i, _)| i).collect();
        assert_eq!(left, [40, 30, 20]);
    }
}
