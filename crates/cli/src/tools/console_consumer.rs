//! `ferry console-consumer`: kafka-console-consumer.sh. Reads one topic (all partitions, one
//! `--partition`, or the partitions a `--group` assigns) and prints records as Kafka's
//! `DefaultMessageFormatter` does; exits after `--max-messages` or `--timeout-ms` of silence.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use ferry_kafka_client::{
    fetch, Client, ConsumerRecord, GroupMember, GroupTimeouts, Offsets, TopicInfo, EARLIEST, LATEST,
};

use super::common::{properties, property, run_async, Bootstrap};

const FETCH_MAX_BYTES: i32 = 1 << 20;
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);
const COMMIT_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Args, Debug)]
pub struct ConsoleConsumerArgs {
    #[command(flatten)]
    pub bootstrap: Bootstrap,
    #[arg(long)]
    pub topic: Option<String>,
    #[arg(long = "from-beginning")]
    pub from_beginning: bool,
    #[arg(long)]
    pub partition: Option<i32>,
    /// earliest, latest or an offset (needs --partition).
    #[arg(long)]
    pub offset: Option<String>,
    #[arg(long = "max-messages")]
    pub max_messages: Option<u64>,
    /// Exit when no message arrived for this long.
    #[arg(long = "timeout-ms")]
    pub timeout_ms: Option<u64>,
    #[arg(long)]
    pub group: Option<String>,
    /// Formatter properties: print.key, print.value, print.timestamp, print.partition,
    /// print.offset, key.separator, line.separator.
    #[arg(long)]
    pub property: Vec<String>,
    /// Consumer properties: auto.offset.reset, group.id.
    #[arg(long = "consumer-property")]
    pub consumer_property: Vec<String>,
}

/// Kafka's DefaultMessageFormatter settings.
struct Formatter {
    key: bool,
    value: bool,
    timestamp: bool,
    partition: bool,
    offset: bool,
    key_separator: String,
    line_separator: String,
}

impl Formatter {
    fn from(props: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        Ok(Self {
            key: property(props, "print.key", false)?,
            value: property(props, "print.value", true)?,
            timestamp: property(props, "print.timestamp", false)?,
            partition: property(props, "print.partition", false)?,
            offset: property(props, "print.offset", false)?,
            key_separator: props
                .get("key.separator")
                .cloned()
                .unwrap_or_else(|| "\t".into()),
            line_separator: props
                .get("line.separator")
                .cloned()
                .unwrap_or_else(|| "\n".into()),
        })
    }

    fn format(&self, partition: i32, r: &ConsumerRecord, out: &mut Vec<u8>) {
        let mut columns: Vec<Vec<u8>> = Vec::new();
        if self.timestamp {
            let kind = if r.log_append_time {
                "LogAppendTime"
            } else {
                "CreateTime"
            };
            columns.push(format!("{kind}:{}", r.timestamp).into_bytes());
        }
        if self.partition {
            columns.push(format!("Partition:{partition}").into_bytes());
        }
        if self.offset {
            columns.push(format!("Offset:{}", r.offset).into_bytes());
        }
        let bytes = |b: &Option<bytes::Bytes>| b.as_ref().map_or(b"null".to_vec(), |b| b.to_vec());
        if self.key {
            columns.push(bytes(&r.key));
        }
        if self.value {
            columns.push(bytes(&r.value));
        }
        out.extend(columns.join(self.key_separator.as_bytes()));
        out.extend(self.line_separator.as_bytes());
    }
}

