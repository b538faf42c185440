//! `ferry perf end-to-end`: Kafka's `kafka.tools.EndToEndLatency`, paced. Sends
//! `--num-records` records of `--record-size` bytes at `--throughput` records/s, one record per
//! Produce request (linger 0, as the latency case of a real producer), while a consumer in the
//! same process long-polls the partition. A record's latency runs from its *intended* send time
//! (start + i / throughput) to its receipt, so a producer or broker that falls behind the
//! schedule is counted in full rather than hidden (no coordinated omission).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use ferry_kafka_client::{base_offset, build_batch, fetch, produce_request, ProducerRecord};
use tokio::task::JoinSet;

use super::common::{acks, now_ms, properties, Bootstrap};

/// Produce requests in flight at most (librdkafka's default is 1,000,000 messages, bounded by
/// `max.in.flight` 5 per connection when idempotent; this is generous for one partition).
const IN_FLIGHT: usize = 64;

#[derive(Args, Debug)]
pub struct PerfEndToEndArgs {
    #[command(flatten)]
    pub bootstrap: Bootstrap,
    #[arg(long)]
    pub topic: String,
    #[arg(long = "num-records")]
    pub num_records: u64,
    #[arg(long = "record-size", default_value_t = 100)]
    pub record_size: usize,
    /// Records per second.
    #[arg(long)]
    pub throughput: f64,
    /// Producer properties k=v: acks (default all).
    #[arg(long = "producer-props", num_args = 1..)]
    pub producer_props: Vec<String>,
}

pub async fn run(args: PerfEndToEndArgs) -> anyhow::Result<ExitCode> {
    let props = properties(&args.producer_props, false)?;
    let acks = acks(&props, -1)?;
    if args.throughput <= 0.0 || args.num_records == 0 || args.record_size < 8 {
        bail!("--throughput and --num-records must be positive, --record-size at least 8");
    }
    let client = args.bootstrap.connect("end-to-end-latency").await?;
    let info = client.topic(&args.topic, true).await?;
    let leader = client.leader(&info, 0).await?;
    // A second connection for the consumer, so that its long polls never queue behind
    // produce requests.
    let consumer_client = args
        .bootstrap
        .connect("end-to-end-latency-consumer")
        .await?;
    let consumer = consumer_client.leader(&info, 0).await?;
    let start_offset = fetch(&consumer, &args.topic, 0, 0, 0, 1)
        .await
        .map(|r| r.high_watermark)
        .context("reading the log end")?;
    let start = Arc::new(Instant::now() + Duration::from_millis(100));
    let (total, rate, size) = (args.num_records, args.throughput, args.record_size);
    let topic = args.topic.clone();
    let producer_start = start.clone();
    let producer = tokio::spawn(async move {
        let mut pending: JoinSet<anyhow::Result<()>> = JoinSet::new();
        for i in 0..total {
            let intended = *producer_start + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(intended.into()).await;
            let nanos = (intended - *producer_start).as_nanos() as u64;
            let mut value = vec![b'x'; size];
            value[..8].copy_from_slice(&nanos.to_be_bytes());
            let record = ProducerRecord {
                value: Some(Bytes::from(value)),
                timestamp: now_ms(),
                ..Default::default()
            };
            let batch = build_batch(&[record], ferry_log::Compression::None);
            let request = produce_request(&topic, 0, batch, acks, 30_000);
            while pending.len() >= IN_FLIGHT {
                if let Some(joined) = pending.join_next().await {
                    joined??;
                }
            }
            let response = leader.send(request)?;
            let topic = topic.clone();
            pending.spawn(async move {
                let answer = response.wait().await?;
                base_offset(&answer, &topic, 0)?;
                Ok(())
            });
        }
        while let Some(joined) = pending.join_next().await {
            joined??;
        }
        anyhow::Ok(())
    });
    let mut latencies = Vec::with_capacity(total as usize);
    let mut offset = start_offset;
    let deadline = *start + Duration::from_secs_f64(total as f64 / rate) + Duration::from_secs(60);
    while (latencies.len() as u64) < total {
        if Instant::now() > deadline {
            bail!("received {} of {total} records", latencies.len());
        }
        let result = fetch(&consumer, &args.topic, 0, offset, 500, 1 << 20).await?;
        let received = start.elapsed();
        for record in &result.records {
            let Some(value) = record.value.as_ref().and_then(|v| v.get(..8)) else {
                continue;
            };
            let mut raw = [0u8; 8];
            raw.copy_from_slice(value);
            latencies.push(received.saturating_sub(Duration::from_nanos(u64::from_be_bytes(raw))));
        }
        offset = result.next_offset.max(offset);
    }
    producer.await??;
    latencies.sort_unstable();
    let at = |p: f64| {
        let i = ((latencies.len() as f64 * p / 100.0) as usize).min(latencies.len() - 1);
        latencies[i].as_secs_f64() * 1000.0
    };
    println!(
        "{} records at {rate:.0} records/s, acks={acks}, {size} B, latency from the intended send time: \
         p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        latencies.len(),
        at(50.0),
        at(99.0),
        at(99.9),
        at(100.0)
    );
    Ok(ExitCode::SUCCESS)
}
