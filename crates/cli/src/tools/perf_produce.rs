//! `ferry perf produce`: kafka-producer-perf-test.sh. Sends `--num-records` records of
//! `--record-size` random bytes, batches of `batch.size` bytes round-robin over the partitions,
//! with up to `max.in.flight.requests.per.connection` Produce requests outstanding so one
//! connection stays busy; prints Kafka's window and summary lines. With `--throughput`, a
//! batch's latency runs from when it was due to its acknowledgement.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;
use clap::Args;
use ferry_kafka_client::{
    base_offset, build_batch, parse_compression, produce_request, ProducerRecord,
};
use tokio::task::JoinSet;

use super::common::{acks, now_ms, properties, property, Bootstrap};
use super::perf_stats::Stats;

/// Defaults to more in flight than Kafka's 5: the point of the tool here is the broker's
/// ceiling, not the Java client's.
const DEFAULT_IN_FLIGHT: usize = 32;
const REPORT_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Args, Debug)]
pub struct PerfProduceArgs {
    #[command(flatten)]
    pub bootstrap: Bootstrap,
    #[arg(long)]
    pub topic: String,
    #[arg(long = "num-records")]
    pub num_records: u64,
    #[arg(long = "record-size")]
    pub record_size: usize,
    /// Records per second at most; -1 for no limit.
    #[arg(long, allow_hyphen_values = true)]
    pub throughput: f64,
    /// Producer properties k=v: bootstrap.servers, acks, batch.size, linger.ms,
    /// compression.type, max.in.flight.requests.per.connection.
    #[arg(long = "producer-props", num_args = 1..)]
    pub producer_props: Vec<String>,
}

pub async fn run(mut args: PerfProduceArgs) -> anyhow::Result<ExitCode> {
    let props = properties(&args.producer_props, false)?;
    if args.bootstrap.bootstrap_server.is_none() {
        args.bootstrap.bootstrap_server = props.get("bootstrap.servers").cloned();
    }
    if args.record_size == 0 {
        bail!("--record-size must be positive");
    }
    let acks = acks(&props, -1)?;
    let batch_size: usize = property(&props, "batch.size", 16384)?;
    let in_flight: usize = property(
        &props,
        "max.in.flight.requests.per.connection",
        DEFAULT_IN_FLIGHT,
    )?;
    let compression =
        parse_compression(props.get("compression.type").map_or("none", String::as_str))?;
    let per_batch = (batch_size / (args.record_size + 20)).max(1) as u64;

    let client = args.bootstrap.connect("producer-performance").await?;
    let info = client.topic(&args.topic, true).await?;
    let mut leaders = Vec::new();
    for p in &info.partitions {
        leaders.push((p.partition, client.leader(&info, p.partition).await?));
    }
    if leaders.is_empty() {
        bail!("topic {} has no partitions", args.topic);
    }
    // Kafka's perf test fills records with random uppercase letters.
    let payload: Bytes = (0..args.record_size)
        .map(|i| b'A' + ((i * 7919 + now_ms() as usize) % 26) as u8)
        .collect::<Vec<u8>>()
        .into();

    let mut stats = Stats::new(args.num_records, args.record_size, REPORT_INTERVAL);
    let mut pending: JoinSet<anyhow::Result<(Instant, u64)>> = JoinSet::new();
    let start = Instant::now();
    let mut sent = 0u64;
    let mut next = 0usize;
    while sent < args.num_records {
        let n = per_batch.min(args.num_records - sent);
        let (n, intended) = throttle(args.throughput, start, sent, n).await;
        let timestamp = now_ms();
        let records: Vec<ProducerRecord> = (0..n)
            .map(|_| ProducerRecord {
                value: Some(payload.clone()),
                timestamp,
                ..Default::default()
            })
            .collect();
        let (partition, leader) = &leaders[next % leaders.len()];
        next += 1;
        let request = produce_request(
            &args.topic,
            *partition,
            build_batch(&records, compression),
            acks,
            30_000,
        );
        // Latency runs from when the batch was due, not when it went out: a producer held up
        // by the broker is counted in full (no coordinated omission).
        let created = intended;
        sent += n;
        if acks == 0 {
            leader.send_no_response(request)?;
            stats.record(created, n);
            continue;
        }
        while pending.len() >= in_flight {
            done(&mut pending, &mut stats).await?;
        }
        let response = leader.send(request)?;
        let (topic, partition) = (args.topic.clone(), *partition);
        pending.spawn(async move {
            let r = response.wait().await?;
            base_offset(&r, &topic, partition)?;
            Ok((created, n))
        });
    }
    while !pending.is_empty() {
        done(&mut pending, &mut stats).await?;
    }
    if acks == 0 {
        for (_, leader) in &leaders {
            leader.flush().await?;
        }
    }
    stats.print_total();
    Ok(ExitCode::SUCCESS)
}

/// Waits for one outstanding request and records its latency.
async fn done(
    pending: &mut JoinSet<anyhow::Result<(Instant, u64)>>,
    stats: &mut Stats,
) -> anyhow::Result<()> {
    if let Some(joined) = pending.join_next().await {
        let (created, n) = joined??;
        stats.record(created, n);
    }
    Ok(())
}

/// With a throughput limit, waits until sending more is allowed and returns how many records
/// to send now (fewer, so that batches do not burst past the limit) and when they were due.
/// Without one, they are due now.
async fn throttle(throughput: f64, start: Instant, sent: u64, n: u64) -> (u64, Instant) {
    if throughput <= 0.0 {
        return (n, Instant::now());
    }
    let n = n.min((throughput / 10.0).ceil().max(1.0) as u64);
    let due = start + Duration::from_secs_f64(sent as f64 / throughput);
    tokio::time::sleep_until(due.into()).await;
    (n, due)
}