pub fn run(args: ConsoleConsumerArgs) -> anyhow::Result<ExitCode> {
    let Some(topic) = args.topic.clone() else {
        bail!("Missing required argument \"[topic]\" (--topic)");
    };
    if args.offset.is_some() && args.partition.is_none() {
        bail!("The partition is required when offset is specified.");
    }
    if args.group.is_some() && (args.partition.is_some() || args.offset.is_some()) {
        bail!("Options group and partition/offset cannot be specified together.");
    }
    let formatter = Formatter::from(&properties(&args.property, false)?)?;
    let consumer_props = properties(&args.consumer_property, false)?;
    let group = args
        .group
        .clone()
        .or_else(|| consumer_props.get("group.id").cloned());
    let reset = match consumer_props.get("auto.offset.reset").map(String::as_str) {
        _ if args.from_beginning => EARLIEST,
        Some("earliest") => EARLIEST,
        Some("latest") | None => LATEST,
        Some(other) => bail!("invalid auto.offset.reset {other:?}: earliest or latest"),
    };
    run_async(async move {
        let client = args.bootstrap.connect("console-consumer").await?;
        let info = match client.topic(&topic, false).await {
            Ok(info) => info,
            Err(e) => bail!("cannot consume topic {topic}: {e}"),
        };
        let mut consumer = Consumer {
            client: &client,
            info: &info,
            positions: BTreeMap::new(),
            member: None,
            reset,
        };
        match &group {
            Some(group) => consumer.join(group).await?,
            None => {
                let partitions: Vec<i32> = match args.partition {
                    Some(p) => vec![p],
                    None => info.partitions.iter().map(|p| p.partition).collect(),
                };
                let start = match args.offset.as_deref() {
                    Some("earliest") => EARLIEST,
                    Some("latest") | None => reset,
                    Some(n) => match n.parse::<i64>() {
                        Ok(n) if n >= 0 => n,
                        _ => bail!(
                            "The offset {n:?} is not earliest, latest or a non-negative number"
                        ),
                    },
                };
                consumer.start_at(&partitions, start).await?;
            }
        }
        let count = consumer
            .consume(&formatter, args.max_messages, args.timeout_ms)
            .await;
        eprintln!(
            "Processed a total of {} messages",
            count.as_ref().map_or(0, |c| *c)
        );
        consumer.close().await;
        count.map(|_| ExitCode::SUCCESS)
    })
}

struct Consumer<'a> {
    client: &'a Client,
    info: &'a TopicInfo,
    /// Partition -> next offset to fetch.
    positions: BTreeMap<i32, i64>,
    member: Option<GroupMember>,
    reset: i64,
}

