//! Idempotent producers: producer ids ([`ids`]) and, per partition, the sequence state that
//! turns retried batches into duplicates instead of second copies ([`state`]).
//!
//! Every leader append goes through [`PartitionProducers::append`], which holds the
//! partition's producer lock from the sequence check to the state update, so two connections
//! producing to one partition cannot both pass the check for the same sequence.
//!
//! # Durability: the state is rebuilt from the log
//!
//! Nothing extra is written to disk. The batches themselves carry the producer id, epoch and
//! base sequence in their headers, and the log keeps them as received. The first idempotent
//! batch a partition sees after its log was opened (startup, restart, kill -9) replays the
//! headers of the log from its start offset: exactly the batches that survived recovery, so
//! the state never remembers a batch the log lost and never forgets one it kept. Kafka keeps
//! `<offset>.snapshot` files to bound that replay; here the replay reads the whole retained
//! log once per opening (sequentially, at disk speed), which is the price of having no second
//! source of truth. Partitions that only ever see non-idempotent batches never replay.

pub mod ids;
pub mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use ferry_log::{AppendInfo, BatchHeader, BatchIter, Log, LogError, TopicPartition};

pub use ids::ProducerIds;
use state::{BatchMetadata, ProducerBatch, ProducerStates, SequenceError, Verdict};

/// Kafka's `producer.id.expiration.ms` default (1 day): producers silent for longer are
/// forgotten, bounding memory.
const PRODUCER_EXPIRATION_MS: i64 = 24 * 60 * 60 * 1000;
/// How often a partition looks for expired producers.
const EXPIRATION_CHECK_MS: i64 = 60 * 1000;
/// Bytes read per step when replaying a log.
const REPLAY_CHUNK: usize = 1 << 20;

/// The outcome of a leader append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Written at these offsets.
    New(AppendInfo),
    /// A retry of a batch already in the log at these offsets; nothing was written.
    Duplicate(BatchMetadata),
}

/// Why a leader append was refused.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Sequence(#[from] SequenceError),
}

/// The producer state of every partition this broker leads.
#[derive(Debug, Default)]
pub struct ProducerRegistry {
    partitions: Mutex<HashMap<TopicPartition, Arc<PartitionProducers>>>,
}

impl ProducerRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// The producer state of `log`'s partition. A log opened anew for the partition (topic
    /// deleted and created again, log reopened) gets fresh state.
    pub fn partition(&self, tp: &TopicPartition, log: &Arc<Log>) -> Arc<PartitionProducers> {
        let mut partitions = lock(&self.partitions);
        if let Some(existing) = partitions.get(tp) {
            if Weak::ptr_eq(&existing.log, &Arc::downgrade(log)) {
                return existing.clone();
            }
        }
        // Entries of logs that are gone are dropped on the way, so the map does not grow with
        // deleted topics.
        partitions.retain(|_, p| p.log.strong_count() > 0);
        let fresh = Arc::new(PartitionProducers::new(log));
        partitions.insert(tp.clone(), fresh.clone());
        fresh
    }
}

impl ProducerRegistry {
    /// Whether `log`'s partition has its producer state in memory, so that an idempotent
    /// append does not first replay the log. Never waits: a state busy (maybe replaying on
    /// the blocking pool) counts as not loaded.
    pub fn is_loaded(&self, tp: &TopicPartition, log: &Arc<Log>) -> bool {
        let partitions = lock(&self.partitions);
        partitions.get(tp).is_some_and(|p| {
            Weak::ptr_eq(&p.log, &Arc::downgrade(log))
                && p.state.try_lock().is_ok_and(|s| s.states.is_some())
        })
    }
}

impl ProducerRegistry {
    /// Drops a partition's state: after a leadership change the new leader rebuilds it from
    /// its own log (which followers filled with the batches' producer ids and sequences).
    ///
    /// The state is reset in place, under its own lock: an append in progress finishes
    /// first, and the next one replays the whole log, so there is never a second state for
    /// the same log missing a batch the first one is writing.
    pub fn forget(&self, tp: &TopicPartition) {
        let entry = lock(&self.partitions).get(tp).cloned();
        if let Some(entry) = entry {
            lock(&entry.state).states = None;
        }
    }
}

/// One partition's producer state, built on first use.
#[derive(Debug)]
pub struct PartitionProducers {
    log: Weak<Log>,
    state: Mutex<Loaded>,
}

#[derive(Debug, Default)]
struct Loaded {
    /// `None` until an idempotent batch needs it (then replayed from the log).
    states: Option<ProducerStates>,
    /// The log start offset the state was last trimmed to.
    trimmed_to: i64,
    last_expiration_ms: i64,
}

