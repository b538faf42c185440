//! An independent load client for `benchmarks/broker_bench.py`: librdkafka (through the rdkafka
//! crate) with its default settings unless a flag names one; none of ferry's code.
//!
//! ```text
//! rdkafka-load produce BOOTSTRAP TOPIC RECORDS SIZE ACKS
//!     sends RECORDS records of SIZE bytes as fast as librdkafka takes them; prints records/s
//!     and MB/s from the first send to the last acknowledgement
//! rdkafka-load latency BOOTSTRAP TOPIC RATE SECONDS ACKS [SIZE]
//!     sends RATE records/s for SECONDS (linger.ms=0) while a consumer in the same process
//!     reads them; a record's latency runs from its *intended* send time (start + i/RATE) to
//!     its receipt, so a producer that falls behind its schedule counts (no coordinated
//!     omission); prints p50/p99/p99.9/max
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer as _, ProducerContext, ThreadedProducer,
};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// Counts acknowledged and failed deliveries; in the latency run, also how long each
/// record took from its intended send time to its acknowledgement.
#[derive(Default)]
struct Deliveries {
    acked: AtomicU64,
    failed: AtomicU64,
    /// The latency run's start, and the acknowledgement latencies.
    acks: Option<(Instant, Mutex<Vec<Duration>>)>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    /// The record's intended send time, in ns after the start (0 outside the latency run).
    type DeliveryOpaque = Box<u64>;
    fn delivery(&self, result: &DeliveryResult<'_>, intended: Box<u64>) {
        match result {
            Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
        if let Some((start, acks)) = &self.acks {
            let latency = start
                .elapsed()
                .saturating_sub(Duration::from_nanos(*intended));
            acks.lock().unwrap_or_else(|p| p.into_inner()).push(latency);
        }
    }
}

type Load = ThreadedProducer<Deliveries>;

fn producer(bootstrap: &str, acks: &str, extra: &[(&str, &str)], context: Deliveries) -> Load {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap).set("acks", acks);
    for (key, value) in extra {
        config.set(*key, *value);
    }
    config
        .create_with_context(context)
        .unwrap_or_else(|e| fail(&format!("cannot create the producer: {e}")))
}

fn fail(message: &str) -> ! {
    eprintln!("rdkafka-load: {message}");
    std::process::exit(2)
}

/// Sends one record, waiting while librdkafka's queue is full.
fn send(producer: &Load, topic: &str, payload: &[u8], intended_ns: u64) {
    let mut record = BaseRecord::with_opaque_to(topic, Box::new(intended_ns))
        .payload(payload)
        .partition(0);
    loop {
        match producer.send::<(), [u8]>(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_micros(200));
            }
            Err((error, _)) => fail(&format!("send failed: {error}")),
        }
    }
}

