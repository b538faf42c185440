//! The JSON files of kafka-reassign-partitions.sh (Kafka 2.x), read and written as Kafka does
//! so that files move between the two tools: the topics to move
//! (`{"topics":[{"topic":"foo"}],"version":1}`) and a reassignment
//! (`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3],
//! "log_dirs":["any","any","any"]}]}`, `log_dirs` optional). The checks and their messages
//! are `ReassignPartitionsCommand`'s.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// `log_dirs` entry that leaves the directory to the broker.
const ANY_LOG_DIR: &str = "any";

/// A topic partition, printed `topic-partition` as Kafka's `TopicPartition` is; ordered by
/// topic, then partition (Kafka's `compareTopicPartitions`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Partitions and their replicas, in Kafka's order.
pub type Assignment = BTreeMap<TopicPartition, Vec<i32>>;

#[derive(Deserialize)]
struct TopicsFile {
    version: Option<i32>,
    #[serde(default)]
    topics: Vec<TopicEntry>,
}

#[derive(Deserialize)]
struct TopicEntry {
    topic: String,
}

#[derive(Deserialize)]
struct ReassignmentFile {
    version: Option<i32>,
    #[serde(default)]
    partitions: Vec<PartitionIn>,
}

#[derive(Deserialize)]
struct PartitionIn {
    topic: String,
    partition: i32,
    replicas: Vec<i32>,
    log_dirs: Option<Vec<String>>,
}

#[derive(Serialize)]
struct ReassignmentOut<'a> {
    version: i32,
    partitions: Vec<PartitionOut<'a>>,
}

#[derive(Serialize)]
struct PartitionOut<'a> {
    topic: &'a str,
    partition: i32,
    replicas: &'a [i32],
    log_dirs: Vec<&'static str>,
}

fn check_version(version: Option<i32>) -> anyhow::Result<()> {
    match version.unwrap_or(1) {
        1 => Ok(()),
        other => bail!("Not supported version field value {other}"),
    }
}

/// Refuses `items` with an entry twice, as `message: a,b`.
pub fn refuse_duplicates<T: Ord + Clone + fmt::Display>(
    items: &[T],
    message: &str,
) -> anyhow::Result<()> {
    let repeated = duplicates(items);
    if !repeated.is_empty() {
        bail!("{message}: {}", joined(&repeated));
    }
    Ok(())
}

/// The entries of `items` that occur more than once, each once.
fn duplicates<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item.clone()).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(item, _)| item)
        .collect()
}

/// `items` joined by commas, as Kafka's messages list them.
fn joined<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `--topics-to-move-json-file`: the topics, refusing duplicates.
pub fn parse_topics(text: &str) -> anyhow::Result<Vec<String>> {
    let file: TopicsFile =
        serde_json::from_str(text).context("The input string is not a valid JSON")?;
    check_version(file.version)?;
    let topics: Vec<String> = file.topics.into_iter().map(|t| t.topic).collect();
    refuse_duplicates(
        &topics,
        "List of topics to reassign contains duplicate entries",
    )?;
    Ok(topics)
}

/// `--broker-list "1,2,3"`, refusing duplicates.
pub fn parse_broker_list(text: &str) -> anyhow::Result<Vec<i32>> {
    let brokers = text
        .split(',')
        .map(|id| {
            id.trim()
                .parse::<i32>()
                .with_context(|| format!("For input string: \"{id}\""))
        })
        .collect::<anyhow::Result<Vec<i32>>>()?;
    refuse_duplicates(&brokers, "Broker list contains duplicate entries")?;
    Ok(brokers)
}