impl PartitionProducers {
    fn new(log: &Arc<Log>) -> Self {
        PartitionProducers {
            log: Arc::downgrade(log),
            state: Mutex::new(Loaded::default()),
        }
    }

    /// Appends a produce request's record set to `log` as leader, with the idempotence
    /// checks: a set holding a retry of a recent batch is answered with that batch's offsets
    /// and not written; an out-of-order or fenced batch fails the whole set; batches without
    /// a producer id are not checked. `now_ms` is the broker's clock, for producer expiry.
    pub fn append(
        &self,
        log: &Log,
        records: &mut [u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<Appended, AppendError> {
        let batches: Vec<ProducerBatch> = BatchIter::new(records)
            .filter(|(h, _)| !h.is_control())
            .map(|(h, _)| producer_batch(&h))
            .filter(ProducerBatch::is_idempotent)
            .collect();
        let mut loaded = lock(&self.state);
        if batches.is_empty() {
            // Still under the lock, so that the offsets an idempotent append reads back are
            // not interleaved with another append's.
            return Ok(Appended::New(log.append_as_leader(records, leader_epoch)?));
        }
        let states = loaded.ready(log, now_ms)?;
        // Batches of one request are checked one after the other against a scratch copy of
        // their producers' entries.
        let mut scratch = states.subset(batches.iter().map(|b| b.producer_id));
        let mut next = log.log_end_offset();
        for batch in &batches {
            match scratch.check(batch)? {
                Verdict::Duplicate(original) => {
                    // Only a valid batch may be answered as already written.
                    ferry_log::validate_record_set(records, log.config().max_message_bytes)
                        .map_err(LogError::from)?;
                    tracing::debug!(
                        dir = %log.dir().display(),
                        producer_id = batch.producer_id,
                        first_sequence = original.first_sequence,
                        first_offset = original.first_offset,
                        "duplicate batch answered with its original offset"
                    );
                    return Ok(Appended::Duplicate(original));
                }
                Verdict::Append => {
                    let last = next + i64::from(batch.last_offset_delta);
                    scratch.record(batch, next, last, now_ms);
                    next = last + 1;
                }
            }
        }
        let info = log.append_as_leader(records, leader_epoch)?;
        // The log wrote the offsets it assigned into the buffer: record those.
        for (header, _) in BatchIter::new(records).filter(|(h, _)| !h.is_control()) {
            states.record(
                &producer_batch(&header),
                header.base_offset,
                header.last_offset(),
                now_ms,
            );
        }
        Ok(Appended::New(info))
    }
}

impl Loaded {
    /// The state, replayed from the log on first use, trimmed to the log start and with
    /// expired producers dropped.
    fn ready(&mut self, log: &Log, now_ms: i64) -> Result<&mut ProducerStates, LogError> {
        let start = log.log_start_offset();
        let states = match self.states.take() {
            Some(mut states) => {
                if start > self.trimmed_to {
                    states.evict_below(start);
                }
                states
            }
            None => {
                self.last_expiration_ms = now_ms;
                replay(log, now_ms)?
            }
        };
        self.trimmed_to = start;
        let states = self.states.insert(states);
        if now_ms - self.last_expiration_ms >= EXPIRATION_CHECK_MS {
            states.expire_older_than(now_ms - PRODUCER_EXPIRATION_MS);
            self.last_expiration_ms = now_ms;
        }
        Ok(states)
    }
}

fn producer_batch(h: &BatchHeader) -> ProducerBatch {
    ProducerBatch {
        producer_id: h.producer_id,
        epoch: h.producer_epoch,
        base_sequence: h.base_sequence,
        last_offset_delta: h.last_offset_delta,
        max_timestamp: h.max_timestamp,
    }
}

/// Rebuilds a partition's producer state from the batch headers of its log, from the log start
/// to the log end, without sequence checks (what the log holds is the truth). Producers found
/// count as seen at `now_ms`.
pub fn replay(log: &Log, now_ms: i64) -> Result<ProducerStates, LogError> {
    let mut states = ProducerStates::new();
    let start = log.log_start_offset();
    let end = log.log_end_offset();
    let mut offset = start;
    let mut batches = 0u64;
    while offset < end {
        let read = match log.read(offset, REPLAY_CHUNK, None) {
            Ok(read) => read,
            // Retention moved the start past us meanwhile: carry on from the new start.
            Err(LogError::OffsetOutOfRange {
                log_start_offset, ..
            }) if log_start_offset > offset => {
                offset = log_start_offset;
                continue;
            }
            Err(error) => return Err(error),
        };
        let mut advanced = false;
        for (header, _) in BatchIter::new(&read.records) {
            // A batch before `offset` was recorded by the previous step already; transaction
            // markers (control batches) carry no sequence.
            if header.next_offset() <= offset || header.is_control() {
                continue;
            }
            states.record(
                &producer_batch(&header),
                header.base_offset,
                header.last_offset(),
                now_ms,
            );
            batches += 1;
        }
        if let Some((last, _)) = BatchIter::new(&read.records).last() {
            if last.next_offset() > offset {
                offset = last.next_offset();
                advanced = true;
            }
        }
        if !advanced {
            // Nothing at `offset` in its segment (the rest was compacted away): go on with the
            // next segment.
            match log
                .segments()
                .iter()
                .map(|s| s.base_offset)
                .find(|&base| base > offset)
            {
                Some(base) => offset = base,
                None => break,
            }
        }
    }
    states.evict_below(start);
    tracing::debug!(
        dir = %log.dir().display(),
        batches,
        producers = states.len(),
        "producer state replayed from the log"
    );
    Ok(states)
}

/// A poisoned lock means a request panicked mid-append; the state it guards is updated only
/// after a successful append, so it is still consistent with the log.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ferry_log::{BatchBuilder, LogConfig, OpenOptions, Resources, SystemClock};

    use super::*;

    fn open(dir: &Path) -> Arc<Log> {
        let res = Arc::new(Resources::with_clock(Arc::new(SystemClock)));
        let config = LogConfig {
            // Small segments, so that replay crosses segment boundaries.
            segment_bytes: 1024,
            ..LogConfig::default()
        };
        Arc::new(Log::open(dir, config, res, OpenOptions::default()).unwrap())
    }

    fn batch(producer_id: i64, epoch: i16, base_sequence: i32, records: usize) -> Vec<u8> {
        let mut b = BatchBuilder::new(1_000).producer(producer_id, epoch, base_sequence);
        for i in 0..records {
            b.append(Some(b"key"), Some(format!("value {i}").as_bytes()), 1_000);
        }
        b.build()
    }

    fn append(
        p: &PartitionProducers,
        log: &Log,
        mut records: Vec<u8>,
    ) -> Result<Appended, AppendError> {
        p.append(log, &mut records, 0, 1_000)
    }

    fn new_at(result: Result<Appended, AppendError>) -> i64 {
        match result {
            Ok(Appended::New(info)) => info.base_offset,
            other => panic!("expected a new append, got {other:?}"),
        }
    }

    fn duplicate_of(result: Result<Appended, AppendError>) -> i64 {
        match result {
            Ok(Appended::Duplicate(original)) => original.first_offset,
            other => panic!("expected a duplicate, got {other:?}"),
        }
    }

    #[test]
    fn retries_are_not_written_twice_and_gaps_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let p = PartitionProducers::new(&log);
        assert_eq!(new_at(append(&p, &log, batch(5, 0, 0, 3))), 0);
        // A non-idempotent batch in between is not checked.
        assert_eq!(new_at(append(&p, &log, batch(-1, -1, -1, 2))), 3);
        assert_eq!(new_at(append(&p, &log, batch(5, 0, 3, 2))), 5);
        assert_eq!(duplicate_of(append(&p, &log, batch(5, 0, 0, 3))), 0);
        assert_eq!(duplicate_of(append(&p, &log, batch(5, 0, 3, 2))), 5);
        assert_eq!(log.log_end_offset(), 7, "duplicates are not appended");
        assert!(matches!(
            append(&p, &log, batch(5, 0, 9, 1)),
            Err(AppendError::Sequence(SequenceError::OutOfOrder { .. }))
        ));
        // Two batches of one producer in one record set: checked one after the other.
        let mut two = batch(5, 0, 5, 1);
        two.extend(batch(5, 0, 6, 1));
        assert_eq!(new_at(append(&p, &log, two)), 7);
        let mut bad_second = batch(5, 0, 7, 1);
        bad_second.extend(batch(5, 0, 9, 1));
        assert!(append(&p, &log, bad_second).is_err());
        assert_eq!(log.log_end_offset(), 9, "a refused set writes nothing");
    }

