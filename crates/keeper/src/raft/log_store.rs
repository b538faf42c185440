//! The durable raft log: segment files in `<dataLogDir>/raft/`, an in-memory index of where
//! each live entry is, a bounded cache of the newest entries (what openraft reads right after
//! appending, to apply them), and a writer thread that does the file I/O in order and
//! group-commits. Older entries are read back from their segment when asked for.
//!
//! Files:
//! - `log.<first index, 20 digits>`: records as `entry_codec` describes; a new segment starts
//!   when the current one passes `SEGMENT_BYTES`.
//! - `meta.json`: the vote and the last purged log id, replaced atomically (write, fsync,
//!   rename).
//!
//! An append is acknowledged to openraft (and so to the client) only after its bytes have
//! been written, and, when `force_sync` is on (ZooKeeper's `forceSync=yes`, the default), after
//! fdatasync. Entries that arrive while a sync runs are written and synced together. Every
//! file operation (appends, truncation, `meta.json`, deleting purged segments) runs on the
//! writer thread, in order; the async side only awaits its answers, so no async worker ever
//! waits on a disk. Entries no longer cached are read back on tokio's blocking pool.
//!
//! Recovery on open keeps every whole record and cuts a torn tail: an incomplete last record
//! of the last segment, or a last record (or trailing zeros) that a crash left half written.
//! A corrupt record with anything after it is not a torn write: the entries after it may have
//! been acknowledged, so the store refuses to open ([`LogStoreError::Corrupt`]) rather than
//! forget them; `ferry keeper repair-log` cuts there explicitly ([`LogStore::repair`]).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogReader, StorageIOError, Vote};
use serde::{Deserialize, Serialize};

use super::entry_codec::{self, Decoded};
use super::{storage_error, Entry, LogId, StorageError, TypeConfig};

/// Size after which the current segment is closed and a new one begun.
const SEGMENT_BYTES: u64 = 64 << 20;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Meta {
    vote: Option<Vote<u64>>,
    last_purged: Option<LogId>,
}

/// Bytes of recent entries kept in memory.
const CACHE_BYTES: usize = 32 << 20;

/// Where an entry's record is: truncation cuts there, reads fetch from there.
#[derive(Clone, Copy)]
struct Located {
    log_id: LogId,
    segment: u64,
    offset: u64,
    len: u32,
}

struct State {
    entries: BTreeMap<u64, Located>,
    cache: BTreeMap<u64, Entry>,
    cache_bytes: usize,
    meta: Meta,
    /// Segment base indexes, ascending; the last is the one being written.
    segments: Vec<u64>,
    current_len: u64,
}

enum WriterCommand {
    Append {
        segment: u64,
        bytes: Vec<u8>,
        last_index: u64,
        done: LogFlushed<TypeConfig>,
    },
    /// Cut `segment` at `offset` and delete the segments after it.
    Truncate {
        segment: u64,
        offset: u64,
        delete: Vec<u64>,
        done: oneshot::Sender<io::Result<()>>,
    },
    /// Replace `meta.json` (vote, last purged id) durably.
    SaveMeta {
        meta: Meta,
        done: oneshot::Sender<io::Result<()>>,
    },
}

/// Why the log store cannot open.
#[derive(Debug, thiserror::Error)]
pub enum LogStoreError {
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "corrupt raft log record in {path} at byte {offset} ({reason}), with {bytes_after} more \
         bytes and {later_segments} later segment(s) after it: they may hold acknowledged \
         writes, so this server will not start. To cut the log there (losing them on this \
         server), run `ferry keeper repair-log --config <zoo.cfg>`; an ensemble member can \
         instead be emptied and resynced from the leader"
    )]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
        bytes_after: u64,
        later_segments: usize,
    },
}

fn io_error<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> LogStoreError + 'a {
    move |source| LogStoreError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// What recovery found; logged at startup.
#[derive(Debug, Default)]
pub struct Recovery {
    pub entries: usize,
    pub truncated: Option<String>,
}

#[derive(Clone)]
pub struct LogStore {
    dir: PathBuf,
    state: Arc<Mutex<State>>,
    writer: mpsc::Sender<WriterCommand>,
    /// The highest index the writer thread has written; cached entries up to it may be evicted.
    written: Arc<AtomicU64>,
}

fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("log.{base:020}"))
}

impl LogStore {
    /// Opens (creating if needed) the log in `dir`, recovering from an unclean stop.
    pub fn open(dir: &Path, force_sync: bool) -> Result<(Self, Recovery), LogStoreError> {
        fs::create_dir_all(dir).map_err(io_error("create", dir))?;
        let meta = read_meta(dir)?;
        let mut segments = list_segments(dir).map_err(io_error("list", dir))?;
        let (entries, recovery, current_len) = recover(dir, &mut segments, Mode::Open)?;
        let purged = meta.last_purged.map_or(0, |id| id.index + 1);
        let entries = entries
            .into_iter()
            .filter(|(index, _)| *index >= purged)
            .collect();
        let (writer, commands) = mpsc::channel();
        let writer_dir = dir.to_path_buf();
        let written = Arc::new(AtomicU64::new(0));
        let writer_written = written.clone();
        std::thread::Builder::new()
            .name("keeper-log-writer".into())
            .spawn(move || write_loop(&writer_dir, commands, force_sync, &writer_written))
            .map_err(io_error("start the writer thread for", dir))?;
        let store = Self {
            dir: dir.to_path_buf(),
            state: Arc::new(Mutex::new(State {
                entries,
                cache: BTreeMap::new(),
                cache_bytes: 0,
                meta,
                segments,
                current_len,
            })),
            writer,
            written,
        };
        Ok((store, recovery))
    }

    /// Cuts the log in `dir` at its first corrupt record, deleting what follows it (the
    /// explicit repair that [`LogStoreError::Corrupt`] asks for). Returns what was done.
    pub fn repair(dir: &Path) -> Result<Recovery, LogStoreError> {
        let mut segments = list_segments(dir).map_err(io_error("list", dir))?;
        let (_, recovery, _) = recover(dir, &mut segments, Mode::Repair)?;
        Ok(recovery)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic elsewhere already; the state itself is still consistent
        // because every mutation completes before the guard drops.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, command: WriterCommand) -> io::Result<()> {
        self.writer
            .send(command)
            .map_err(|_closed| io::Error::other("log writer thread has stopped"))
    }

    /// Has the writer thread replace `meta.json`, and waits for it without blocking.
    async fn save_meta(&self, meta: Meta) -> io::Result<()> {
        let (done, result) = oneshot::channel();
        self.send(WriterCommand::SaveMeta { meta, done })?;
        result
            .await
            .map_err(|_gone| io::Error::other("log writer thread has stopped"))?
    }
}

fn read_meta(dir: &Path) -> Result<Meta, LogStoreError> {
    let path = dir.join("meta.json");
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LogStoreError::Io {
            op: "parse",
            path,
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Meta::default()),
        Err(source) => Err(LogStoreError::Io {
            op: "read",
            path,
            source,
        }),
    }
}

fn write_meta(dir: &Path, meta: &Meta) -> io::Result<()> {
    let tmp = dir.join("meta.json.tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(&serde_json::to_vec(meta).map_err(io::Error::other)?)?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join("meta.json"))?;
    File::open(dir)?.sync_all()
}

impl State {
    /// Forgets the entries from `index` on (truncation).
    fn forget_from(&mut self, index: u64) {
        let removed = self.entries.split_off(&index);
        let uncached = self.cache.split_off(&index);
        self.uncount(&uncached, &removed);
    }

    /// Forgets the entries up to and including `index` (purge); returns them, for the caller
    /// to drop after releasing the lock (after a snapshot they can be a hundred thousand
    /// entries, whose freeing appends should not wait for).
    fn forget_through(&mut self, index: u64) -> impl Send {
        let kept = self.entries.split_off(&(index + 1));
        let removed = std::mem::replace(&mut self.entries, kept);
        let kept_cache = self.cache.split_off(&(index + 1));
        let uncached = std::mem::replace(&mut self.cache, kept_cache);
        self.uncount(&uncached, &removed);
        (removed, uncached)
    }

    fn uncount(&mut self, uncached: &BTreeMap<u64, Entry>, places: &BTreeMap<u64, Located>) {
        let bytes: usize = uncached
            .keys()
            .filter_map(|index| places.get(index))
            .map(|place| place.len as usize)
            .sum();
        self.cache_bytes = self.cache_bytes.saturating_sub(bytes);
    }

    /// Drops the oldest cached entries beyond the cache budget, but only those already written
    /// (so they can be read back from their segment).
    fn evict(&mut self, written: u64) {
        while self.cache_bytes > CACHE_BYTES {
            let Some((&index, _)) = self.cache.first_key_value() else {
                break;
            };
            if index > written {
                break;
            }
            let len = self.entries.get(&index).map_or(0, |p| p.len as usize);
            self.cache.remove(&index);
            self.cache_bytes = self.cache_bytes.saturating_sub(len);
        }
    }
}

fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(base) = name
            .to_str()
            .and_then(|n| n.strip_prefix("log."))
            .and_then(|n| n.parse::<u64>().ok())
        {
            segments.push(base);
        }
    }
    segments.sort_unstable();
    Ok(segments)
}

