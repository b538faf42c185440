//! Storage-engine benchmark: prints figures, asserts nothing about time.
//!
//! ```text
//! cargo run --release -p ferry-log --example logbench
//! LOGBENCH_DIR=/data LOGBENCH_MB=256 cargo run --release -p ferry-log --example logbench
//! ```
//!
//! Measures, on the disk holding `LOGBENCH_DIR` (default: the system temp dir):
//! 1. raw sequential write speed with `dd ... conv=fdatasync` (the reference),
//! 2. append throughput of ~1 MiB batches of 1 KiB records and of 100-byte records, including a
//!    final fsync so it is comparable with dd,
//! 3. sequential read throughput from the page cache (1 MiB fetches),
//! 4. random offset lookup latency (a 1-byte fetch, i.e. index lookup + header walk + read of
//!    the batch) on 10 million records in 1,000 segments,
//! 5. recovery time of a 1 GiB active segment after an unclean stop (every batch CRC-checked,
//!    indexes rebuilt).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_log::{BatchBuilder, Log, LogConfig, OpenOptions, Resources};

fn main() -> anyhow_free::Result {
    let base = std::env::var_os("LOGBENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let total_mb: u64 = std::env::var("LOGBENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let lookup_records: i64 = std::env::var("LOGBENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    std::fs::create_dir_all(&base)?;
    let work = base.join(format!("ferry-logbench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    println!(
        "ferry-log benchmark in {} ({} MiB per write test)",
        work.display(),
        total_mb
    );

    // The virtual disks this runs on are bursty (host write-back caches, neighbours), so dd runs
    // before and after the append tests and the faster run is the reference.
    let dd_before = dd_speed(&work, total_mb);
    print_dd("before", dd_before);

    let mut appends = Vec::new();
    for record_size in [1024usize, 100] {
        let dir = work.join(format!("append-{record_size}"));
        let raw = raw_write_speed(&work, record_size, total_mb)?;
        let (mbps, rps, recovery_point) = append_bench(&dir, record_size, total_mb)?;
        appends.push((record_size, mbps, rps, raw));
        if record_size == 1024 {
            let gbps = read_bench(&dir, recovery_point)?;
            println!("sequential read from page cache (1 MiB fetches): {gbps:.2} GB/s");
            let (secs, gib) = recovery_bench(&dir)?;
            println!(
                "recovery of a {gib:.2} GiB active segment (full CRC scan + index rebuild, page cache warm): \
                 {secs:.2} s ({:.2} GB/s)",
                gib * 1.073_741_824 / secs
            );
        }
        std::fs::remove_dir_all(&dir)?;
    }

    let dd_after = dd_speed(&work, total_mb);
    print_dd("after", dd_after);
    let dd = dd_before.into_iter().chain(dd_after).reduce(f64::max);
    for (record_size, mbps, rps, raw) in appends {
        println!(
            "raw write(2) + fsync of the same ~1 MiB batches ({record_size}-byte records): {raw:.0} MB/s"
        );
        let vs = dd.map_or(String::new(), |d| {
            format!(", {:.0}% of the faster dd", 100.0 * mbps / d)
        });
        println!(
            "append + final fsync, ~1 MiB batches of {record_size}-byte records: {mbps:.0} MB/s \
             ({:.0}% of raw write{vs}), {:.2} M records/s",
            100.0 * mbps / raw,
            rps / 1e6
        );
    }

    lookup_bench(&work.join("lookup"), lookup_records)?;
    std::fs::remove_dir_all(&work)?;
    Ok(())
}

fn print_dd(when: &str, mbps: Option<f64>) {
    match mbps {
        Some(mbps) => println!(
            "dd sequential write {when} (if=/dev/zero bs=1M conv=fdatasync): {mbps:.0} MB/s"
        ),
        None => println!("dd sequential write {when}: could not run dd"),
    }
}

/// Tiny local error alias so the example needs no extra dependency.
mod anyhow_free {
    pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;
}

fn dd_speed(dir: &Path, mb: u64) -> Option<f64> {
    let target = dir.join("dd.tmp");
    let started = Instant::now();
    let out = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", target.display()))
        .arg("bs=1M")
        .arg(format!("count={mb}"))
        .arg("conv=fdatasync")
        .output()
        .ok()?;
    let secs = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&target);
    if !out.status.success() {
        return None;
    }
    Some((mb << 20) as f64 / secs / 1e6)
}

/// A ~1 MiB batch whose values are pseudo-random, so that a disk or host that compresses or
/// deduplicates blocks does not flatter the figures.
fn batch_of(record_size: usize) -> Vec<u8> {
    let mut b = BatchBuilder::new(1_700_000_000_000);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64 ^ record_size as u64;
    let mut i = 0u64;
    while b.records_size() + record_size < 1_040_000 {
        let value: Vec<u8> = (0..record_size.saturating_sub(20))
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        b.append(
            Some(format!("key-{i:012}").as_bytes()),
            Some(&value),
            1_700_000_000_000 + i as i64,
        );
        i += 1;
    }
    b.build()
}

/// The same bytes written with plain sequential `write(2)` calls and one fsync: the reference the
/// append path is compared with (dd's /dev/zero input can be special-cased by virtual disks).
fn raw_write_speed(
    dir: &Path,
    record_size: usize,
    total_mb: u64,
) -> Result<f64, Box<dyn std::error::Error>> {
    use std::io::Write;
    let batch = batch_of(record_size);
    let n = ((total_mb << 20) / batch.len() as u64).max(1);
    let path = dir.join("raw.tmp");
    let started = Instant::now();
    let mut f = std::fs::File::create(&path)?;
    for _ in 0..n {
        f.write_all(&batch)?;
    }
    f.sync_all()?;
    let secs = started.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok((n * batch.len() as u64) as f64 / secs / 1e6)
}

fn append_bench(
    dir: &Path,
    record_size: usize,
    total_mb: u64,
) -> Result<(f64, f64, i64), Box<dyn std::error::Error>> {
    let log = Log::open(
        dir,
        LogConfig::default(),
        Arc::new(Resources::default()),
        OpenOptions::default(),
    )?;
    let mut batch = batch_of(record_size);
    let per_batch = ferry_log::validate_record_set(&batch, usize::MAX)?[0].records_count as f64;
    let batches = ((total_mb << 20) / batch.len() as u64).max(1);
    let started = Instant::now();
    for _ in 0..batches {
        log.append_as_leader(&mut batch, 0)?;
    }
    let appended = started.elapsed().as_secs_f64();
    log.flush()?;
    let secs = started.elapsed().as_secs_f64();
    let bytes = batches as f64 * batch.len() as f64;
    println!(
        "  {record_size}-byte records: {:.0} MiB appended in {appended:.2} s, final fsync {:.2} s",
        bytes / (1 << 20) as f64,
        secs - appended
    );
    log.close()?;
    Ok((
        bytes / secs / 1e6,
        batches as f64 * per_batch / secs,
        log.recovery_point(),
    ))
}

fn read_bench(dir: &Path, recovery_point: i64) -> Result<f64, Box<dyn std::error::Error>> {
    let log = Log::open(
        dir,
        LogConfig::default(),
        Arc::new(Resources::default()),
        OpenOptions {
            recovery_point: Some(recovery_point),
            log_start_offset: None,
        },
    )?;
    let mut best = 0.0f64;
    for _ in 0..3 {
        let started = Instant::now();
        let mut offset = 0;
        let mut bytes = 0usize;
        while offset < log.log_end_offset() {
            let r = log.read(offset, 1 << 20, None)?;
            let Some((last, _)) = ferry_log::BatchIter::new(&r.records).last() else {
                break;
            };
            offset = last.next_offset();
            bytes += r.records.len();
        }
        best = best.max(bytes as f64 / started.elapsed().as_secs_f64() / 1e9);
    }
    Ok(best)
}

fn recovery_bench(dir: &Path) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let segs = std::fs::read_dir(dir)?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "log"))
        })
        .count();
    assert_eq!(
        segs, 1,
        "the append test should leave a single active segment"
    );
    // Unknown recovery point: the whole active segment is validated, as after a crash.
    let started = Instant::now();
    let log = Log::open(
        dir,
        LogConfig::default(),
        Arc::new(Resources::default()),
        OpenOptions::default(),
    )?;
    let secs = started.elapsed().as_secs_f64();
    let rep = log.recovery_report();
    assert_eq!(rep.truncation, None);
    Ok((secs, log.size_bytes() as f64 / (1u64 << 30) as f64))
}

