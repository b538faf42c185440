//! Property test: drive a real log and a trivially correct in-memory model with random
//! appends, reads, truncations, rolls, retention, DeleteRecords, timestamp lookups and reopens
//! (clean and crash-like), and check that they always agree.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ferry_log::{
    BatchBuilder, BatchIter, EpochEntry, Log, LogConfig, LogError, ManualClock, OpenOptions,
    Resources,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Batches of (timestamp) records.
    Append(Vec<Vec<i64>>),
    BumpEpoch,
    Read {
        at: u16,
        max_bytes: u16,
    },
    TimeLookup(i64),
    Truncate(u16),
    Roll,
    RetainTime(i64),
    RetainSize(u16),
    DeleteRecords(u16),
    Flush,
    Reopen {
        clean: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => proptest::collection::vec(proptest::collection::vec(0i64..1000, 1..6), 1..4).prop_map(Op::Append),
        1 => Just(Op::BumpEpoch),
        4 => (any::<u16>(), 1u16..2000).prop_map(|(at, max_bytes)| Op::Read { at, max_bytes }),
        2 => (-10i64..1100).prop_map(Op::TimeLookup),
        1 => any::<u16>().prop_map(Op::Truncate),
        1 => Just(Op::Roll),
        1 => (0i64..1500).prop_map(Op::RetainTime),
        1 => (0u16..6000).prop_map(Op::RetainSize),
        1 => any::<u16>().prop_map(Op::DeleteRecords),
        1 => Just(Op::Flush),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
    ]
}

#[derive(Debug, Clone)]
struct Batch {
    base: i64,
    last: i64,
    bytes: Vec<u8>,
    timestamps: Vec<i64>,
}

#[derive(Debug, Default)]
struct Model {
    batches: Vec<Batch>,
    log_start: i64,
    leo: i64,
    epochs: Vec<EpochEntry>,
}

impl Model {
    /// Maps a random u16 onto [log_start - 2, leo + 2].
    fn pick(&self, at: u16) -> i64 {
        let span = self.leo - self.log_start + 5;
        self.log_start - 2 + i64::from(at) % span
    }
    fn drop_below_start(&mut self) {
        let start = self.log_start;
        self.batches.retain(|b| b.last >= start);
        let below = self.epochs.partition_point(|e| e.start_offset <= start);
        if below > 0 {
            let epoch = self.epochs[below - 1].epoch;
            self.epochs.drain(..below);
            self.epochs.insert(
                0,
                EpochEntry {
                    epoch,
                    start_offset: start,
                },
            );
        }
    }
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 700,
        index_interval_bytes: 64,
        retention_ms: Some(100),
        ..LogConfig::default()
    }
}