/// Whether recovery may cut more than a torn tail.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Cut only a torn tail; refuse anything else.
    Open,
    /// Cut at the first bad record, whatever follows (`repair-log`).
    Repair,
}

/// True when the bad bytes at `offset` of the last segment are what a crash in the middle of
/// an append leaves: a record cut short, a last record half overwritten, or zeros the file
/// was extended with.
fn is_torn_tail(bytes: &[u8], offset: usize, problem: &Decoded) -> bool {
    let rest = &bytes[offset..];
    match problem {
        Decoded::Incomplete => true,
        _ if rest.iter().all(|&b| b == 0) => true,
        _ => {
            let len = rest
                .get(..4)
                .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize);
            len.is_some_and(|len| entry_codec::RECORD_HEADER_LEN + len == rest.len())
        }
    }
}

/// Reads every segment. A torn tail is cut; any other bad record fails the open (see
/// [`LogStoreError::Corrupt`]), unless `mode` is [`Mode::Repair`], which cuts there and
/// removes every later segment.
fn recover(
    dir: &Path,
    segments: &mut Vec<u64>,
    mode: Mode,
) -> Result<(BTreeMap<u64, Located>, Recovery, u64), LogStoreError> {
    let mut entries = BTreeMap::new();
    let mut recovery = Recovery::default();
    let mut current_len = 0;
    for (position, &segment) in segments.iter().enumerate() {
        let path = segment_path(dir, segment);
        let bytes = fs::read(&path).map_err(io_error("read", &path))?;
        let mut offset = 0usize;
        let problem = loop {
            match entry_codec::decode(&bytes[offset..]) {
                Decoded::Entry(entry, size) => {
                    entries.insert(
                        entry.log_id.index,
                        Located {
                            log_id: entry.log_id,
                            segment,
                            offset: offset as u64,
                            len: size as u32,
                        },
                    );
                    offset += size;
                }
                Decoded::Incomplete if offset == bytes.len() => break None,
                other => break Some(other),
            }
        };
        current_len = offset as u64;
        let Some(problem) = problem else { continue };
        let reason = match &problem {
            Decoded::Corrupt(why) => why.clone(),
            _ => "record cut short".to_string(),
        };
        let dropped = &segments[position + 1..];
        let torn = dropped.is_empty() && is_torn_tail(&bytes, offset, &problem);
        if !torn && mode == Mode::Open {
            return Err(LogStoreError::Corrupt {
                path,
                offset: offset as u64,
                reason,
                bytes_after: (bytes.len() - offset) as u64,
                later_segments: dropped.len(),
            });
        }
        recovery.truncated = Some(format!(
            "{}: {reason} at byte {offset} of {}; cut there, {} later segment(s) removed",
            path.display(),
            bytes.len(),
            dropped.len()
        ));
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(offset as u64).and_then(|()| f.sync_all()))
            .map_err(io_error("truncate", &path))?;
        for later in dropped {
            let later = segment_path(dir, *later);
            fs::remove_file(&later).map_err(io_error("remove", &later))?;
        }
        segments.truncate(position + 1);
        break;
    }
    recovery.entries = entries.len();
    Ok((entries, recovery, current_len))
}

