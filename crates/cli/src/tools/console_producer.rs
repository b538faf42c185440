//! `ferry console-producer`: kafka-console-producer.sh. One record per stdin line, optionally
//! `key<separator>value` (`--property parse.key=true`), sent in batches to partition leaders.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::bail;
use bytes::Bytes;
use clap::Args;
use ferry_kafka_client::{parse_compression, partition_for_key, produce, ProducerRecord};
use tokio::sync::mpsc;

use super::common::{acks, now_ms, properties, property, run_async, Bootstrap};

/// Lines gathered into one batch at most.
const MAX_BATCH_LINES: usize = 1000;

#[derive(Args, Debug)]
pub struct ConsoleProducerArgs {
    #[command(flatten)]
    pub bootstrap: Bootstrap,
    #[arg(long)]
    pub topic: Option<String>,
    /// Reader properties: parse.key, key.separator, ignore.error.
    #[arg(long)]
    pub property: Vec<String>,
    /// Producer properties: acks, compression.type.
    #[arg(long = "producer-property")]
    pub producer_property: Vec<String>,
    #[arg(long = "request-required-acks")]
    pub request_required_acks: Option<String>,
    #[arg(long = "compression-codec", num_args = 0..=1, default_missing_value = "gzip")]
    pub compression_codec: Option<String>,
}

pub fn run(args: ConsoleProducerArgs) -> anyhow::Result<ExitCode> {
    let Some(topic) = args.topic.clone() else {
        bail!("Missing required argument \"[topic]\"");
    };
    if args.bootstrap.bootstrap_server.is_none() {
        bail!("Missing required argument \"[bootstrap-server]\"");
    }
    let reader = properties(&args.property, false)?;
    let mut producer = properties(&args.producer_property, false)?;
    if let Some(a) = &args.request_required_acks {
        producer.insert("acks".into(), a.clone());
    }
    if let Some(c) = &args.compression_codec {
        producer.insert("compression.type".into(), c.clone());
    }
    let parse_key: bool = property(&reader, "parse.key", false)?;
    let separator = reader
        .get("key.separator")
        .cloned()
        .unwrap_or_else(|| "\t".into());
    let acks = acks(&producer, 1)?;
    let compression = parse_compression(
        producer
            .get("compression.type")
            .map_or("none", String::as_str),
    )?;
    run_async(async move {
        let client = args.bootstrap.connect("console-producer").await?;
        let info = client.topic(&topic, true).await?;
        let partitions = info.partitions.len() as i32;
        if partitions == 0 {
            bail!("topic {topic} has no partitions");
        }
        let (tx, mut rx) = mpsc::channel::<String>(MAX_BATCH_LINES);
        // stdin is blocking; a thread feeds the lines in.
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.blocking_send(line).is_err() {
                    break;
                }
            }
        });
        let mut next_partition = 0;
        let mut used = std::collections::BTreeSet::new();
        while let Some(first) = rx.recv().await {
            let mut lines = vec![first];
            while lines.len() < MAX_BATCH_LINES {
                match rx.try_recv() {
                    Ok(line) => lines.push(line),
                    Err(_) => break,
                }
            }
            let mut by_partition: std::collections::BTreeMap<i32, Vec<ProducerRecord>> =
                Default::default();
            let timestamp = now_ms();
            for line in lines {
                let (key, value) = if parse_key {
                    match line.split_once(separator.as_str()) {
                        Some((k, v)) => (Some(k.to_string()), v.to_string()),
                        None => bail!("No key separator found on line: {line}"),
                    }
                } else {
                    (None, line)
                };
                let partition = match &key {
                    Some(k) => partition_for_key(k.as_bytes(), partitions),
                    None => next_partition,
                };
                by_partition
                    .entry(partition)
                    .or_default()
                    .push(ProducerRecord {
                        key: key.map(Bytes::from),
                        value: Some(Bytes::from(value)),
                        timestamp,
                        headers: Vec::new(),
                    });
            }
            next_partition = (next_partition + 1) % partitions;
            for (partition, records) in by_partition {
                let leader = client.leader(&info, partition).await?;
                produce(&leader, &topic, partition, &records, acks, compression).await?;
                used.insert(partition);
            }
        }
        // With acks=0 nothing confirms the records were sent; a round trip on each
        // connection used does, before the process exits.
        for partition in used {
            client.leader(&info, partition).await?.flush().await?;
        }
        Ok(ExitCode::SUCCESS)
    })
}