/// `--reassignment-json-file`: the target replicas of each partition, with Kafka's checks
/// (not empty, no partition twice, no replica twice in a list, `log_dirs` as long as
/// `replicas`). `log_dirs` naming a directory (not "any") is refused: moving replicas between
/// a broker's log directories needs AlterReplicaLogDirs, which ferry's brokers do not serve.
pub fn parse_reassignment(text: &str) -> anyhow::Result<Assignment> {
    let file: ReassignmentFile = serde_json::from_str(text).context("invalid reassignment JSON")?;
    check_version(file.version)?;
    if file.partitions.is_empty() {
        bail!("Partition reassignment list cannot be empty");
    }
    if file.partitions.iter().any(|p| p.replicas.is_empty()) {
        bail!("Partition replica list cannot be empty");
    }
    let names: Vec<TopicPartition> = file
        .partitions
        .iter()
        .map(|p| TopicPartition {
            topic: p.topic.clone(),
            partition: p.partition,
        })
        .collect();
    refuse_duplicates(
        &names,
        "Partition reassignment contains duplicate topic partitions",
    )?;
    let mut repeated_replicas = Vec::new();
    for (name, p) in names.iter().zip(&file.partitions) {
        let repeated = duplicates(&p.replicas);
        if !repeated.is_empty() {
            repeated_replicas.push(format!(
                "{name} contains multiple entries for {}",
                joined(&repeated)
            ));
        }
        if let Some(dirs) = &p.log_dirs {
            if dirs.len() != p.replicas.len() {
                bail!(
                    "Size of replicas list {:?} is different from size of log dirs list {dirs:?} for partition {name}",
                    p.replicas
                );
            }
            if dirs.iter().any(|d| d != ANY_LOG_DIR) {
                bail!(
                    "bootstrap-server needs to be provided when replica reassignments are present."
                );
            }
        }
    }
    if !repeated_replicas.is_empty() {
        bail!(
            "Partition replica lists may not contain duplicate entries: {}",
            repeated_replicas.join(". ")
        );
    }
    Ok(names
        .into_iter()
        .zip(file.partitions)
        .map(|(name, p)| (name, p.replicas))
        .collect())
}

/// Kafka's `formatAsReassignmentJson`: compact, partitions in order, every log dir "any".
pub fn format_reassignment(assignment: &Assignment) -> String {
    let out = ReassignmentOut {
        version: 1,
        partitions: assignment
            .iter()
            .map(|(tp, replicas)| PartitionOut {
                topic: &tp.topic,
                partition: tp.partition,
                replicas,
                log_dirs: vec![ANY_LOG_DIR; replicas.len()],
            })
            .collect(),
    };
    serde_json::to_string(&out).unwrap_or_default()
}

/// Partitions as Kafka lists them in messages: `t-0,t-1`.
pub fn partition_list<'a>(parts: impl IntoIterator<Item = &'a TopicPartition>) -> String {
    parts
        .into_iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.to_string(),
            partition,
        }
    }

    #[test]
    fn reassignment_files_round_trip_in_kafkas_form() {
        let text = r#"{"version":1,"partitions":[{"topic":"t","partition":1,"replicas":[2,3]},
            {"topic":"a","partition":0,"replicas":[1],"log_dirs":["any"]}]}"#;
        let parsed = parse_reassignment(text).unwrap();
        assert_eq!(
            parsed.keys().cloned().collect::<Vec<_>>(),
            [tp("a", 0), tp("t", 1)]
        );
        assert_eq!(
            format_reassignment(&parsed),
            r#"{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1],"log_dirs":["any"]},{"topic":"t","partition":1,"replicas":[2,3],"log_dirs":["any","any"]}]}"#
        );
        assert_eq!(partition_list(parsed.keys()), "a-0,t-1");
    }

    #[test]
    fn kafkas_checks_and_messages() {
        let error = |text: &str| parse_reassignment(text).unwrap_err().to_string();
        assert_eq!(
            error(r#"{"partitions":[]}"#),
            "Partition reassignment list cannot be empty"
        );
        assert_eq!(
            error(r#"{"version":2,"partitions":[]}"#),
            "Not supported version field value 2"
        );
        let twice = r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1]},
            {"topic":"t","partition":0,"replicas":[2]}]}"#;
        assert_eq!(
            error(twice),
            "Partition reassignment contains duplicate topic partitions: t-0"
        );
        let replica_twice = r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]}"#;
        assert_eq!(
            error(replica_twice),
            "Partition replica lists may not contain duplicate entries: t-0 contains multiple entries for 1"
        );
        assert!(error(
            r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["/d"]}]}"#
        )
        .starts_with("bootstrap-server needs to be provided"));
    }

    #[test]
    fn topics_and_broker_lists() {
        let topics = parse_topics(r#"{"topics":[{"topic":"foo"},{"topic":"bar"}],"version":1}"#);
        assert_eq!(topics.unwrap(), ["foo", "bar"]);
        assert!(parse_topics(r#"{"topics":[{"topic":"x"},{"topic":"x"}]}"#).is_err());
        assert_eq!(parse_broker_list("1,2, 3").unwrap(), [1, 2, 3]);
        assert_eq!(
            parse_broker_list("1,1").unwrap_err().to_string(),
            "Broker list contains duplicate entries: 1"
        );
        assert!(parse_broker_list("1,x").is_err());
    }
}
