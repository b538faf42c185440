//! One writer, several readers, a compactor and a flusher on the same log at once. Every read
//! must return whole, CRC-valid batches whose records carry the offset they were written at.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_log::{
    BatchBuilder, BatchIter, CleanupPolicy, Log, LogConfig, OpenOptions, RecordIter, Resources,
};
use rand::Rng;

const PER_BATCH: i64 = 5;

#[test]
fn readers_writer_and_cleaner_run_concurrently() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_bytes: 8 << 10,
        index_interval_bytes: 256,
        cleanup_policy: CleanupPolicy::Compact,
        ..LogConfig::default()
    };
    // A tiny fd budget so that handles are evicted and reopened under concurrency too.
    let res = Arc::new(Resources::new(
        8,
        64 << 10,
        Arc::new(ferry_log::SystemClock),
    ));
    let log =
        Arc::new(Log::open(tmp.path().join("c-0"), cfg, res, OpenOptions::default()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for _ in 0..3 {
        let (log, stop, reads) = (Arc::clone(&log), Arc::clone(&stop), Arc::clone(&reads));
        threads.push(std::thread::spawn(move || {
            let mut rng = rand::thread_rng();
            while !stop.load(Ordering::Relaxed) {
                let leo = log.log_end_offset();
                if leo == 0 {
                    continue;
                }
                let offset = rng.gen_range(log.log_start_offset()..leo);
                let r = log.read(offset, rng.gen_range(1..20_000), None).unwrap();
                ferry_log::validate_record_set(&r.records, usize::MAX).unwrap();
                let mut last = -1;
                for (h, bytes) in BatchIter::new(&r.records) {
                    assert!(h.last_offset() >= offset);
                    for rec in RecordIter::new(&bytes[61..], h.records_count) {
                        let rec = rec.unwrap();
                        let o = h.base_offset + i64::from(rec.offset_delta);
                        assert!(o > last);
                        last = o;
                        assert_eq!(
                            rec.value.unwrap(),
                            o.to_string().as_bytes(),
                            "record at {o}"
                        );
                    }
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    {
        let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                log.compact(0).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        }));
    }
    {
        let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                log.flush().unwrap();
                std::thread::sleep(Duration::from_millis(7));
            }
        }));
    }
    let started = Instant::now();
    let mut next = 0i64;
    while started.elapsed() < Duration::from_secs(2) && next < 8_000 * PER_BATCH {
        let mut b = BatchBuilder::new(0);
        for i in 0..PER_BATCH {
            let o = next + i;
            // A few hot keys so that compaction really rewrites segments.
            let key = if o % 3 == 0 {
                format!("hot{}", o % 4)
            } else {
                format!("k{o}")
            };
            b.append(Some(key.as_bytes()), Some(o.to_string().as_bytes()), 0);
        }
        let info = log.append_as_leader(&mut b.build(), 0).unwrap();
        assert_eq!(info.base_offset, next);
        next += PER_BATCH;
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    assert!(reads.load(Ordering::Relaxed) > 100);
    log.roll().unwrap();
    log.compact(0).unwrap();
    let stats = log.compact(0).unwrap();
    assert_eq!(
        stats.records_removed, 0,
        "a second pass finds nothing left to remove"
    );
    eprintln!(
        "{} appends, {} reads",
        next / PER_BATCH,
        reads.load(Ordering::Relaxed)
    );
}
