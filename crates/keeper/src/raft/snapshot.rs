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
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_jute::{Acl, Bytes, DecodeError, Reader, Record};

use super::chunked_reader::ChunkedReader;
use super::{log_id, LogId, StoredMembership};
use crate::database::{Database, SessionInfo};
use crate::shared::{Replicated, Shared};
use crate::tree::{AclRef, DataTree, NodeImage, NodeStat, SHARDS};

const MAGIC: &[u8; 8] = b"FRYSNAP1";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("snapshot is corrupt: {0}")]
    Corrupt(String),
    #[error("snapshot is corrupt: {0}")]
    Decode(#[from] DecodeError),
    #[error("cannot read the snapshot: {0}")]
    Read(io::Error),
}

/// What a snapshot holds besides the nodes, taken when it begins.
struct Header {
    last_applied: Option<LogId>,
    membership: StoredMembership,
    last_zxid: i64,
    sessions: Vec<(i64, SessionInfo)>,
    acls: Vec<(AclRef, Arc<[Acl]>)>,
    node_count: usize,
}

impl Header {
    fn of(state: &Replicated, node_count: usize) -> Self {
        Self {
            last_applied: state.last_applied,
            membership: state.membership.clone(),
            last_zxid: state.db.last_zxid,
            sessions: state
                .db
                .sessions
                .iter()
                .map(|(id, info)| (*id, info.clone()))
                .collect(),
            acls: state.db.tree.cut_acls(),
            node_count,
        }
    }
}

/// Encodes into a buffer and writes it out a block at a time, keeping the running CRC, so a
/// snapshot of millions of nodes never sits in memory whole.
struct BlockWriter<W: Write> {
    buf: Vec<u8>,
    crc: u32,
    out: W,
}

impl<W: Write> BlockWriter<W> {
    const BLOCK: usize = 64 * 1024;

    fn new(out: W) -> Self {
        Self {
            buf: Vec::with_capacity(2 * Self::BLOCK),
            crc: 0,
            out,
        }
    }

