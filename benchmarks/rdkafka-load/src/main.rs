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
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// Counts acknowledged and failed deliveries.
#[derive(Default)]
struct Deliveries {
    acked: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

type Producer = ThreadedProducer<Deliveries>;

fn producer(bootstrap: &str, acks: &str, extra: &[(&str, &str)]) -> Producer {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap).set("acks", acks);
    for (key, value) in extra {
        config.set(*key, *value);
    }
    config
        .create_with_context(Deliveries::default())
        .unwrap_or_else(|e| fail(&format!("cannot create the producer: {e}")))
}

fn fail(message: &str) -> ! {
    eprintln!("rdkafka-load: {message}");
    std::process::exit(2)
}

/// Sends one record, waiting while librdkafka's queue is full.
fn send(producer: &Producer, topic: &str, payload: &[u8]) {
    let mut record = BaseRecord::to(topic).payload(payload).partition(0);
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

fn wait_acked(producer: &Producer, total: u64, limit: Duration) {
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
    let producer = producer(bootstrap, acks, &[]);
    let payload = vec![b'x'; size];
    let start = Instant::now();
    for _ in 0..records {
        send(&producer, topic, &payload);
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
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::End)
        .unwrap_or_else(|e| fail(&format!("{e}")));
    consumer
        .assign(&assignment)
        .unwrap_or_else(|e| fail(&format!("assign: {e}")));
    // Fetching (at the log end) before the first record goes out.
    let _ = consumer.poll(Duration::from_millis(500));
    let producer = producer(bootstrap, acks, &[("linger.ms", "0")]);
    let start = Arc::new(Instant::now() + Duration::from_millis(200));
    let sender = {
        let start = start.clone();
        let topic = topic.to_string();
        std::thread::spawn(move || {
            let mut payload = vec![b'x'; size.max(8)];
            for i in 0..total {
                let intended = *start + Duration::from_nanos(i * 1_000_000_000 / rate);
                let now = Instant::now();
                if intended > now {
                    std::thread::sleep(intended - now);
                }
                let nanos = (intended - *start).as_nanos() as u64;
                payload[..8].copy_from_slice(&nanos.to_be_bytes());
                send(&producer, &topic, &payload);
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
    latencies.sort_unstable();
    let at = |p: f64| {
        let i = ((latencies.len() as f64 * p / 100.0) as usize).min(latencies.len() - 1);
        latencies[i].as_secs_f64() * 1000.0
    };
    println!(
        "rdkafka end-to-end at {rate} records/s, acks={acks}, linger.ms=0, {size} B, from the intended send time ({} records): p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        latencies.len(),
        at(50.0),
        at(99.0),
        at(99.9),
        at(100.0)
    );
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
