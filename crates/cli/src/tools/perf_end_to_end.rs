//! `ferry perf end-to-end`: Kafka's `kafka.tools.EndToEndLatency`, paced. Sends
//! `--num-records` records of `--record-size` bytes at `--throughput` records/s as a producer
//! with `linger.ms=0` does (each wake-up sends the records that are due, in one batch, with at
//! most five requests in flight), while a consumer in the same process long-polls the
//! partition. A record's latency runs from its *intended* send time
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

/// Produce requests in flight at most (the Java client's `max.in.flight.requests.per.connection`
/// default).
const IN_FLIGHT: usize = 5;

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

/// Runs the tool on a single-threaded runtime: a record's path through the client is then a
/// chain of task wake-ups on one thread instead of hand-offs between threads, each of which
/// can cost a scheduler wake-up (milliseconds on a virtual machine whose idle CPUs halt).
pub fn run_on_one_thread(args: PerfEndToEndArgs) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run(args))
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
    let mut producer = tokio::spawn(async move {
        let mut acked: Vec<Duration> = Vec::with_capacity(total as usize);
        let mut pending: JoinSet<anyhow::Result<(Duration, usize)>> = JoinSet::new();
        let settle = |joined: Result<anyhow::Result<(Duration, usize)>, tokio::task::JoinError>,
                      acked: &mut Vec<Duration>| {
            let (first, n) = joined??;
            acked.extend(std::iter::repeat_n(first, n));
            anyhow::Ok(())
        };
        let intended = |i: u64| *producer_start + Duration::from_secs_f64(i as f64 / rate);
        let mut next = 0;
        while next < total {
            tokio::time::sleep_until(intended(next).into()).await;
            while pending.len() >= IN_FLIGHT {
                if let Some(joined) = pending.join_next().await {
                    settle(joined, &mut acked)?;
                }
            }
            // Everything due by now goes in this request, each record stamped with its own
            // intended send time.
            let now = Instant::now();
            let first = intended(next);
            let mut records = Vec::new();
            // A batch stays under the broker's default message.max.bytes.
            let cap = (900_000 / (size + 20)).max(1);
            while next < total && intended(next) <= now && records.len() < cap {
                let nanos = (intended(next) - *producer_start).as_nanos() as u64;
                let mut value = vec![b'x'; size];
                value[..8].copy_from_slice(&nanos.to_be_bytes());
                records.push(ProducerRecord {
                    value: Some(Bytes::from(value)),
                    timestamp: now_ms(),
                    ..Default::default()
                });
                next += 1;
            }
            let batch = build_batch(&records, ferry_log::Compression::None);
            let request = produce_request(&topic, 0, batch, acks, 30_000);
            let response = leader.send(request)?;
            let topic = topic.clone();
            let n = records.len();
            pending.spawn(async move {
                let answer = response.wait().await?;
                base_offset(&answer, &topic, 0)?;
                // The batch's acknowledgement, from its first record's intended time (the
                // most delayed record of the batch).
                Ok((first.elapsed(), n))
            });
        }
        while let Some(joined) = pending.join_next().await {
            settle(joined, &mut acked)?;
        }
        anyhow::Ok(acked)
    });
    let mut produced = None;
    let mut latencies = Vec::with_capacity(total as usize);
    let mut offset = start_offset;
    let deadline = *start + Duration::from_secs_f64(total as f64 / rate) + Duration::from_secs(60);
    while (latencies.len() as u64) < total {
        if Instant::now() > deadline {
            bail!("received {} of {total} records", latencies.len());
        }
        if produced.is_none() && producer.is_finished() {
            // Finished early only if it failed: then report why at once.
            produced = Some((&mut producer).await?.context("producing")?);
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
    let mut acked = match produced {
        Some(acked) => acked,
        None => producer.await?.context("producing")?,
    };
    println!(
        "{} records at {rate:.0} records/s, acks={acks}, {size} B, from the intended send time: \
         end-to-end {}; produce acknowledgement {}",
        latencies.len(),
        percentiles(&mut latencies),
        percentiles(&mut acked)
    );
    Ok(ExitCode::SUCCESS)
}

fn percentiles(values: &mut [Duration]) -> String {
    if values.is_empty() {
        return "no values".to_string();
    }
    values.sort_unstable();
    let at = |p: f64| {
        let i = ((values.len() as f64 * p / 100.0) as usize).min(values.len() - 1);
        values[i].as_secs_f64() * 1000.0
    };
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        at(50.0),
        at(99.0),
        at(99.9),
        at(100.0)
    )
}