    #[test]
    fn a_corrupt_retry_is_not_answered_as_a_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let p = PartitionProducers::new(&log);
        new_at(append(&p, &log, batch(5, 0, 0, 1)));
        let mut corrupt = batch(5, 0, 0, 1);
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        assert!(matches!(
            append(&p, &log, corrupt),
            Err(AppendError::Log(LogError::InvalidBatch(_)))
        ));
    }

    #[test]
    fn state_is_rebuilt_from_the_log_when_it_is_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut seq = [0i32; 3];
        {
            let log = open(dir.path());
            let p = PartitionProducers::new(&log);
            for round in 0..40 {
                let producer = round % 3;
                append(&p, &log, batch(producer as i64, 0, seq[producer], 2)).unwrap();
                seq[producer] += 2;
            }
            assert!(log.segments().len() > 3, "the replay crosses segments");
            // No clean close: like kill -9, the next open recovers the files as they are.
        }
        let log = open(dir.path());
        let replayed = replay(&log, 1_000).unwrap();
        assert_eq!(replayed.len(), 3);
        let p = PartitionProducers::new(&log);
        let end = log.log_end_offset();
        // The last batch of producer 0 is a duplicate, the next one in order, a gap refused.
        let last0 = duplicate_of(append(&p, &log, batch(0, 0, seq[0] - 2, 2)));
        assert!(last0 < end);
        assert!(append(&p, &log, batch(1, 0, seq[1] + 1, 1)).is_err());
        assert!(
            append(&p, &log, batch(2, 1, 5, 1)).is_err(),
            "new epoch starts at 0"
        );
        assert!(matches!(
            append(&p, &log, batch(2, 0, seq[2], 1)),
            Ok(Appended::New(_))
        ));
        assert_eq!(new_at(append(&p, &log, batch(1, 0, seq[1], 1))), end + 1);
    }

    #[test]
    fn transaction_markers_do_not_count_as_sequences() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let p = PartitionProducers::new(&log);
        new_at(append(&p, &log, batch(5, 0, 0, 2)));
        // Markers are written by a transaction coordinator, not through producer checks.
        let mut marker = BatchBuilder::new(1_000).producer(5, 0, -1).control();
        marker.append(None, Some(b"\0\0\0\0\0\0"), 1_000);
        log.append_as_leader_from(&mut marker.build(), 0, ferry_log::AppendOrigin::Coordinator)
            .unwrap();
        assert_eq!(new_at(append(&p, &log, batch(5, 0, 2, 1))), 3);
        let replayed = PartitionProducers::new(&log);
        assert_eq!(new_at(append(&replayed, &log, batch(5, 0, 3, 1))), 4);
    }

    #[test]
    fn records_deleted_below_the_log_start_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let p = PartitionProducers::new(&log);
        new_at(append(&p, &log, batch(5, 0, 0, 2)));
        new_at(append(&p, &log, batch(6, 0, 0, 2)));
        log.delete_records_before(2).unwrap();
        // Producer 5 is unknown again: a retry of its batch can no longer be recognised and
        // any sequence is accepted (Kafka since 2.5); producer 6 is still checked.
        assert_eq!(new_at(append(&p, &log, batch(5, 0, 0, 2))), 4);
        assert_eq!(duplicate_of(append(&p, &log, batch(6, 0, 0, 2))), 2);
        assert!(append(&p, &log, batch(6, 0, 5, 1)).is_err());
    }

    #[test]
    fn concurrent_retries_of_the_same_batches_are_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let registry = ProducerRegistry::new();
        let tp = TopicPartition::new("t", 0);
        let threads = 4;
        let round = std::sync::Barrier::new(threads);
        let written = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let p = registry.partition(&tp, &log);
                    for seq in 0..50 {
                        // Every thread sends the same batch at the same moment (a retry racing
                        // the original on another connection): one copy is written, the others
                        // are answered as duplicates of it.
                        round.wait();
                        match append(&p, &log, batch(1, 0, seq, 1)) {
                            Ok(Appended::New(_)) => {
                                written.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            Ok(Appended::Duplicate(original)) => {
                                assert_eq!(original.first_sequence, seq)
                            }
                            Err(other) => panic!("{other}"),
                        }
                    }
                });
            }
        });
        assert_eq!(written.into_inner(), 50);
        assert_eq!(
            log.log_end_offset(),
            50,
            "each sequence written exactly once"
        );
    }

    #[test]
    fn a_new_log_for_the_partition_gets_fresh_state() {
        let dir = tempfile::tempdir().unwrap();
        let registry = ProducerRegistry::new();
        let tp = TopicPartition::new("t", 0);
        let first = open(&dir.path().join("a"));
        let p = registry.partition(&tp, &first);
        new_at(append(&p, &first, batch(1, 0, 0, 1)));
        assert!(Arc::ptr_eq(&p, &registry.partition(&tp, &first)));
        let second = open(&dir.path().join("b"));
        let q = registry.partition(&tp, &second);
        assert!(!Arc::ptr_eq(&p, &q));
        assert_eq!(new_at(append(&q, &second, batch(1, 0, 0, 1))), 0);
    }
}