/// The writer thread: applies commands in order; appends that queue up while one is being
/// synced share the next sync.
fn write_loop(
    dir: &Path,
    commands: mpsc::Receiver<WriterCommand>,
    force_sync: bool,
    written: &AtomicU64,
) {
    let mut current: Option<(u64, File)> = None;
    while let Ok(first) = commands.recv() {
        let mut batch = vec![first];
        batch.extend(commands.try_iter());
        let mut flushed = Vec::new();
        let mut result: io::Result<()> = Ok(());
        for command in batch {
            match command {
                WriterCommand::Append {
                    segment,
                    bytes,
                    last_index,
                    done,
                } => {
                    if result.is_ok() {
                        result = open_segment(dir, &mut current, segment)
                            .and_then(|file| file.write_all(&bytes));
                        if result.is_ok() {
                            written.store(last_index, Ordering::Release);
                        }
                    }
                    flushed.push(done);
                }
                WriterCommand::Truncate {
                    segment,
                    offset,
                    delete,
                    done,
                } => {
                    current = None;
                    let cut = OpenOptions::new()
                        .write(true)
                        .open(segment_path(dir, segment))
                        .and_then(|f| f.set_len(offset).and_then(|()| f.sync_all()))
                        .and_then(|()| remove_segments(dir, &delete));
                    let _ = done.send(cut);
                }
                WriterCommand::SaveMeta { meta, done } => {
                    let _ = done.send(write_meta(dir, &meta));
                }
            }
        }
        if result.is_ok() && force_sync && !flushed.is_empty() {
            if let Some((_, file)) = &current {
                result = file.sync_data();
            }
        }
        for done in flushed {
            let outcome = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            };
            done.log_io_completed(outcome);
        }
    }
}

fn open_segment<'a>(
    dir: &Path,
    current: &'a mut Option<(u64, File)>,
    segment: u64,
) -> io::Result<&'a mut File> {
    if current.as_ref().map(|(base, _)| *base) != Some(segment) {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(segment_path(dir, segment))?;
        if let Some((_, previous)) = current.take() {
            previous.sync_all()?;
        }
        File::open(dir)?.sync_all()?;
        *current = Some((segment, file));
    }
    match current {
        Some((_, file)) => Ok(file),
        None => Err(io::Error::other("no current segment")),
    }
}

