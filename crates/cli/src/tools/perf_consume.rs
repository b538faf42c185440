//! `ferry perf consume`: kafka-consumer-perf-test.sh. Reads `--messages` records from the
//! earliest offsets of every partition and prints Kafka's header and figure line.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use ferry_kafka_client::{fetch, EARLIEST};

use super::common::Bootstrap;

#[derive(Args, Debug)]
pub struct PerfConsumeArgs {
    #[command(flatten)]
    pub bootstrap: Bootstrap,
    #[arg(long)]
    pub topic: String,
    #[arg(long)]
    pub messages: u64,
    /// Give up after this many ms without a record.
    #[arg(long, default_value_t = 10_000)]
    pub timeout: u64,
    #[arg(long = "fetch-size", default_value_t = 1 << 20)]
    pub fetch_size: i32,
    /// Accepted for compatibility; offsets are not committed.
    #[arg(long)]
    pub group: Option<String>,
    #[arg(long = "hide-header")]
    pub hide_header: bool,
}

pub async fn run(args: PerfConsumeArgs) -> anyhow::Result<ExitCode> {
    let client = args.bootstrap.connect("consumer-performance").await?;
    let info = match client.topic(&args.topic, false).await {
        Ok(info) => info,
        Err(e) => bail!("cannot consume topic {}: {e}", args.topic),
    };
    let partitions: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
    let mut positions: BTreeMap<i32, i64> =
        client.list_offsets(&info, &partitions, EARLIEST).await?;
    let start_wall = wall_clock();
    let start = Instant::now();
    let mut last_record = Instant::now();
    let (mut count, mut bytes) = (0u64, 0u64);
    let timeout = Duration::from_millis(args.timeout);
    while count < args.messages && last_record.elapsed() < timeout {
        for p in &partitions {
            let offset = positions[p];
            let leader = client.leader(&info, *p).await?;
            let result = fetch(&leader, &info.name, *p, offset, 100, args.fetch_size).await?;
            if !result.records.is_empty() {
                last_record = Instant::now();
            }
            for r in &result.records {
                count += 1;
                bytes += (r.key.as_ref().map_or(0, |k| k.len())
                    + r.value.as_ref().map_or(0, |v| v.len())) as u64;
            }
            positions.insert(*p, result.next_offset.max(offset));
        }
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if !args.hide_header {
        println!("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec");
    }
    let ms = (secs * 1000.0) as u64;
    println!(
        "{start_wall}, {}, {mb:.4}, {:.4}, {count}, {:.4}, 0, {ms}, {:.4}, {:.4}",
        wall_clock(),
        mb / secs,
        count as f64 / secs,
        mb / secs,
        count as f64 / secs,
    );
    if count < args.messages {
        eprintln!(
            "WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) exceeded.",
            args.timeout
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Kafka's "yyyy-MM-dd HH:mm:ss:SSS" in local time.
fn wall_clock() -> String {
    let now = jiff::Zoned::now();
    format!(
        "{}:{:03}",
        now.strftime("%Y-%m-%d %H:%M:%S"),
        now.millisecond()
    )
}
