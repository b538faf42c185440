//! Crash test: a child process appends (with a background compactor and periodic flushes) and
//! prints every acknowledged offset; the parent kill -9s it at random moments, reopens the log,
//! and checks that every acknowledged record is present and intact and that the log accepts
//! appends. The child is this test binary re-executed with `FERRY_LOG_CRASH_CHILD` set.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_log::{
    BatchBuilder, BatchIter, CleanupPolicy, Log, LogConfig, OpenOptions, RecordIter, Resources,
};
use rand::{Rng, SeedableRng};

const CHILD_ENV: &str = "FERRY_LOG_CRASH_CHILD";
const SEQ_ENV: &str = "FERRY_LOG_CRASH_SEQ";
const UNIQUE_RECORDS: usize = 4;
const CHURN_KEYS: u64 = 13;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 16 << 10,
        index_interval_bytes: 512,
        cleanup_policy: CleanupPolicy::Compact,
        delete_retention_ms: u64::MAX / 4,
        ..LogConfig::default()
    }
}

/// Even sequence numbers: a batch of unique keys that compaction never removes. Odd: one record
/// of a churning key that compaction supersedes.
fn batch_for(seq: u64) -> Vec<u8> {
    let mut b = BatchBuilder::new(seq as i64);
    if seq % 2 == 0 {
        for i in 0..UNIQUE_RECORDS {
            b.append(
                Some(format!("u{seq}-{i}").as_bytes()),
                Some(payload(seq, i).as_bytes()),
                seq as i64,
            );
        }
    } else {
        b.append(
            Some(format!("c{}", seq % CHURN_KEYS).as_bytes()),
            Some(payload(seq, 0).as_bytes()),
            seq as i64,
        );
    }
    b.build()
}

fn payload(seq: u64, i: usize) -> String {
    format!("value-{seq}-{i}-").repeat(1 + (seq % 7) as usize)
}

/// The child: appends forever, printing `ACK base_offset seq` after each successful append.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut seq: u64 = std::env::var(SEQ_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let res = Arc::new(Resources::default());
    let log = Arc::new(Log::open(&dir, config(), res, OpenOptions::default()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let cleaner = {
        let log = Arc::clone(&log);
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                log.compact(0).unwrap();
                log.flush().unwrap();
                std::thread::sleep(Duration::from_millis(3));
            }
        })
    };
    let stdout = std::io::stdout();
    loop {
        let mut b = batch_for(seq);
        let info = log.append_as_leader(&mut b, 0).unwrap();
        let mut out = stdout.lock();
        writeln!(out, "ACK {} {}", info.base_offset, seq).unwrap();
        out.flush().unwrap();
        seq += 1;
        if seq % 1000 == 0 {
            // Never reached in practice: the parent kills us first.
            stop.store(true, Ordering::Relaxed);
            cleaner.join().unwrap();
            return;
        }
    }
}

#[test]
fn acknowledged_records_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("crash-0");
    let mut rng = rand::rngs::StdRng::seed_from_u64(
        std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0xfe77),
    );
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let mut acked: Vec<(i64, u64)> = Vec::new();
    let mut next_seq = 0u64;
    let mut rounds = 0;
    let mut totals = [0usize; 3];
    while rounds < 40 && started.elapsed() < Duration::from_secs(40) {
        rounds += 1;
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir)
            .env(SEQ_ENV, next_seq.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut f = line.split_whitespace();
                if f.next() == Some("ACK") {
                    let (Some(o), Some(s)) = (f.next(), f.next()) else {
                        continue;
                    };
                    acks.push((o.parse::<i64>().unwrap(), s.parse::<u64>().unwrap()));
                }
            }
            acks
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..250)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acks = reader.join().unwrap();
        if let Some(&(_, s)) = acks.last() {
            next_seq = s + 1;
        }
        acked.extend(acks);
        if rounds % 3 == 0 {
            // Also simulate what a power loss can leave: a torn, unacknowledged write at the tail.
            let torn = batch_for(next_seq);
            let cut = rng.gen_range(1..torn.len());
            tear_tail(&dir, &torn[..cut]);
        }
        let seen = verify(&dir, &acked, &mut next_seq);
        for (t, s) in totals.iter_mut().zip(seen) {
            *t += s;
        }
    }
    assert!(
        acked.len() > 100,
        "only {} appends acknowledged in {rounds} rounds",
        acked.len()
    );
    eprintln!(
        "{rounds} kill -9 rounds, {} acknowledged appends verified; recoveries that cut a torn tail: {}, \
         compaction swaps completed: {}, leftover files removed: {}",
        acked.len(),
        totals[0],
        totals[1],
        totals[2]
    );
}

fn tear_tail(dir: &std::path::Path, bytes: &[u8]) {
    let mut logs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    let last = logs.last().unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(last).unwrap();
    f.write_all(bytes).unwrap();
}

/// Reopens the log as a restarted broker would and checks every acknowledged record.
fn verify(dir: &std::path::Path, acked: &[(i64, u64)], next_seq: &mut u64) -> [usize; 3] {
    let log = Log::open(
        dir,
        config(),
        Arc::new(Resources::default()),
        OpenOptions::default(),
    )
    .unwrap();
    let rep = log.recovery_report();
    let seen = [
        usize::from(rep.truncation.is_some()),
        rep.completed_swaps.len(),
        rep.removed_files.len(),
    ];
    let mut records: HashMap<i64, (Vec<u8>, Vec<u8>)> = HashMap::new();
    let mut latest: HashMap<Vec<u8>, i64> = HashMap::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, None).unwrap();
        assert!(
            !r.records.is_empty(),
            "no data at {offset} below log end {}",
            log.log_end_offset()
        );
        ferry_log::validate_record_set(&r.records, usize::MAX).unwrap();
        for (h, bytes) in BatchIter::new(&r.records) {
            let recs = &bytes[61..];
            for rec in RecordIter::new(recs, h.records_count) {
                let rec = rec.unwrap();
                let o = h.base_offset + i64::from(rec.offset_delta);
                let key = rec.key.unwrap().to_vec();
                latest.insert(key.clone(), o);
                records.insert(o, (key, rec.value.unwrap().to_vec()));
            }
            offset = h.next_offset();
        }
    }
    for &(base, seq) in acked {
        if seq % 2 == 0 {
            for i in 0..UNIQUE_RECORDS {
                let (k, v) = records.get(&(base + i as i64)).unwrap_or_else(|| {
                    panic!("acknowledged offset {} (seq {seq}) lost", base + i as i64)
                });
                assert_eq!(k, format!("u{seq}-{i}").as_bytes());
                assert_eq!(v, payload(seq, i).as_bytes());
            }
        } else {
            let key = format!("c{}", seq % CHURN_KEYS).into_bytes();
            let l = latest.get(&key).copied().unwrap_or(-1);
            assert!(
                l >= base,
                "key {:?} acknowledged at {base} but latest is {l}",
                String::from_utf8_lossy(&key)
            );
            if l == base {
                assert_eq!(records[&base].1, payload(seq, 0).as_bytes());
            }
        }
    }
    // The log accepts appends after recovery (the next child continues from here).
    let mut b = batch_for(*next_seq);
    log.append_as_leader(&mut b, 0).unwrap();
    *next_seq += 1;
    log.close().unwrap();
    seen
}
