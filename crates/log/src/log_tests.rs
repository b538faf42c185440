//! Unit tests of the log as a whole (append, read, roll, flush, truncate, retention, recovery,
//! compaction, faults). Components have their own tests beside their code.

use std::sync::Arc;

use crate::batch::{validate_record_set, BatchIter};
use crate::record::RecordIter;
use crate::*;

struct Fixture {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    res: Arc<Resources>,
}

impl Fixture {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(1_000_000));
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            res: Arc::new(Resources::with_clock(clock.clone())),
            clock,
        }
    }
    fn open(&self, cfg: LogConfig) -> Log {
        self.open_with(cfg, OpenOptions::default())
    }
    fn open_with(&self, cfg: LogConfig, opts: OpenOptions) -> Log {
        Log::open(self.dir.path().join("t-0"), cfg, self.res.clone(), opts).unwrap()
    }
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join("t-0").join(name)
    }
}

fn small() -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 128,
        ..LogConfig::default()
    }
}

/// A batch of `n` records with keys `k{i}`, values `v{tag}-{i}` and timestamps `ts + i`.
fn batch(n: usize, tag: &str, ts: i64) -> Vec<u8> {
    let mut b = BatchBuilder::new(ts);
    for i in 0..n {
        b.append(
            Some(format!("k{i}").as_bytes()),
            Some(format!("v{tag}-{i}").as_bytes()),
            ts + i as i64,
        );
    }
    b.build()
}

fn keyed(records: &[(&str, Option<&str>)], ts: i64) -> Vec<u8> {
    let mut b = BatchBuilder::new(ts);
    for (k, v) in records {
        b.append(Some(k.as_bytes()), v.map(str::as_bytes), ts);
    }
    b.build()
}

/// Every (offset, key, value) readable from `from`.
fn read_all(log: &Log, from: i64) -> Vec<(i64, Vec<u8>, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut offset = from.max(log.log_start_offset());
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 16, None).unwrap();
        if r.records.is_empty() {
            break;
        }
        for (h, bytes) in BatchIter::new(&r.records) {
            let recs = crate::cleaner::filter::records_of(&h, bytes)
                .unwrap()
                .unwrap();
            for rec in RecordIter::new(&recs, h.records_count) {
                let rec = rec.unwrap();
                let o = h.base_offset + i64::from(rec.offset_delta);
                if o >= offset {
                    out.push((
                        o,
                        rec.key.unwrap_or_default().to_vec(),
                        rec.value.map(<[u8]>::to_vec),
                    ));
                }
            }
            offset = h.next_offset();
        }
    }
    out
}

#[test]
fn append_assigns_offsets_and_reads_back() {
    let f = Fixture::new();
    let log = f.open(small());
    let mut set = batch(3, "a", 100);
    set.extend_from_slice(&batch(2, "b", 200));
    let info = log.append_as_leader(&mut set, 5).unwrap();
    assert_eq!(
        (
            info.base_offset,
            info.last_offset,
            info.log_end_offset,
            info.batch_count,
            info.record_count
        ),
        (0, 4, 5, 2, 5)
    );
    assert_eq!(info.max_timestamp, 201);
    let info = log.append_as_leader(&mut batch(1, "c", 300), 5).unwrap();
    assert_eq!(info.base_offset, 5);
    let r = log.read(3, 1 << 20, None).unwrap();
    let hs: Vec<_> = BatchIter::new(&r.records).map(|(h, _)| h).collect();
    assert_eq!(hs[0].base_offset, 3);
    assert_eq!(hs[0].partition_leader_epoch, 5);
    assert_eq!(hs.len(), 2);
    validate_record_set(&r.records, usize::MAX).unwrap();
    assert_eq!(read_all(&log, 0).len(), 6);
    assert_eq!(
        log.epoch_entries(),
        vec![EpochEntry {
            epoch: 5,
            start_offset: 0
        }]
    );
}

/// A log of `small()` segments holding offsets 0..100 in batches of five.
fn hundred_records_in_batches_of_five(f: &Fixture) -> Log {
    let log = f.open(small());
    for i in 0..20 {
        log.append_as_leader(&mut batch(5, &i.to_string(), i * 10), 0)
            .unwrap();
    }
    log
}