impl Consumer<'_> {
    /// Positions of `partitions`: `start` if an offset, else earliest/latest.
    async fn start_at(&mut self, partitions: &[i32], start: i64) -> anyhow::Result<()> {
        for p in partitions {
            if !self.info.partitions.iter().any(|i| i.partition == *p) {
                bail!("topic {} has no partition {p}", self.info.name);
            }
        }
        let offsets = if start < 0 {
            self.client
                .list_offsets(self.info, partitions, start)
                .await?
        } else {
            partitions.iter().map(|p| (*p, start)).collect()
        };
        self.positions = offsets;
        Ok(())
    }

    async fn join(&mut self, group: &str) -> anyhow::Result<()> {
        let member = GroupMember::join(
            self.client,
            group,
            vec![self.info.name.clone()],
            GroupTimeouts::default(),
        )
        .await?;
        self.adopt(member).await
    }

    /// Takes the member's assignment: committed offsets, else the reset policy.
    async fn adopt(&mut self, member: GroupMember) -> anyhow::Result<()> {
        let partitions = member
            .assignment()
            .get(&self.info.name)
            .cloned()
            .unwrap_or_default();
        let committed = member.committed().await?;
        let uncommitted: Vec<i32> = partitions
            .iter()
            .copied()
            .filter(|p| {
                committed
                    .get(&(self.info.name.clone(), *p))
                    .is_none_or(|o| *o < 0)
            })
            .collect();
        let mut positions = self
            .client
            .list_offsets(self.info, &uncommitted, self.reset)
            .await?;
        for p in &partitions {
            if let Some(o) = committed
                .get(&(self.info.name.clone(), *p))
                .filter(|o| **o >= 0)
            {
                positions.insert(*p, *o);
            }
        }
        self.positions = positions;
        self.member = Some(member);
        Ok(())
    }

    async fn consume(
        &mut self,
        formatter: &Formatter,
        max: Option<u64>,
        timeout_ms: Option<u64>,
    ) -> anyhow::Result<u64> {
        let mut count = 0u64;
        let mut last_message = Instant::now();
        let mut last_heartbeat = Instant::now();
        let mut last_commit = Instant::now();
        let stdout = std::io::stdout();
        let timeout = timeout_ms.map(Duration::from_millis);
        loop {
            if max.is_some_and(|m| count >= m) {
                break;
            }
            if timeout.is_some_and(|t| last_message.elapsed() >= t) {
                break;
            }
            if self.member.is_some() && last_heartbeat.elapsed() >= HEARTBEAT_INTERVAL {
                self.heartbeat().await?;
                last_heartbeat = Instant::now();
            }
            if self.member.is_some() && last_commit.elapsed() >= COMMIT_INTERVAL {
                self.commit().await?;
                last_commit = Instant::now();
            }
            let wait = timeout
                .map_or(Duration::from_millis(500), |t| {
                    t.saturating_sub(last_message.elapsed())
                })
                .min(Duration::from_millis(500));
            let wait_ms = (wait.as_millis() as i32 / self.positions.len().max(1) as i32).max(10);
            if self.positions.is_empty() {
                tokio::time::sleep(wait).await;
            }
            let partitions: Vec<(i32, i64)> =
                self.positions.iter().map(|(p, o)| (*p, *o)).collect();
            for (partition, offset) in partitions {
                let leader = self.client.leader(self.info, partition).await?;
                let result = tokio::select! {
                    r = fetch(&leader, &self.info.name, partition, offset, wait_ms, FETCH_MAX_BYTES) => r?,
                    _ = tokio::signal::ctrl_c() => return Ok(count),
                };
                let mut out = Vec::new();
                let mut next = result.next_offset.max(offset);
                for r in &result.records {
                    if max.is_some_and(|m| count >= m) {
                        next = r.offset;
                        break;
                    }
                    formatter.format(partition, r, &mut out);
                    count += 1;
                    next = r.offset + 1;
                }
                if !result.records.is_empty() {
                    last_message = Instant::now();
                }
                self.positions.insert(partition, next);
                let mut lock = stdout.lock();
                lock.write_all(&out)?;
                lock.flush()?;
            }
        }
        Ok(count)
    }

    /// A heartbeat; on a rebalance, rejoin and take the new assignment.
    async fn heartbeat(&mut self) -> anyhow::Result<()> {
        let Some(member) = self.member.as_mut() else {
            return Ok(());
        };
        if !member.heartbeat().await? {
            self.commit().await?;
            let Some(mut member) = self.member.take() else {
                return Ok(());
            };
            member.rejoin(self.client).await?;
            self.adopt(member).await?;
        }
        Ok(())
    }

    async fn commit(&self) -> anyhow::Result<()> {
        let Some(member) = &self.member else {
            return Ok(());
        };
        let offsets: Offsets = self
            .positions
            .iter()
            .map(|(p, o)| ((self.info.name.clone(), *p), *o))
            .collect();
        member.commit(&offsets).await?;
        Ok(())
    }

    async fn close(mut self) {
        if let Err(e) = self.commit().await {
            eprintln!("ferry: committing offsets on exit: {e}");
        }
        if let Some(member) = self.member.take() {
            let _ = member.leave().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: Option<&'static [u8]>) -> ConsumerRecord {
        ConsumerRecord {
            offset: 7,
            timestamp: 1234,
            log_append_time: false,
            key: key.map(bytes::Bytes::from_static),
            value: Some(bytes::Bytes::from_static(b"v")),
            headers: Vec::new(),
        }
    }

    fn formatted(props: &[&str], r: &ConsumerRecord) -> String {
        let props: Vec<String> = props.iter().map(|p| p.to_string()).collect();
        let f = Formatter::from(&properties(&props, false).unwrap()).unwrap();
        let mut out = Vec::new();
        f.format(3, r, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_as_kafkas_default_message_formatter() {
        assert_eq!(formatted(&[], &record(Some(b"k"))), "v\n");
        let all = [
            "print.key=true",
            "print.timestamp=true",
            "print.partition=true",
            "print.offset=true",
        ];
        assert_eq!(
            formatted(&all, &record(Some(b"k"))),
            "CreateTime:1234\tPartition:3\tOffset:7\tk\tv\n"
        );
        assert_eq!(
            formatted(&["print.key=true", "key.separator=:"], &record(None)),
            "null:v\n"
        );
        assert!(Formatter::from(&properties(&["print.key=maybe".into()], false).unwrap()).is_err());
    }
}
