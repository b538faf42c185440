//! Idempotent-producer state of one partition: per producer id, its epoch and the metadata of
//! its last appended batches. Pure logic, no I/O: the caller feeds it batch headers.
//!
//! The rules are Kafka's (`ProducerStateManager` / `ProducerAppendInfo`, 2.5 and later):
//! - A batch whose producer epoch is *older* than the producer's is fenced:
//!   INVALID_PRODUCER_EPOCH.
//! - A batch that repeats one of the producer's last [`MAX_BATCHES`] batches (same epoch, same
//!   first and last sequence) is a retry of something already in the log: it is answered with
//!   the original batch's offsets and not appended again.
//! - A *newer* epoch starts a fresh sequence: its first sequence must be 0 (unless the producer
//!   is unknown), else OUT_OF_ORDER_SEQUENCE_NUMBER.
//! - Same epoch: the first sequence must follow the last one (`last + 1`, or 0 after
//!   `i32::MAX`), else OUT_OF_ORDER_SEQUENCE_NUMBER.
//! - An unknown producer (never seen, or its batches all removed by retention or
//!   DeleteRecords) is accepted at any sequence. Kafka before 2.5 answered
//!   UNKNOWN_PRODUCER_ID here; since KIP-360 (2.5) it accepts, because clients bump their epoch
//!   or reset their sequence on their own and a broker cannot tell lost state from a new
//!   producer. We follow current Kafka.
//!
//! Replaying the log (on open) applies batches without checks, as Kafka loads its state.

use std::collections::{HashMap, VecDeque};

/// How many recent batches per producer are remembered for duplicate detection. Clients keep
/// at most 5 requests in flight per connection with idempotence on, so a retry is always one
/// of the last 5 batches.
pub const MAX_BATCHES: usize = 5;

/// `producerId` of a batch written without idempotence.
pub const NO_PRODUCER_ID: i64 = -1;

/// The producer fields of one batch, as found in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    pub producer_id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
    /// Records in the batch minus one (`lastOffsetDelta`).
    pub last_offset_delta: i32,
    pub max_timestamp: i64,
}

impl ProducerBatch {
    /// The batch's last sequence number, wrapping past `i32::MAX` to 0 as Kafka's
    /// `DefaultRecordBatch.incrementSequence` does.
    pub fn last_sequence(&self) -> i32 {
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }

    /// Whether the batch takes part in idempotence (Kafka's `hasProducerId`).
    pub fn is_idempotent(&self) -> bool {
        self.producer_id > NO_PRODUCER_ID
    }
}

/// `sequence + increment`, wrapping past `i32::MAX` to 0.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// What was remembered of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub timestamp: i64,
}

/// One producer's state in one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerEntry {
    pub epoch: i16,
    /// The broker's clock when a batch of the producer was last appended (or replayed), for
    /// expiry. Not the batches' own timestamps: a producer writing old CreateTime timestamps
    /// must not be forgotten while it is active.
    pub last_seen_ms: i64,
    /// Oldest first, at most [`MAX_BATCHES`], all of `epoch`.
    pub batches: VecDeque<BatchMetadata>,
}

impl ProducerEntry {
    fn last(&self) -> Option<&BatchMetadata> {
        self.batches.back()
    }

    fn duplicate_of(&self, batch: &ProducerBatch) -> Option<BatchMetadata> {
        if batch.epoch != self.epoch {
            return None;
        }
        let last_sequence = batch.last_sequence();
        self.batches
            .iter()
            .find(|b| b.first_sequence == batch.base_sequence && b.last_sequence == last_sequence)
            .copied()
    }

    fn push(&mut self, metadata: BatchMetadata) {
        if self.batches.len() == MAX_BATCHES {
            self.batches.pop_front();
        }
        self.batches.push_back(metadata);
    }
}

/// Why a batch is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    #[error("producer {producer_id}: epoch {epoch} is older than the current epoch {current}")]
    StaleEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    #[error(
        "producer {producer_id} epoch {epoch}: sequence {sequence} does not follow {expected_after}"
    )]
    OutOfOrder {
        producer_id: i64,
        epoch: i16,
        sequence: i32,
        /// The last sequence appended (-1: a new epoch, which must start at 0).
        expected_after: i32,
    },
}