    fn spill(&mut self, force: bool) -> io::Result<()> {
        if force || self.buf.len() >= Self::BLOCK {
            self.crc = crc32c::crc32c_append(self.crc, &self.buf);
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.spill(true)?;
        self.out.write_all(&self.crc.to_be_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn header(&mut self, header: &Header) -> io::Result<()> {
        let buf = &mut self.buf;
        buf.extend_from_slice(MAGIC);
        let (term, node, index) = header.last_applied.map_or((0, 0, -1), |id| {
            (
                id.leader_id.term as i64,
                id.leader_id.node_id as i64,
                id.index as i64,
            )
        });
        for v in [term, node, index] {
            v.encode(buf);
        }
        Bytes::from(serde_json::to_vec(&header.membership).unwrap_or_default()).encode(buf);
        header.last_zxid.encode(buf);
        (header.sessions.len() as i32).encode(buf);
        for (id, session) in &header.sessions {
            id.encode(&mut self.buf);
            session.timeout_ms.encode(&mut self.buf);
            session.password.encode(&mut self.buf);
            self.spill(false)?;
        }
        (header.acls.len() as i32).encode(&mut self.buf);
        for (handle, list) in &header.acls {
            (handle.index() as i32).encode(&mut self.buf);
            list.to_vec().encode(&mut self.buf);
            self.spill(false)?;
        }
        (header.node_count as i64).encode(&mut self.buf);
        Ok(())
    }
}

/// Appends one node. In map order: no path is built and nothing is looked up, which keeps
/// the time a shard holds the lock short. Decoding links children to parents afterwards.
fn encode_node(buf: &mut Vec<u8>, node_path: &str, node: &NodeImage) {
    (node_path.len() as i32).encode(buf);
    buf.extend_from_slice(node_path.as_bytes());
    node.data.encode(buf);
    (node.acl.index() as i32).encode(buf);
    let s = &node.stat;
    for v in [s.czxid, s.mzxid, s.ctime, s.mtime] {
        v.encode(buf);
    }
    for v in [s.version, s.cversion, s.aversion] {
        v.encode(buf);
    }
    s.ephemeral_owner.encode(buf);
    s.pzxid.encode(buf);
}

/// Serialises the replicated state into `out` (the caller holds it still meanwhile).
pub fn write_to(state: &Replicated, out: impl Write) -> io::Result<()> {
    let tree = &state.db.tree;
    let mut writer = BlockWriter::new(out);
    writer.header(&Header::of(state, tree.node_count()))?;
    for shard in 0..SHARDS {
        tree.visit_shard(shard, &mut |path, node| {
            encode_node(&mut writer.buf, path, node)
        });
        writer.spill(false)?;
    }
    writer.finish().map(drop)
}

/// How often (in shards) a snapshot being written is synced to disk.
const SYNC_EVERY_SHARDS: usize = 8;

/// A snapshot written while changes go on: where it is, what it holds, and the longest
/// time it held the state lock (writes wait meanwhile).
pub struct Written {
    pub tmp: PathBuf,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    pub longest_pause: Duration,
}

/// Writes the state as it is now to a temporary file in `dir` while the state machine goes
/// on applying: the state lock is held to open a cut of the tree and then for one shard at
/// a time (see `tree::cut`). `commit` then makes the file durable and visible.
pub fn write_temp_while_applying(dir: &Path, shared: &Shared) -> Result<Written, SnapshotError> {
    let started = Instant::now();
    let header = {
        let mut state = shared.write();
        let count = state.db.tree.begin_cut();
        shared.txns_since_snapshot.store(0, Ordering::Relaxed);
        Header::of(&state, count)
    };
    let mut longest_pause = started.elapsed();
    let index = header.last_applied.map_or(0, |id| id.index);
    let tmp = snapshot_path(dir, index).with_extension("tmp");
    let written = (|| {
        fs::create_dir_all(dir)?;
        let file = File::create(&tmp)?;
        let mut writer = BlockWriter::new(io::BufWriter::with_capacity(256 * 1024, file));
        writer.header(&header)?;
        let mut count = 0;
        for shard in 0..SHARDS {
            let locked = Instant::now();
            shared.read().db.tree.visit_shard(shard, &mut |path, node| {
                count += 1;
                encode_node(&mut writer.buf, path, node);
            });
            longest_pause = longest_pause.max(locked.elapsed());
            writer.spill(true)?;
            // Half a core at most: the servers' own work comes first (on a small machine a
            // snapshot at full speed shows in every client's latency).
            std::thread::sleep(locked.elapsed());
            if shard % SYNC_EVERY_SHARDS == SYNC_EVERY_SHARDS - 1 {
                // A little at a time: dirty pages flushed in one burst at the end would
                // hold the disk long enough to stall the log's own fsyncs, which every
                // write waits for.
                writer.out.flush()?;
                writer.out.get_ref().sync_data()?;
            }
        }
        if count != header.node_count {
            // A bug in the cut, never a reason to write a snapshot that lies.
            return Err(io::Error::other(format!(
                "the cut held {} nodes, {count} were written",
                header.node_count
            )));
        }
        writer.finish().map(drop)
    })();
    shared.write().db.tree.end_cut();
    written.map_err(io_error(&tmp))?;
    Ok(Written {
        tmp,
        last_applied: header.last_applied,
        membership: header.membership,
        longest_pause,
    })
}

/// Serialises the replicated state into memory (for tests and small states).
pub fn encode(state: &Replicated) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_to(state, &mut out);
    out
}

/// Rebuilds the replicated state from snapshot bytes in memory.
pub fn decode(bytes: &[u8], extended_types: bool) -> Result<Replicated, SnapshotError> {
    read_from(bytes, extended_types)
}

/// Rebuilds the replicated state from a snapshot read from `source` a block at a time.
pub fn read_from(source: impl io::Read, extended_types: bool) -> Result<Replicated, SnapshotError> {
    let mut input = ChunkedReader::new(source);
    if !input.record(|r| r.take(MAGIC.len()).map(|m| m == MAGIC))? {
        return Err(SnapshotError::Corrupt("not a ferry snapshot".into()));
    }
    let (term, node, index) =
        input.record(|r| Ok((i64::decode(r)?, i64::decode(r)?, i64::decode(r)?)))?;
    let last_applied = (index >= 0).then(|| log_id(term as u64, node as u64, index as u64));
    let membership: StoredMembership = serde_json::from_slice(&input.record(Bytes::decode)?)
        .map_err(|e| SnapshotError::Corrupt(format!("membership: {e}")))?;
    let mut db = Database::new(extended_types);
    db.tree = DataTree::empty();
    db.last_zxid = input.record(i64::decode)?;
    for _ in 0..input.record(i32::decode)? {
        let (id, timeout_ms, password) =
            input.record(|r| Ok((i64::decode(r)?, i32::decode(r)?, Bytes::decode(r)?)))?;
        db.sessions.insert(
            id,
            SessionInfo {
                timeout_ms,
                password,
            },
        );
    }
    let mut acls: HashMap<i32, Vec<Acl>> = HashMap::new();
    for _ in 0..input.record(i32::decode)? {
        let (handle, list) = input.record(|r| Ok((i32::decode(r)?, Vec::<Acl>::decode(r)?)))?;
        acls.insert(handle, list);
    }
    for _ in 0..input.record(i64::decode)? {
        let (node_path, data, acl, stat) = input.record(decode_node)?;
        let acl = acls
            .get(&acl)
            .ok_or_else(|| SnapshotError::Corrupt(format!("{node_path}: unknown ACL")))?;
        db.tree.restore_node(&node_path, data, acl, stat);
    }
    input.finish()?;
    db.tree
        .link_restored()
        .map_err(|orphan| SnapshotError::Corrupt(format!("{orphan}: parent missing")))?;
    Ok(Replicated {
        db,
        last_applied,
        membership,
    })
}

/// Decodes a snapshot from `source` while copying it to the snapshot file for `index` in
/// `dir` (made durable once the whole of it decoded); returns the state and the file.
pub fn install_from(
    source: impl io::Read,
    dir: &Path,
    index: u64,
    extended_types: bool,
) -> Result<(Replicated, PathBuf), SnapshotError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let tmp = snapshot_path(dir, index).with_extension("tmp");
    let file = File::create(&tmp).map_err(io_error(&tmp))?;
    let mut copy = Tee {
        source,
        copy: io::BufWriter::with_capacity(256 * 1024, file),
    };
    let state = read_from(&mut copy, extended_types)?;
    copy.copy.flush().map_err(io_error(&tmp))?;
    Ok((state, commit(dir, index, &tmp)?))
}

/// A reader that writes what it reads to `copy`.
struct Tee<R, W> {
    source: R,
    copy: W,
}

impl<R: io::Read, W: Write> io::Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// One node as `encode_node` wrote it: path, data, ACL handle, stat.
fn decode_node(r: &mut Reader<'_>) -> Result<(String, Option<Bytes>, i32, NodeStat), DecodeError> {
    Ok((
        String::decode(r)?,
        Option::<Bytes>::decode(r)?,
        i32::decode(r)?,
        NodeStat {
            czxid: i64::decode(r)?,
            mzxid: i64::decode(r)?,
            ctime: i64::decode(r)?,
            mtime: i64::decode(r)?,
            version: i32::decode(r)?,
            cversion: i32::decode(r)?,
            aversion: i32::decode(r)?,
            ephemeral_owner: i64::decode(r)?,
            pzxid: i64::decode(r)?,
        },
    ))
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
        let file = File::open(&path).map_err(io_error(&path))?;
        match read_from(file, extended_types) {
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
    fn a_snapshot_bigger_than_a_block_streams_in_and_out() {
        let mut state = sample();
        let open = crate::acl::open_acl();
        let big = Bytes::from(vec![7u8; 3 << 20]); // three blocks in one record
        state
            .db
            .tree
            .create("/big", Some(big.clone()), &open, 0, 3, 8, 103);
        for i in 0..20_000 {
            let data = Some(Bytes::from(format!("value {i}")));
            state
                .db
                .tree
                .create(&format!("/c/n{i}"), data, &open, 0, i + 1, 9, 104);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        write_to(&state, File::create(&path).unwrap()).unwrap();
        let restored = read_from(File::open(&path).unwrap(), true).unwrap();
        assert_eq!(restored.db.tree.node_count(), state.db.tree.node_count());
        assert_eq!(restored.db.tree.get("/big").unwrap().data, Some(big));
        assert_eq!(restored.db.tree.get("/c").unwrap().children.len(), 20_000);
        assert_eq!(
            restored.db.tree.get("/c/n19999").unwrap().stat(),
            state.db.tree.get("/c/n19999").unwrap().stat()
        );

        let bytes = fs::read(&path).unwrap();
        assert!(
            read_from(&bytes[..bytes.len() - 1], true).is_err(),
            "truncated"
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read_from(&longer[..], true).is_err(), "trailing bytes");
    }

    #[test]
    fn corruption_is_detected() {
        let mut bytes = encode(&sample());
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        assert!(matches!(
            decode(&bytes, true),
            Err(SnapshotError::Corrupt(_) | SnapshotError::Decode(_))
        ));
        assert!(decode(&bytes[..10], true).is_err());
    }

    #[test]
    fn purge_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for index in [10, 20, 30, 40] {
            fs::write(snapshot_path(dir.path(), index), b"x").unwrap();
        }
        assert_eq!(purge(dir.path(), 3), 1);
        let left: Vec<u64> = list(dir.path()).into_iter().map(|(i, _)| i).collect();
        assert_eq!(left, [40, 30, 20]);
    }
}