fn wait_acked(producer: &Load, total: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    let context = producer.context();
    while context.acked.load(Ordering::Relaxed) + context.failed.load(Ordering::Relaxed) < total {
        if Instant::now() > deadline {
            fail("deliveries did not complete in time");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let failed = context.failed.load(Ordering::Relaxed);
    if failed > 0 {
        fail(&format!("{failed} deliveries failed"));
    }
}

fn produce(bootstrap: &str, topic: &str, records: u64, size: usize, acks: &str) {
    let producer = producer(bootstrap, acks, &[], Deliveries::default());
    let payload = vec![b'x'; size];
    let start = Instant::now();
    for _ in 0..records {
        send(&producer, topic, &payload, 0);
    }
    wait_acked(&producer, records, Duration::from_secs(300));
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "rdkafka produce {size} B acks={acks}: {:.0} records/s ({:.1} MB/s), {records} records in {seconds:.2} s",
        records as f64 / seconds,
        records as f64 * size as f64 / seconds / 1e6
    );
}

fn latency(bootstrap: &str, topic: &str, rate: u64, seconds: u64, acks: &str, size: usize) {
    let total = rate * seconds;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("rdkafka-load-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap_or_else(|e| fail(&format!("cannot create the consumer: {e}")));
    // From the log end as it is now, resolved before anything is produced: `Offset::End`
    // resolves when the consumer first fetches, and on a cluster that has just started that
    // can come after the first records, which would then never be received.
    let (_, end) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(30))
        .unwrap_or_else(|e| fail(&format!("watermarks of {topic}: {e}")));
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Offset(end))
        .unwrap_or_else(|e| fail(&format!("{e}")));
    consumer
        .assign(&assignment)
        .unwrap_or_else(|e| fail(&format!("assign: {e}")));
    // Fetching (at the log end) before the first record goes out.
    let _ = consumer.poll(Duration::from_millis(500));
    let start = Arc::new(Instant::now() + Duration::from_millis(200));
    let context = Deliveries {
        acks: Some((*start, Mutex::new(Vec::with_capacity(total as usize)))),
        ..Deliveries::default()
    };
    let producer = Arc::new(producer(bootstrap, acks, &[("linger.ms", "0")], context));
    let sender = {
        let producer = producer.clone();
        let start = start.clone();
        let topic = topic.to_string();
        std::thread::spawn(move || {
            // Wake, send every record whose time has come, sleep until the next one is due:
            // at high rates a wake-up finds several due, so the pacing costs fewer system
            // calls than records; the latency still runs from each record's intended time.
            let mut payload = vec![b'x'; size.max(8)];
            let intended = |i: u64| *start + Duration::from_nanos(i * 1_000_000_000 / rate);
            let mut i = 0;
            while i < total {
                let now = Instant::now();
                let due = intended(i);
                if due > now {
                    std::thread::sleep(due - now);
                    continue;
                }
                while i < total && intended(i) <= now {
                    let nanos = (intended(i) - *start).as_nanos() as u64;
                    payload[..8].copy_from_slice(&nanos.to_be_bytes());
                    send(&producer, &topic, &payload, nanos);
                    i += 1;
                }
            }
            wait_acked(&producer, total, Duration::from_secs(120));
        })
    };
    let mut latencies = Vec::with_capacity(total as usize);
    let deadline = *start + Duration::from_secs(seconds + 60);
    while (latencies.len() as u64) < total && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                let received = start.elapsed();
                if let Some(bytes) = message.payload().and_then(|p| p.get(..8)) {
                    let mut raw = [0u8; 8];
                    raw.copy_from_slice(bytes);
                    let intended = Duration::from_nanos(u64::from_be_bytes(raw));
                    latencies.push(received.saturating_sub(intended));
                }
            }
            Some(Err(error)) => fail(&format!("consume failed: {error}")),
            None => {}
        }
    }
    let _ = sender.join();
    if (latencies.len() as u64) < total {
        fail(&format!("received {} of {total} records", latencies.len()));
    }
    let mut acked = producer
        .context()
        .acks
        .as_ref()
        .map(|(_, acks)| std::mem::take(&mut *acks.lock().unwrap_or_else(|p| p.into_inner())))
        .unwrap_or_default();
    println!(
        "rdkafka end-to-end at {rate} records/s, acks={acks}, linger.ms=0, {size} B, from the intended send time ({} records): {}",
        latencies.len(),
        percentiles(&mut latencies)
    );
    println!(
        "rdkafka produce acknowledgement at {rate} records/s, acks={acks}, from the intended send time: {}",
        percentiles(&mut acked)
    );
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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> &str {
        args.get(i)
            .map(String::as_str)
            .unwrap_or_else(|| fail("missing arguments (see the crate docs)"))
    };
    let number = |i: usize| -> u64 {
        arg(i)
            .parse()
            .unwrap_or_else(|e| fail(&format!("{}: {e}", arg(i))))
    };
    match arg(0) {
        "produce" => produce(arg(1), arg(2), number(3), number(4) as usize, arg(5)),
        "latency" => {
            let size = args.get(6).map_or(100, |_| number(6) as usize);
            latency(arg(1), arg(2), number(3), number(4), arg(5), size)
        }
        "version" => println!("librdkafka {}", rdkafka::util::get_rdkafka_version().1),
        other => fail(&format!("unknown command {other}")),
    }
}