fn lookup_bench(dir: &Path, records: i64) -> Result<(), Box<dyn std::error::Error>> {
    const SEGMENTS: i64 = 1000;
    const PER_BATCH: i64 = 100;
    let res = Arc::new(Resources::new(
        4096,
        256 << 20,
        Arc::new(ferry_log::SystemClock),
    ));
    let log = Log::open(dir, LogConfig::default(), res, OpenOptions::default())?;
    let mut b = BatchBuilder::new(0);
    for i in 0..PER_BATCH {
        b.append(Some(format!("k{i:06}").as_bytes()), Some(&[b'v'; 40]), i);
    }
    let mut batch = b.build();
    let batches = records / PER_BATCH;
    let per_segment = (batches / SEGMENTS).max(1);
    let started = Instant::now();
    for i in 0..batches {
        if i > 0 && i % per_segment == 0 {
            log.roll()?;
        }
        log.append_as_leader(&mut batch, 0)?;
    }
    println!(
        "built {} records in {} segments ({:.0} MB) in {:.1} s",
        log.log_end_offset(),
        log.segments().len(),
        log.size_bytes() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let leo = log.log_end_offset();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % leo as u64) as i64
    };
    let lookup = |offset: i64| -> Result<Duration, Box<dyn std::error::Error>> {
        let t = Instant::now();
        let r = log.read(offset, 1, None)?;
        let d = t.elapsed();
        assert!(!r.records.is_empty());
        Ok(d)
    };
    // Warm up: every segment's file handle and index in the caches, as on a busy broker.
    for _ in 0..20_000 {
        lookup(next())?;
    }
    let mut lat: Vec<Duration> = (0..200_000)
        .map(|_| lookup(next()))
        .collect::<Result<_, _>>()?;
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6;
    println!(
        "random offset lookup (fetch of the batch holding a random offset), {} lookups: p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
        lat.len(),
        pct(0.50),
        pct(0.99),
        pct(0.999),
        pct(1.0)
    );
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