/// The outcome of checking a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Append it.
    Append,
    /// Already in the log at these offsets: answer with them, append nothing.
    Duplicate(BatchMetadata),
}

/// The producer state of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStates {
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry of `producer_id`, if known.
    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Number of producers known.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// Checks an idempotent batch against the state (which it does not change). Batches of one
    /// request are checked and recorded one after the other, so a request holding batches 0-4
    /// and 5-9 of one producer is in order.
    pub fn check(&self, batch: &ProducerBatch) -> Result<Verdict, SequenceError> {
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            return Ok(Verdict::Append);
        };
        if batch.epoch < entry.epoch {
            return Err(SequenceError::StaleEpoch {
                producer_id: batch.producer_id,
                epoch: batch.epoch,
                current: entry.epoch,
            });
        }
        if let Some(original) = entry.duplicate_of(batch) {
            return Ok(Verdict::Duplicate(original));
        }
        let expected_after = if batch.epoch > entry.epoch {
            -1
        } else {
            match entry.last() {
                Some(last) => last.last_sequence,
                // Known epoch, no batch remembered (all retained ones evicted): accept.
                None => return Ok(Verdict::Append),
            }
        };
        let in_sequence = batch.base_sequence == increment_sequence(expected_after, 1)
            || (expected_after == -1 && batch.base_sequence == 0);
        if in_sequence {
            Ok(Verdict::Append)
        } else {
            Err(SequenceError::OutOfOrder {
                producer_id: batch.producer_id,
                epoch: batch.epoch,
                sequence: batch.base_sequence,
                expected_after,
            })
        }
    }

    /// Records a batch appended at `first_offset..=last_offset` (checked, or replayed from the
    /// log) at broker time `now_ms`. A newer epoch replaces the producer's remembered batches.
    pub fn record(
        &mut self,
        batch: &ProducerBatch,
        first_offset: i64,
        last_offset: i64,
        now_ms: i64,
    ) {
        if !batch.is_idempotent() {
            return;
        }
        let entry = self
            .producers
            .entry(batch.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: batch.epoch,
                last_seen_ms: now_ms,
                batches: VecDeque::new(),
            });
        entry.last_seen_ms = entry.last_seen_ms.max(now_ms);
        if batch.epoch != entry.epoch {
            // Replay may meet an older epoch only if the log says so (a zombie's batch written
            // before the fence was known); the newest epoch seen wins either way.
            if batch.epoch < entry.epoch {
                return;
            }
            entry.epoch = batch.epoch;
            entry.batches.clear();
        }
        entry.push(BatchMetadata {
            first_sequence: batch.base_sequence,
            last_sequence: batch.last_sequence(),
            first_offset,
            last_offset,
            timestamp: batch.max_timestamp,
        });
    }

    /// A copy of the entries of `ids` only: a scratch state to check the batches of one
    /// request against, without cloning every producer of the partition.
    pub fn subset(&self, ids: impl IntoIterator<Item = i64>) -> ProducerStates {
        let producers = ids
            .into_iter()
            .filter_map(|id| self.producers.get(&id).map(|e| (id, e.clone())))
            .collect();
        ProducerStates { producers }
    }

    /// Forgets what lies below `log_start_offset` (retention, DeleteRecords): batches there
    /// can no longer be answered as duplicates, and a producer with nothing left is unknown
    /// again, as in Kafka's `truncateHead`.
    pub fn evict_below(&mut self, log_start_offset: i64) {
        self.producers.retain(|_, entry| {
            entry.batches.retain(|b| b.last_offset >= log_start_offset);
            !entry.batches.is_empty()
        });
    }

    /// Forgets producers not seen since `cutoff_ms` (Kafka's `producer.id.expiration.ms`),
    /// bounding memory for producers that went away.
    pub fn expire_older_than(&mut self, cutoff_ms: i64) {
        self.producers
            .retain(|_, entry| entry.last_seen_ms >= cutoff_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(producer_id: i64, epoch: i16, base_sequence: i32, records: i32) -> ProducerBatch {
        ProducerBatch {
            producer_id,
            epoch,
            base_sequence,
            last_offset_delta: records - 1,
            max_timestamp: 1_000,
        }
    }

    /// Checks and, if accepted, records at the next offsets; returns the verdict.
    fn produce(
        states: &mut ProducerStates,
        next: &mut i64,
        b: ProducerBatch,
    ) -> Result<Verdict, SequenceError> {
        let verdict = states.check(&b)?;
        if verdict == Verdict::Append {
            let last = *next + i64::from(b.last_offset_delta);
            states.record(&b, *next, last, 1_000);
            *next = last + 1;
        }
        Ok(verdict)
    }

    #[test]
    fn in_order_batches_append_and_retries_are_duplicates() {
        let mut s = ProducerStates::new();
        let mut next = 0;
        assert_eq!(
            produce(&mut s, &mut next, batch(7, 0, 0, 3)),
            Ok(Verdict::Append)
        );
        assert_eq!(
            produce(&mut s, &mut next, batch(7, 0, 3, 2)),
            Ok(Verdict::Append)
        );
        assert_eq!(next, 5);
        let Ok(Verdict::Duplicate(original)) = produce(&mut s, &mut next, batch(7, 0, 0, 3)) else {
            panic!("a retry of the first batch is a duplicate");
        };
        assert_eq!((original.first_offset, original.last_offset), (0, 2));
        let Ok(Verdict::Duplicate(second)) = s.check(&batch(7, 0, 3, 2)) else {
            panic!("a retry of the second batch is a duplicate");
        };
        assert_eq!(second.first_offset, 3);
        assert_eq!(next, 5, "duplicates append nothing");
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut s = ProducerStates::new();
        let mut next = 0;
        for seq in 0..6 {
            produce(&mut s, &mut next, batch(1, 0, seq, 1)).unwrap();
        }
        assert_eq!(s.get(1).unwrap().batches.len(), MAX_BATCHES);
        // Batch 0 fell out: it is no longer a duplicate but out of order.
        assert!(matches!(
            s.check(&batch(1, 0, 0, 1)),
            Err(SequenceError::OutOfOrder { .. })
        ));
        assert!(matches!(
            s.check(&batch(1, 0, 1, 1)),
            Ok(Verdict::Duplicate(_))
        ));
    }

    #[test]
    fn gaps_and_overlaps_are_out_of_order() {
        let mut s = ProducerStates::new();
        let mut next = 0;
        produce(&mut s, &mut next, batch(1, 0, 0, 5)).unwrap();
        let gap = s.check(&batch(1, 0, 6, 1));
        assert_eq!(
            gap,
            Err(SequenceError::OutOfOrder {
                producer_id: 1,
                epoch: 0,
                sequence: 6,
                expected_after: 4
            })
        );
        // Same first sequence, different length: not a duplicate, and not next either.
        assert!(matches!(
            s.check(&batch(1, 0, 0, 2)),
            Err(SequenceError::OutOfOrder { .. })
        ));
        assert!(matches!(
            s.check(&batch(1, 0, 3, 2)),
            Err(SequenceError::OutOfOrder { .. })
        ));
        assert_eq!(s.check(&batch(1, 0, 5, 1)), Ok(Verdict::Append));
    }

    #[test]
    fn epochs_fence_older_and_restart_sequences_for_newer() {
        let mut s = ProducerStates::new();
        let mut next = 0;
        produce(&mut s, &mut next, batch(1, 3, 0, 4)).unwrap();
        assert!(matches!(
            s.check(&batch(1, 2, 4, 1)),
            Err(SequenceError::StaleEpoch {
                epoch: 2,
                current: 3,
                ..
            })
        ));
        // A newer epoch must start at 0...
        assert!(matches!(
            s.check(&batch(1, 4, 4, 1)),
            Err(SequenceError::OutOfOrder {
                expected_after: -1,
                ..
            })
        ));
        // ...and then replaces the old epoch's batches.
        assert_eq!(
            produce(&mut s, &mut next, batch(1, 4, 0, 1)),
            Ok(Verdict::Append)
        );
        let entry = s.get(1).unwrap();
        assert_eq!((entry.epoch, entry.batches.len()), (4, 1));
        assert!(matches!(
            s.check(&batch(1, 3, 4, 1)),
            Err(SequenceError::StaleEpoch { .. })
        ));
        // The old epoch's batch is no longer a duplicate.
        assert!(matches!(
            s.check(&batch(1, 4, 0, 4)),
            Err(SequenceError::OutOfOrder { .. })
        ));
    }

    #[test]
    fn unknown_producers_are_accepted_at_any_sequence() {
        let s = ProducerStates::new();
        assert_eq!(s.check(&batch(9, 0, 0, 1)), Ok(Verdict::Append));
        assert_eq!(s.check(&batch(9, 0, 42, 1)), Ok(Verdict::Append));
    }

    #[test]
    fn sequences_wrap_at_i32_max() {
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(increment_sequence(5, 3), 8);
        // Three records from i32::MAX - 1: i32::MAX - 1, i32::MAX, 0.
        let across = batch(1, 0, i32::MAX - 1, 3);
        assert_eq!(across.last_sequence(), 0);

        let mut s = ProducerStates::new();
        let mut next = 0;
        produce(&mut s, &mut next, batch(1, 0, i32::MAX - 2, 3)).unwrap();
        assert_eq!(s.get(1).unwrap().batches[0].last_sequence, i32::MAX);
        assert_eq!(
            produce(&mut s, &mut next, batch(1, 0, 0, 2)),
            Ok(Verdict::Append)
        );
        assert!(matches!(
            s.check(&batch(1, 0, 0, 2)),
            Ok(Verdict::Duplicate(_))
        ));
        assert_eq!(s.check(&batch(1, 0, 2, 1)), Ok(Verdict::Append));
        // A batch crossing the wrap is followed by its wrapped last sequence + 1.
        let mut s = ProducerStates::new();
        produce(&mut s, &mut next, across).unwrap();
        assert_eq!(s.check(&batch(1, 0, 1, 1)), Ok(Verdict::Append));
        assert!(s.check(&batch(1, 0, i32::MAX, 1)).is_err());
    }

    #[test]
    fn replay_rebuilds_the_same_state_and_keeps_the_newest_epoch() {
        let mut live = ProducerStates::new();
        let mut next = 0;
        let log = [
            batch(1, 0, 0, 2),
            batch(2, 0, 0, 1),
            batch(1, 0, 2, 2),
            batch(1, 1, 0, 1),
            batch(2, 0, 1, 3),
        ];
        let mut offsets = Vec::new();
        for b in log {
            let first = next;
            produce(&mut live, &mut next, b).unwrap();
            offsets.push((b, first, next - 1));
        }
        let mut replayed = ProducerStates::new();
        for (b, first, last) in &offsets {
            replayed.record(b, *first, *last, 1_000);
        }
        assert_eq!(replayed, live);
        // A stale batch met during replay does not roll the epoch back.
        replayed.record(&batch(1, 0, 4, 1), 100, 100, 1_000);
        assert_eq!(replayed, live);
        // Non-idempotent batches are ignored.
        replayed.record(&batch(NO_PRODUCER_ID, -1, -1, 1), 101, 101, 1_000);
        assert_eq!(replayed, live);
    }

    #[test]
    fn eviction_below_the_log_start_and_expiry() {
        let mut s = ProducerStates::new();
        let mut next = 0;
        produce(&mut s, &mut next, batch(1, 0, 0, 2)).unwrap(); // 0..=1
        produce(&mut s, &mut next, batch(2, 0, 0, 2)).unwrap(); // 2..=3
        produce(&mut s, &mut next, batch(1, 0, 2, 2)).unwrap(); // 4..=5
        s.evict_below(4);
        assert!(s.get(2).is_none(), "all of producer 2 is gone");
        assert_eq!(s.get(1).unwrap().batches.len(), 1);
        // Producer 2 is unknown again: any sequence goes.
        assert_eq!(s.check(&batch(2, 0, 17, 1)), Ok(Verdict::Append));
        // Expiry goes by when the broker last saw the producer, not by batch timestamps.
        let mut old_timestamps = batch(3, 0, 0, 1);
        old_timestamps.max_timestamp = 0;
        s.record(&old_timestamps, 6, 6, 5_000);
        s.expire_older_than(2_000);
        assert!(s.get(1).is_none());
        assert!(s.get(3).is_some());
    }
}