fn remove_segments(dir: &Path, segments: &[u64]) -> io::Result<()> {
    for segment in segments {
        match fs::remove_file(segment_path(dir, *segment)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

impl LogStore {
    /// The entries at `places`, from the cache or else from their segment files.
    fn fetch(&self, places: Vec<Located>, cached: Vec<Option<Entry>>) -> io::Result<Vec<Entry>> {
        let mut out = Vec::with_capacity(places.len());
        let mut open: Option<(u64, File)> = None;
        for (place, cached) in places.into_iter().zip(cached) {
            if let Some(entry) = cached {
                out.push(entry);
                continue;
            }
            if open.as_ref().map(|(s, _)| *s) != Some(place.segment) {
                open = Some((
                    place.segment,
                    File::open(segment_path(&self.dir, place.segment))?,
                ));
            }
            let Some((_, file)) = &open else { continue };
            let mut record = vec![0u8; place.len as usize];
            std::os::unix::fs::FileExt::read_exact_at(file, &mut record, place.offset)?;
            match entry_codec::decode(&record) {
                Decoded::Entry(entry, _) => out.push(*entry),
                Decoded::Incomplete | Decoded::Corrupt(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{}: record of entry {} at byte {} does not read back",
                            segment_path(&self.dir, place.segment).display(),
                            place.log_id.index,
                            place.offset
                        ),
                    ))
                }
            }
        }
        Ok(out)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + std::fmt::Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let (places, cached): (Vec<Located>, Vec<Option<Entry>>) = {
            let state = self.lock();
            state
                .entries
                .range(range)
                .map(|(index, place)| (*place, state.cache.get(index).cloned()))
                .unzip()
        };
        if cached.iter().all(Option::is_some) {
            return Ok(cached.into_iter().flatten().collect());
        }
        // Reading segment files blocks: not on an async worker.
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.fetch(places, cached))
            .await
            .map_err(io::Error::other)
            .and_then(|read| read)
            .map_err(|e| storage_error(StorageIOError::read_logs, &e))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let state = self.lock();
        let last_purged_log_id = state.meta.last_purged;
        let last_log_id = state
            .entries
            .values()
            .next_back()
            .map(|l| l.log_id)
            .or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError> {
        let meta = {
            let mut state = self.lock();
            state.meta.vote = Some(*vote);
            state.meta.clone()
        };
        self.save_meta(meta)
            .await
            .map_err(|e| storage_error(StorageIOError::write_vote, &e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError> {
        Ok(self.lock().meta.vote)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut bytes = Vec::new();
        let written = self.written.load(Ordering::Acquire);
        let (segment, last_index) = {
            let mut state = self.lock();
            let mut segment = None;
            let mut last_index = 0;
            for entry in entries {
                let index = entry.log_id.index;
                // Roll only at a batch boundary, so one write never spans two files.
                if bytes.is_empty()
                    && (state.segments.is_empty() || state.current_len >= SEGMENT_BYTES)
                {
                    state.segments.push(index);
                    state.current_len = 0;
                }
                let base = *state.segments.last().unwrap_or(&index);
                segment.get_or_insert(base);
                let start = bytes.len();
                entry_codec::encode(&entry, &mut bytes);
                let len = bytes.len() - start;
                let offset = state.current_len + start as u64;
                state.entries.insert(
                    index,
                    Located {
                        log_id: entry.log_id,
                        segment: base,
                        offset,
                        len: len as u32,
                    },
                );
                state.cache.insert(index, entry);
                state.cache_bytes += len;
                last_index = index;
            }
            state.current_len += bytes.len() as u64;
            state.evict(written);
            (segment, last_index)
        };
        match segment {
            Some(segment) => self
                .send(WriterCommand::Append {
                    segment,
                    bytes,
                    last_index,
                    done: callback,
                })
                .map_err(|e| storage_error(StorageIOError::write_logs, &e)),
            None => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let (done, result) = oneshot::channel();
        {
            let mut state = self.lock();
            let Some(first) = state.entries.get(&log_id.index) else {
                return Ok(());
            };
            let (segment, offset) = (first.segment, first.offset);
            state.forget_from(log_id.index);
            let keep = state.segments.partition_point(|&base| base <= segment);
            let delete = state.segments.split_off(keep);
            state.current_len = offset;
            self.send(WriterCommand::Truncate {
                segment,
                offset,
                delete,
                done,
            })
            .map_err(|e| storage_error(StorageIOError::write_logs, &e))?;
        }
        result
            .await
            .map_err(io::Error::other)
            .and_then(|r| r)
            .map_err(|e| storage_error(StorageIOError::write_logs, &e))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let (meta, delete, _forgotten) = {
            let mut state = self.lock();
            let forgotten = state.forget_through(log_id.index);
            state.meta.last_purged = Some(log_id);
            // A segment can go once the next one starts at or below the first kept index.
            let mut delete = Vec::new();
            while state.segments.len() > 1 && state.segments[1] <= log_id.index + 1 {
                delete.push(state.segments.remove(0));
            }
            (state.meta.clone(), delete, forgotten)
        };
        self.save_meta(meta)
            .await
            .map_err(|e| storage_error(StorageIOError::write_logs, &e))?;
        if !delete.is_empty() {
            // Off the writer thread: unlinking big files takes long enough (and makes the
            // next journal commit long enough) to show in the latency of every append.
            let dir = self.dir.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(error) = remove_segments(&dir, &delete) {
                    tracing::warn!(%error, "could not delete purged log segments");
                }
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use openraft::testing::{StoreBuilder, Suite};

    use super::*;
    use crate::database::Database;
    use crate::raft::state_machine::StateMachine;
    use crate::shared::Shared;

    /// Builds a fresh log store and state machine in a temporary directory, for openraft's
    /// storage conformance suite.
    struct Builder;

    impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
        async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError> {
            let dir =
                tempfile::tempdir().map_err(|e| storage_error(StorageIOError::write_logs, &e))?;
            let (log, _) = LogStore::open(&dir.path().join("raft"), true)
                .map_err(|e| storage_error(StorageIOError::write_logs, &e))?;
            let shared = Arc::new(Shared::new(Database::new(false)));
            let state_machine = StateMachine::open(shared, dir.path().join("snapshots"), false)
                .map_err(|e| storage_error(StorageIOError::read_state_machine, &e))?;
            Ok((dir, log, state_machine))
        }
    }

    #[test]
    fn passes_openraft_storage_suite() {
        Suite::test_all(Builder).unwrap();
    }

    fn blank(index: u64) -> Entry {
        Entry {
            log_id: crate::raft::log_id(1, 1, index),
            payload: openraft::EntryPayload::Blank,
        }
    }

    /// A segment file holding blank entries `1..=n`; returns its path and record offsets.
    fn write_segment(dir: &Path, n: u64) -> (PathBuf, Vec<usize>) {
        fs::create_dir_all(dir).unwrap();
        let mut bytes = Vec::new();
        let mut offsets = Vec::new();
        for index in 1..=n {
            offsets.push(bytes.len());
            entry_codec::encode(&blank(index), &mut bytes);
        }
        let path = segment_path(dir, 1);
        fs::write(&path, &bytes).unwrap();
        (path, offsets)
    }

    #[test]
    fn a_torn_tail_is_cut() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("raft");
        let (path, offsets) = write_segment(&dir, 5);
        let full = fs::metadata(&path).unwrap().len() as usize;
        // The last record cut short.
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(full as u64 - 3)
            .unwrap();
        let (_store, recovery) = LogStore::open(&dir, false).expect("a torn tail is cut");
        assert_eq!(recovery.entries, 4);
        assert_eq!(fs::metadata(&path).unwrap().len() as usize, offsets[4]);
        // Zeros after the last whole record (an extended, never written file end).
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(&[0; 100]);
        fs::write(&path, &bytes).unwrap();
        let (_store, recovery) = LogStore::open(&dir, false).expect("zeros are a torn tail");
        assert_eq!(recovery.entries, 4);
        // The last record overwritten in the middle (its CRC fails).
        let mut bytes = fs::read(&path).unwrap();
        let last = offsets[3] + 12;
        bytes[last] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        let (_store, recovery) = LogStore::open(&dir, false).expect("a bad last record is torn");
        assert_eq!(recovery.entries, 3);
    }

    #[test]
    fn a_corrupt_record_in_the_middle_refuses_to_open_until_repaired() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("raft");
        let (path, offsets) = write_segment(&dir, 5);
        let mut bytes = fs::read(&path).unwrap();
        bytes[offsets[2] + 10] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        let error = LogStore::open(&dir, false).err().expect("refused");
        let text = error.to_string();
        assert!(
            matches!(error, LogStoreError::Corrupt { offset, .. } if offset as usize == offsets[2]),
            "{text}"
        );
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("repair-log"), "{text}");
        // Nothing was cut by the refusal.
        assert_eq!(fs::read(&path).unwrap(), bytes);
        let repaired = LogStore::repair(&dir).expect("repair");
        assert!(repaired.truncated.is_some());
        let (_store, recovery) = LogStore::open(&dir, false).expect("opens after the repair");
        assert_eq!(recovery.entries, 2);
    }

    #[test]
    fn a_corrupt_segment_before_a_later_one_refuses_to_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("raft");
        let (path, offsets) = write_segment(&dir, 3);
        let full = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(full - 2)
            .unwrap();
        let mut later = Vec::new();
        entry_codec::encode(&blank(4), &mut later);
        fs::write(segment_path(&dir, 4), &later).unwrap();
        let error = LogStore::open(&dir, false).err().expect("refused");
        assert!(
            matches!(error, LogStoreError::Corrupt { later_segments: 1, offset, .. } if offset as usize == offsets[2]),
            "{error}"
        );
    }
}