fn open(
    dir: &std::path::Path,
    res: &Arc<Resources>,
    cfg: LogConfig,
    rp: Option<i64>,
    start: i64,
) -> Log {
    Log::open(
        dir,
        cfg,
        res.clone(),
        OpenOptions {
            recovery_point: rp,
            log_start_offset: Some(start),
        },
    )
    .unwrap()
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p-0");
    let res = Arc::new(Resources::new(8, 1 << 16, Arc::new(ManualClock::new(0))));
    let mut log = open(&dir, &res, config(), None, 0);
    let mut m = Model::default();
    let mut epoch = 0;
    for op in ops {
        match op {
            Op::Append(batches) => {
                let mut set = Vec::new();
                for ts in &batches {
                    let mut b = BatchBuilder::new(ts[0]);
                    for (i, t) in ts.iter().enumerate() {
                        b.append(
                            Some(format!("k{i}").as_bytes()),
                            Some(format!("v{t}").as_bytes()),
                            *t,
                        );
                    }
                    set.extend_from_slice(&b.build());
                }
                let info = log.append_as_leader(&mut set, epoch).unwrap();
                prop_assert_eq!(info.base_offset, m.leo);
                if m.epochs.last().map(|e| e.epoch) != Some(epoch) {
                    let start = m.leo;
                    m.epochs
                        .retain(|e| e.epoch < epoch && e.start_offset < start);
                    m.epochs.push(EpochEntry {
                        epoch,
                        start_offset: m.leo,
                    });
                }
                for ((h, bytes), ts) in BatchIter::new(&set).zip(&batches) {
                    m.batches.push(Batch {
                        base: h.base_offset,
                        last: h.last_offset(),
                        bytes: bytes.to_vec(),
                        timestamps: ts.clone(),
                    });
                }
                m.leo = info.log_end_offset;
            }
            Op::BumpEpoch => epoch += 1,
            Op::Read { at, max_bytes } => {
                let offset = m.pick(at);
                let got = log.read(offset, max_bytes.into(), None);
                if offset < m.log_start || offset > m.leo {
                    prop_assert!(
                        matches!(got, Err(LogError::OffsetOutOfRange { .. })),
                        "{:?}",
                        got
                    );
                    continue;
                }
                let got = got.unwrap();
                prop_assert_eq!(got.log_end_offset, m.leo);
                prop_assert_eq!(got.log_start_offset, m.log_start);
                let first = m.batches.iter().position(|b| b.last >= offset);
                let Some(first) = first else {
                    prop_assert!(got.records.is_empty());
                    continue;
                };
                prop_assert!(!got.records.is_empty(), "nothing read at {}", offset);
                let mut pos = 0;
                for (i, (_, bytes)) in BatchIter::new(&got.records).enumerate() {
                    prop_assert_eq!(bytes, &m.batches[first + i].bytes[..]);
                    pos += bytes.len();
                }
                prop_assert_eq!(pos, got.records.len());
                prop_assert!(
                    pos <= usize::from(max_bytes) || BatchIter::new(&got.records).count() == 1
                );
            }
            Op::TimeLookup(t) => {
                let expected = m
                    .batches
                    .iter()
                    .flat_map(|b| {
                        b.timestamps
                            .iter()
                            .enumerate()
                            .map(move |(i, ts)| (b.base + i as i64, *ts))
                    })
                    .find(|(o, ts)| *o >= m.log_start && *ts >= t);
                let got = log
                    .offset_for_timestamp(t)
                    .unwrap()
                    .map(|x| (x.offset, x.timestamp));
                prop_assert_eq!(got, expected, "timestamp {}", t);
            }
            Op::Truncate(at) => {
                let offset = m.pick(at).max(0);
                log.truncate_to(offset).unwrap();
                if offset < m.leo {
                    if offset < m.log_start {
                        m.batches.clear();
                        m.log_start = offset;
                        m.leo = offset;
                        m.epochs.clear();
                    } else {
                        let keep = m
                            .batches
                            .iter()
                            .position(|b| b.last >= offset)
                            .unwrap_or(m.batches.len());
                        let first_removed = m.batches.get(keep).map_or(offset, |b| b.base);
                        m.batches.truncate(keep);
                        m.leo = offset.min(first_removed);
                        m.log_start = m.log_start.min(m.leo);
                        let leo = m.leo;
                        m.epochs.retain(|e| e.start_offset < leo);
                    }
                }
            }
            Op::Roll => log.roll().unwrap(),
            Op::RetainTime(now) => {
                let old_start = m.log_start;
                let segments = log.segments();
                let rep = log.apply_retention(now).unwrap();
                let cutoff = now - 100;
                // Exactly the leading sealed segments whose largest timestamp is before the cutoff.
                let expected: Vec<i64> = segments[..segments.len() - 1]
                    .iter()
                    .take_while(|s| s.max_timestamp < cutoff)
                    .map(|s| s.base_offset)
                    .collect();
                let breached: Vec<i64> = segments
                    .windows(2)
                    .take_while(|w| w[1].base_offset <= old_start)
                    .map(|w| w[0].base_offset)
                    .collect();
                let longest = if expected.len() >= breached.len() {
                    expected
                } else {
                    breached
                };
                prop_assert_eq!(&rep.deleted_segments, &longest);
                m.log_start = log.log_start_offset();
                prop_assert!(m.log_start >= old_start);
                for b in m
                    .batches
                    .iter()
                    .filter(|b| b.last < m.log_start && b.base >= old_start)
                {
                    prop_assert!(b.timestamps.iter().all(|t| *t < cutoff));
                }
                m.drop_below_start();
            }
            Op::RetainSize(limit) => {
                let mut cfg = config();
                cfg.retention_ms = None;
                cfg.retention_bytes = Some(limit.into());
                log.set_config(cfg).unwrap();
                let segments = log.segments();
                let rep = log.apply_retention(0).unwrap();
                let total: u64 = segments.iter().map(|s| s.size).sum();
                let mut excess = total.saturating_sub(limit.into());
                let mut by_size = Vec::new();
                for s in &segments[..segments.len() - 1] {
                    if s.size > excess {
                        break;
                    }
                    excess -= s.size;
                    by_size.push(s.base_offset);
                }
                let breached: Vec<i64> = segments
                    .windows(2)
                    .take_while(|w| w[1].base_offset <= m.log_start)
                    .map(|w| w[0].base_offset)
                    .collect();
                let longest = if by_size.len() >= breached.len() {
                    by_size
                } else {
                    breached
                };
                prop_assert_eq!(&rep.deleted_segments, &longest);
                log.set_config(config()).unwrap();
                m.log_start = log.log_start_offset();
                m.drop_below_start();
            }
            Op::DeleteRecords(at) => {
                let offset = m.pick(at);
                let got = log.delete_records_before(offset);
                if offset > m.leo || offset < 0 {
                    prop_assert!(got.is_err());
                } else {
                    m.log_start = m.log_start.max(offset);
                    prop_assert_eq!(got.unwrap(), m.log_start);
                    m.drop_below_start();
                }
            }
            Op::Flush => {
                log.flush().unwrap();
                prop_assert_eq!(log.recovery_point(), m.leo);
            }
            Op::Reopen { clean } => {
                let rp = if clean {
                    log.close().unwrap();
                    Some(log.recovery_point())
                } else {
                    Some(log.recovery_point()).filter(|_| m.leo % 2 == 0)
                };
                drop(log);
                log = open(&dir, &res, config(), rp, m.log_start);
                // As in Kafka, loading drops epoch entries that start at the log end (no records).
                let leo = m.leo;
                m.epochs.retain(|e| e.start_offset < leo);
                prop_assert_eq!(log.recovery_report().truncation.clone(), None);
                if clean {
                    prop_assert!(log.recovery_report().clean);
                }
            }
        }
        prop_assert_eq!(log.log_end_offset(), m.leo);
        prop_assert_eq!(log.log_start_offset(), m.log_start);
        prop_assert_eq!(log.epoch_entries(), m.epochs.clone());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn log_agrees_with_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