#[test]
fn read_bounds_and_limits() {
    let f = Fixture::new();
    let log = hundred_records_in_batches_of_five(&f);
    assert!(log.segments().len() > 1);
    assert!(matches!(
        log.read(101, 100, None),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert!(log.read(100, 100, None).unwrap().records.is_empty());
    // One batch at least, whole, even with a tiny limit.
    let one = log.read(7, 1, None).unwrap();
    let hs: Vec<_> = BatchIter::new(&one.records).map(|(h, _)| h).collect();
    assert_eq!((hs.len(), hs[0].base_offset), (1, 5));
    // max_offset (high watermark) excludes batches reaching it.
    let capped = log.read(0, 1 << 20, Some(12)).unwrap();
    let last = BatchIter::new(&capped.records).last().unwrap().0;
    assert_eq!(last.last_offset(), 9);
    assert!(log.read(10, 1 << 20, Some(12)).unwrap().records.is_empty());
    // Every offset is readable and starts with the batch containing it.
    for o in 0..100 {
        let r = log.read(o, 300, None).unwrap();
        let h = BatchIter::new(&r.records).next().unwrap().0;
        assert!(h.base_offset <= o && o <= h.last_offset(), "offset {o}");
    }
}

#[test]
fn file_slices_hold_the_same_batches_as_a_read_to_the_segment_end() {
    use std::os::unix::fs::FileExt;
    let f = Fixture::new();
    let log = hundred_records_in_batches_of_five(&f);
    for o in 0..100 {
        let Some(slice) = log.read_file_slice(o, 1, 1 << 20).unwrap() else {
            panic!("offset {o}: no slice");
        };
        let mut bytes = vec![0; slice.len];
        slice
            .file
            .read_exact_at(&mut bytes, slice.position)
            .unwrap();
        assert_eq!(
            bytes,
            log.read(o, 1 << 20, None).unwrap().records,
            "offset {o}"
        );
        // Too much for the limit, or too little to be worth a slice: the caller copies.
        assert!(log.read_file_slice(o, 1, slice.len - 1).unwrap().is_none());
        assert!(log
            .read_file_slice(o, slice.len + 1, 1 << 20)
            .unwrap()
            .is_none());
    }
    assert!(log.read_file_slice(100, 1, 1 << 20).unwrap().is_none());
    assert!(matches!(
        log.read_file_slice(101, 1, 1 << 20),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn corrupt_batches_are_rejected_and_log_unchanged() {
    let f = Fixture::new();
    let log = f.open(small());
    log.append_as_leader(&mut batch(2, "a", 1), 0).unwrap();
    let mut bad = batch(2, "b", 2);
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    let mut set = batch(1, "ok", 3);
    set.extend_from_slice(&bad);
    let err = log.append_as_leader(&mut set, 0).unwrap_err();
    assert!(
        matches!(err, LogError::InvalidBatch(BatchError::CrcMismatch { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("CRC32C"));
    let mut truncated = batch(2, "c", 4);
    truncated.pop();
    assert!(log.append_as_leader(&mut truncated, 0).is_err());
    let mut inconsistent = batch(2, "d", 5);
    inconsistent[57..61].copy_from_slice(&5i32.to_be_bytes());
    let crc = crate::batch::compute_crc(&inconsistent);
    inconsistent[17..21].copy_from_slice(&crc.to_be_bytes());
    assert!(log.append_as_leader(&mut inconsistent, 0).is_err());
    let big = LogConfig {
        max_message_bytes: 100,
        ..small()
    };
    log.set_config(big).unwrap();
    assert!(matches!(
        log.append_as_leader(&mut batch(20, "e", 6), 0),
        Err(LogError::InvalidBatch(BatchError::TooLarge { .. }))
    ));
    assert_eq!(log.log_end_offset(), 2);
    assert_eq!(read_all(&log, 0).len(), 2);
}

#[test]
fn rolls_by_size_and_time() {
    let f = Fixture::new();
    let cfg = LogConfig {
        segment_ms: 60_000,
        ..small()
    };
    let log = f.open(cfg);
    let one = batch(10, "x", 0).len() as u64;
    let per_segment = 1024 / one;
    for i in 0..per_segment {
        log.append_as_leader(&mut batch(10, "x", i as i64), 0)
            .unwrap();
    }
    assert_eq!(log.segments().len(), 1);
    log.append_as_leader(&mut batch(10, "x", 0), 0).unwrap();
    assert_eq!(log.segments().len(), 2);
    assert_eq!(log.segments()[1].base_offset, (per_segment * 10) as i64);
    f.clock.advance(59_999);
    log.append_as_leader(&mut batch(1, "y", 0), 0).unwrap();
    assert_eq!(log.segments().len(), 2);
    f.clock.advance(60_000);
    log.append_as_leader(&mut batch(1, "y", 0), 0).unwrap();
    assert_eq!(log.segments().len(), 3);
    // Explicit roll; rolling an empty active segment is a no-op.
    log.roll().unwrap();
    log.roll().unwrap();
    assert_eq!(log.segments().len(), 4);
    assert_eq!(log.segments()[3].size, 0);
    assert!(f.path("00000000000000000000.log").exists());
    assert!(f
        .path(&format!("{:020}.timeindex", log.log_end_offset()))
        .exists());
}

#[test]
fn reopen_after_clean_close_and_after_crash() {
    let f = Fixture::new();
    let log = f.open(small());
    for i in 0..50 {
        log.append_as_leader(&mut batch(3, &i.to_string(), i), i as i32 / 10)
            .unwrap();
    }
    let before = read_all(&log, 0);
    log.close().unwrap();
    assert!(matches!(
        log.append_as_leader(&mut batch(1, "z", 0), 0),
        Err(LogError::Closed(_))
    ));
    let rp = log.recovery_point();
    assert_eq!(rp, 150);
    drop(log);
    let log = f.open_with(
        small(),
        OpenOptions {
            recovery_point: Some(rp),
            log_start_offset: None,
        },
    );
    assert!(log.recovery_report().clean, "{:?}", log.recovery_report());
    assert_eq!(log.recovery_report().validated_batches, 0);
    assert_eq!(read_all(&log, 0), before);
    assert_eq!(log.latest_epoch(), Some(4));
    // "Crash": append without flushing, drop, reopen with the old recovery point.
    log.append_as_leader(&mut batch(3, "late", 7), 4).unwrap();
    drop(log);
    let log = f.open_with(
        small(),
        OpenOptions {
            recovery_point: Some(rp),
            log_start_offset: None,
        },
    );
    let rep = log.recovery_report().clone();
    assert!(!rep.clean);
    assert!(rep.validated_batches >= 1);
    assert_eq!(rep.truncation, None);
    assert_eq!(log.log_end_offset(), 153);
    assert_eq!(log.recovery_point(), 153);
    // Unknown recovery point: every segment is validated.
    drop(log);
    let log = f.open(small());
    assert_eq!(log.recovery_report().validated_batches, 51);
    assert_eq!(log.log_end_offset(), 153);
}

#[test]
fn recovery_truncates_torn_and_corrupt_tails() {
    let f = Fixture::new();
    let log = f.open(small());
    for i in 0..30 {
        log.append_as_leader(&mut batch(2, &i.to_string(), i), 0)
            .unwrap();
    }
    assert!(log.segments().len() > 2);
    let active = log.segments().last().unwrap().base_offset;
    let leo = log.log_end_offset();
    drop(log);
    let path = f.path(&format!("{active:020}.log"));
    let len = std::fs::metadata(&path).unwrap().len();
    // Torn tail: half a batch appended.
    let tail = batch(2, "torn", 0);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&tail[..tail.len() / 2]);
    std::fs::write(&path, &bytes).unwrap();
    let log = f.open(small());
    let t = log.recovery_report().truncation.clone().unwrap();
    assert_eq!((t.position, t.bytes), (len, (tail.len() / 2) as u64));
    assert_eq!(log.log_end_offset(), leo);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    log.append_as_leader(&mut batch(1, "after", 0), 0).unwrap();
    drop(log);
    // A flipped bit in the middle of the first segment: everything from there is dropped.
    let first = f.path("00000000000000000000.log");
    let mut bytes = std::fs::read(&first).unwrap();
    let h = BatchIter::new(&bytes).nth(1).unwrap().0;
    let mid = h.position as usize + 70;
    bytes[mid] ^= 1;
    std::fs::write(&first, &bytes).unwrap();
    let log = f.open(small());
    let rep = log.recovery_report();
    assert_eq!(rep.truncation.as_ref().unwrap().position, h.position);
    assert!(
        rep.truncation.as_ref().unwrap().reason.contains("CRC"),
        "{rep:?}"
    );
    assert!(!rep.deleted_segments.is_empty());
    assert_eq!(log.log_end_offset(), h.base_offset);
    assert_eq!(log.segments().len(), 1);
    assert_eq!(read_all(&log, 0).len(), h.base_offset as usize);
}

#[test]
fn missing_and_corrupt_indexes_are_rebuilt() {
    let f = Fixture::new();
    let log = f.open(small());
    for i in 0..60 {
        log.append_as_leader(&mut batch(4, &i.to_string(), i * 100), 0)
            .unwrap();
    }
    let before = read_all(&log, 0);
    log.close().unwrap();
    let segs = log.segments();
    assert!(segs.len() >= 3);
    let rp = log.recovery_point();
    drop(log);
    let idx0 = f.path("00000000000000000000.index");
    let good = std::fs::read(&idx0).unwrap();
    std::fs::remove_file(&idx0).unwrap();
    let t1 = f.path(&format!("{:020}.timeindex", segs[1].base_offset));
    std::fs::write(&t1, [9u8; 13]).unwrap();
    let log = f.open_with(
        small(),
        OpenOptions {
            recovery_point: Some(rp),
            log_start_offset: None,
        },
    );
    let rep = log.recovery_report();
    assert!(
        rep.rebuilt_indexes.contains(&0) && rep.rebuilt_indexes.contains(&segs[1].base_offset),
        "{rep:?}"
    );
    assert_eq!(std::fs::read(&idx0).unwrap(), good);
    assert_eq!(read_all(&log, 0), before);
    assert_eq!(log.segments(), segs);
    // An index whose content is garbage (right length) is caught on first use and rebuilt.
    drop(log);
    std::fs::write(&idx0, vec![0xffu8; good.len()]).unwrap();
    let log = f.open_with(
        small(),
        OpenOptions {
            recovery_point: Some(rp),
            log_start_offset: None,
        },
    );
    assert_eq!(read_all(&log, 0), before);
}

#[test]
fn leftover_files_are_cleaned_up() {
    let f = Fixture::new();
    let log = f.open(small());
    log.append_as_leader(&mut batch(2, "a", 0), 0).unwrap();
    log.close().unwrap();
    drop(log);
    for name in [
        "00000000000000000000.log.cleaned",
        "00000000000000000005.log.deleted",
        "leader-epoch-checkpoint.tmp",
        "00000000000000000099.index",
    ] {
        std::fs::write(f.path(name), b"junk").unwrap();
    }
    let log = f.open(small());
    assert_eq!(log.recovery_report().removed_files.len(), 4);
    assert_eq!(log.log_end_offset(), 2);
}

#[test]
fn timestamp_lookup_finds_first_record_at_or_after() {
    let f = Fixture::new();
    let log = f.open(small());
    // Timestamps 1000, 1001, ... but one batch out of order.
    for i in 0..40i64 {
        let ts = if i == 20 { 500 } else { 1000 + i * 10 };
        let codec = if i % 3 == 0 {
            Compression::Gzip
        } else {
            Compression::None
        };
        let mut b = BatchBuilder::new(ts).compression(codec);
        for j in 0..5 {
            b.append(Some(b"k"), Some(b"v"), ts + j);
        }
        log.append_as_leader(&mut b.build(), 0).unwrap();
    }
    let model = |t: i64| -> Option<i64> {
        (0..200i64).find(|o| {
            let (i, j) = (o / 5, o % 5);
            let ts = if i == 20 { 500 } else { 1000 + i * 10 };
            ts + j >= t
        })
    };
    for t in [
        0, 500, 999, 1000, 1003, 1005, 1199, 1200, 1391, 1394, 1395, 5000,
    ] {
        let got = log.offset_for_timestamp(t).unwrap().map(|x| x.offset);
        assert_eq!(got, model(t), "timestamp {t}");
    }
    assert_eq!(
        log.offset_for_timestamp(1003).unwrap().unwrap().timestamp,
        1003
    );
    log.delete_records_before(120).unwrap();
    assert_eq!(log.offset_for_timestamp(0).unwrap().unwrap().offset, 120);
}

#[test]
fn truncation_and_leader_epochs() {
    let f = Fixture::new();
    let log = f.open(small());
    for i in 0..30 {
        log.append_as_leader(&mut batch(3, &i.to_string(), i), 1 + i as i32 / 10)
            .unwrap();
    }
    assert_eq!(log.end_offset_for_epoch(1), (1, 30));
    assert_eq!(log.end_offset_for_epoch(3), (3, 90));
    log.truncate_to(61).unwrap(); // inside the batch 60..62: it goes entirely
    assert_eq!(log.log_end_offset(), 60);
    assert_eq!(log.latest_epoch(), Some(2));
    assert_eq!(
        log.end_offset_for_epoch(3),
        (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
    );
    assert_eq!(read_all(&log, 0).len(), 60);
    let segs = log.segments().len();
    log.truncate_to(10).unwrap();
    assert!(log.segments().len() <= segs);
    assert_eq!(log.log_end_offset(), 9);
    let info = log.append_as_leader(&mut batch(1, "n", 0), 7).unwrap();
    assert_eq!(info.base_offset, 9);
    assert_eq!(
        log.epoch_entries().last().unwrap(),
        &EpochEntry {
            epoch: 7,
            start_offset: 9
        }
    );
    log.truncate_fully_and_start_at(1000).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (1000, 1000));
    assert!(log.epoch_entries().is_empty());
    assert_eq!(
        log.append_as_leader(&mut batch(1, "m", 0), 8)
            .unwrap()
            .base_offset,
        1000
    );
    // Survives reopen.
    drop(log);
    let log = f.open(small());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (1000, 1001));
    assert_eq!(
        log.epoch_entries(),
        vec![EpochEntry {
            epoch: 8,
            start_offset: 1000
        }]
    );
}

#[test]
fn follower_appends_keep_offsets() {
    let f = Fixture::new();
    let log = f.open(small());
    let mut b = batch(3, "a", 0);
    crate::batch::set_base_offset(&mut b, 10);
    crate::batch::set_partition_leader_epoch(&mut b, 4);
    assert!(matches!(
        log.append_as_follower(&b),
        Ok(AppendInfo {
            base_offset: 10,
            log_end_offset: 13,
            ..
        })
    ));
    assert!(matches!(
        log.append_as_follower(&b),
        Err(LogError::UnexpectedAppendOffset { .. })
    ));
    assert_eq!(
        log.epoch_entries(),
        vec![EpochEntry {
            epoch: 4,
            start_offset: 10
        }]
    );
    assert!(!log.read(9, 100, None).unwrap().records.is_empty());
}

#[test]
fn retention_by_time_size_and_delete_records() {
    let f = Fixture::new();
    let cfg = LogConfig {
        retention_ms: Some(10_000),
        retention_bytes: None,
        ..small()
    };
    let log = f.open(cfg.clone());
    for i in 0..100i64 {
        log.append_as_leader(&mut batch(4, &i.to_string(), i * 1000), 0)
            .unwrap();
    }
    let segs = log.segments();
    assert!(segs.len() > 4);
    // Records are stamped 0..~100_000; with now = 50_000, segments whose max < 40_000 go.
    let rep = log.apply_retention(50_000).unwrap();
    assert!(!rep.deleted_segments.is_empty());
    for (i, s) in segs.iter().enumerate() {
        let deleted = rep.deleted_segments.contains(&s.base_offset);
        assert_eq!(
            deleted,
            s.max_timestamp < 40_000 && i < segs.len() - 1,
            "segment {s:?}"
        );
    }
    assert_eq!(log.log_start_offset(), log.segments()[0].base_offset);
    assert!(matches!(
        log.read(0, 10, None),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    // Everything expired: all but the active segment go.
    let rep = log.apply_retention(10_000_000).unwrap();
    assert!(!rep.deleted_segments.is_empty());
    assert_eq!(log.segments().len(), 1);
    assert_eq!(log.log_end_offset(), 400);
    // Size retention.
    log.set_config(LogConfig {
        retention_ms: None,
        retention_bytes: Some(8000),
        ..cfg
    })
    .unwrap();
    for i in 0..100i64 {
        log.append_as_leader(&mut batch(4, &i.to_string(), i), 0)
            .unwrap();
    }
    log.apply_retention(0).unwrap();
    let size = log.size_bytes();
    assert!((8000..8000 + 1024).contains(&size), "{size}");
    // DeleteRecords inside a segment hides the records below and deletes older segments.
    let target = log.segments()[1].base_offset + 3;
    assert_eq!(log.delete_records_before(target).unwrap(), target);
    assert_eq!(log.log_start_offset(), target);
    assert_eq!(log.segments()[0].base_offset, target - 3);
    assert_eq!(log.read(target, 1, None).unwrap().log_start_offset, target);
    assert!(log.delete_records_before(100_000).is_err());
    assert_eq!(log.delete_records_before(0).unwrap(), target);
    drop(log);
    let log = f.open_with(
        small(),
        OpenOptions {
            recovery_point: None,
            log_start_offset: Some(target),
        },
    );
    assert_eq!(log.log_start_offset(), target);
}

#[test]
fn compaction_keeps_latest_per_key() {
    let f = Fixture::new();
    let cfg = LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        delete_retention_ms: 1000,
        segment_bytes: 2048,
        ..small()
    };
    // Written while the topic was not compacted yet (a compacted topic refuses records without
    // a key), so the cleaner meets unkeyed records, as after a cleanup.policy change.
    let log = f.open(LogConfig {
        cleanup_policy: CleanupPolicy::Delete,
        ..cfg.clone()
    });
    let mut latest = std::collections::BTreeMap::new();
    for i in 0..200i64 {
        let key = format!("key{}", i % 7);
        let value = if i % 31 == 0 {
            None
        } else {
            Some(format!("value{i}"))
        };
        let codec = if i % 2 == 0 {
            Compression::Gzip
        } else {
            Compression::None
        };
        let mut b = BatchBuilder::new(i).compression(codec);
        b.append(Some(key.as_bytes()), value.as_deref().map(str::as_bytes), i);
        b.append(None, Some(b"unkeyed"), i);
        let info = log.append_as_leader(&mut b.build(), 0).unwrap();
        latest.insert(key, (info.base_offset, value));
    }
    log.set_config(cfg).unwrap();
    let before_leo = log.log_end_offset();
    let active_base = log.segments().last().unwrap().base_offset;
    let before_active = read_all(&log, active_base);
    let stats = log.compact(0).unwrap();
    assert!(
        stats.records_removed > 0 && stats.segments_cleaned > 0,
        "{stats:?}"
    );
    assert_eq!(log.log_end_offset(), before_leo);
    assert_eq!(read_all(&log, active_base), before_active);
    let all = read_all(&log, 0);
    // Each key's latest record below the active segment survives with its offset; nothing older
    // than a later record of the same key survives.
    for (k, (offset, value)) in &latest {
        if *offset < active_base {
            let found = all.iter().find(|r| r.0 == *offset).unwrap();
            assert_eq!(
                (&found.1[..], &found.2),
                (k.as_bytes(), &value.as_ref().map(|v| v.as_bytes().to_vec()))
            );
        }
    }
    let keyed: Vec<_> = all
        .iter()
        .filter(|r| !r.1.is_empty() && r.0 < active_base)
        .collect();
    for r in &keyed {
        let k = String::from_utf8(r.1.clone()).unwrap();
        assert!(
            r.0 >= latest[&k].0 || latest[&k].0 >= active_base,
            "stale record {r:?}"
        );
    }
    let unkeyed = all.iter().filter(|r| r.1.is_empty()).count();
    assert_eq!(unkeyed, 200);
    let offsets: Vec<i64> = all.iter().map(|r| r.0).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]));
    // Tombstones expire after delete.retention.ms.
    let stats = log.compact(10_000_000).unwrap();
    let tomb_keys: Vec<_> = latest
        .iter()
        .filter(|(_, (o, v))| v.is_none() && *o < active_base)
        .collect();
    if !tomb_keys.is_empty() {
        assert!(stats.tombstones_removed > 0, "{stats:?}");
    }
    let all = read_all(&log, 0);
    assert!(all.iter().all(|r| r.2.is_some() || r.0 >= active_base));
    // Idempotent and survives reopen (indexes of the cleaned segments are valid).
    let again = log.compact(10_000_000).unwrap();
    assert_eq!(again.records_removed, 0);
    drop(log);
    let log = f.open(LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        ..small()
    });
    assert_eq!(read_all(&log, 0), all);
    assert_eq!(log.recovery_report().truncation, None);
}

#[test]
fn interrupted_compaction_swap_is_completed() {
    let f = Fixture::new();
    let cfg = LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        segment_bytes: 1024,
        ..small()
    };
    let log = f.open(cfg.clone());
    for i in 0..60i64 {
        log.append_as_leader(&mut keyed(&[("a", Some("x")), ("b", Some("y"))], i), 0)
            .unwrap();
    }
    log.close().unwrap();
    let segs = log.segments();
    drop(log);
    // Simulate a crash after the commit point: the swap holds the cleaned first two segments.
    let mut cleaned = Vec::new();
    for s in &segs[..2] {
        cleaned.extend_from_slice(
            &std::fs::read(f.path(&format!("{:020}.log", s.base_offset))).unwrap(),
        );
    }
    let keep = BatchIter::new(&cleaned).last().unwrap().1.to_vec();
    std::fs::write(f.path("00000000000000000000.log.swap"), &keep).unwrap();
    let log = f.open(cfg);
    let rep = log.recovery_report();
    assert_eq!(rep.completed_swaps, vec![0]);
    assert_eq!(log.segments().len(), segs.len() - 1);
    assert_eq!(log.log_end_offset(), 120);
    let all = read_all(&log, 0);
    assert_eq!(all[0].0, segs[2].base_offset - 2);
}

#[test]
fn full_disk_fails_append_cleanly() {
    let f = Fixture::new();
    let log = f.open(small());
    log.append_as_leader(&mut batch(3, "a", 0), 0).unwrap();
    f.res.faults().fail_writes_after(10);
    let err = log.append_as_leader(&mut batch(3, "b", 0), 0).unwrap_err();
    assert_eq!(
        err.io_kind(),
        Some(std::io::ErrorKind::StorageFull),
        "{err}"
    );
    assert!(
        err.to_string().contains("00000000000000000000.log"),
        "{err}"
    );
    assert_eq!(log.log_end_offset(), 3);
    assert_eq!(read_all(&log, 0).len(), 3);
    assert_eq!(log.latest_epoch(), Some(0));
    f.res.faults().clear();
    assert_eq!(
        log.append_as_leader(&mut batch(3, "c", 0), 1)
            .unwrap()
            .base_offset,
        3
    );
    assert_eq!(read_all(&log, 0).len(), 6);
    // fsync failure under flush-every-append: the append is taken back.
    log.set_config(LogConfig {
        flush_messages: Some(1),
        ..small()
    })
    .unwrap();
    f.res.faults().fail_syncs(true);
    assert!(log.append_as_leader(&mut batch(3, "d", 0), 1).is_err());
    assert_eq!(log.log_end_offset(), 6);
    f.res.faults().clear();
    log.append_as_leader(&mut batch(3, "e", 0), 1).unwrap();
    assert_eq!(log.recovery_point(), 9);
    drop(log);
    let log = f.open(small());
    assert_eq!(read_all(&log, 0).len(), 9);
}

#[test]
fn flush_policies_move_the_recovery_point() {
    let f = Fixture::new();
    let log = f.open(LogConfig {
        flush_messages: Some(10),
        flush_ms: Some(5_000),
        ..small()
    });
    log.append_as_leader(&mut batch(4, "a", 0), 0).unwrap();
    assert_eq!(log.recovery_point(), 0);
    log.append_as_leader(&mut batch(6, "b", 0), 0).unwrap();
    assert_eq!(log.recovery_point(), 10);
    log.append_as_leader(&mut batch(1, "c", 0), 0).unwrap();
    assert_eq!(log.recovery_point(), 10);
    f.clock.advance(5_000);
    assert!(log.maybe_flush(f.clock.now_ms()).unwrap());
    assert_eq!(log.recovery_point(), 11);
    log.flush().unwrap();
    assert_eq!(log.recovery_point(), 11);
}

#[test]
fn many_logs_share_a_small_fd_budget() {
    let dir = tempfile::tempdir().unwrap();
    let res = Arc::new(Resources::new(16, 1 << 20, Arc::new(SystemClock)));
    let logs: Vec<Log> = (0..1000)
        .map(|i| {
            Log::open(
                dir.path().join(format!("t-{i}")),
                small(),
                res.clone(),
                OpenOptions::default(),
            )
            .unwrap()
        })
        .collect();
    for round in 0..2 {
        for (i, log) in logs.iter().enumerate() {
            log.append_as_leader(&mut batch(2, &format!("{i}-{round}"), 0), 0)
                .unwrap();
            assert!(res.open_files() <= 16);
        }
    }
    for log in &logs {
        assert_eq!(read_all(log, 0).len(), 4);
        assert!(res.open_files() <= 16);
    }
    let fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(fds < 200, "{fds} fds open");
}
