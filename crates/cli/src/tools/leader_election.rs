//! `ferry leader-election`: kafka-leader-election.sh (Kafka 2.8). Sends ElectLeaders to the
//! controller (found from Metadata's controller id, as Kafka's admin client does in ZooKeeper
//! mode) for one partition, the partitions of a JSON file, or every partition, and prints
//! the outcome in the script's words. A partition whose leader already is the one the
//! election would choose is "Valid replica already elected" (ELECTION_NOT_NEEDED); on an
//! all-partitions election the controller leaves those out.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use ferry_kafka_client::Client;
use ferry_kafka_protocol::messages::elect_leaders::ElectLeadersTopicPartitions;
use ferry_kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse};
use ferry_kafka_protocol::ErrorCode;
use serde::Deserialize;

use super::common::{run_async, Bootstrap};
use super::reassign_json::{refuse_duplicates, TopicPartition};

/// How often a NOT_CONTROLLER answer (the controller moved) is retried, after a pause.
const CONTROLLER_ATTEMPTS: usize = 5;
const CONTROLLER_RETRY_PAUSE: Duration = Duration::from_millis(500);

#[derive(Args, Debug)]
pub struct LeaderElectionArgs {
    #[command(flatten)]
    bootstrap: Bootstrap,
    /// preferred: the first replica, where it is in the ISR and not the leader already;
    /// unclean: any live replica, for partitions without a leader.
    #[arg(long = "election-type", value_enum, ignore_case = true)]
    election_type: Option<ElectionType>,
    /// Every partition of the cluster.
    #[arg(long = "all-topic-partitions")]
    all_topic_partitions: bool,
    /// One topic (with --partition).
    #[arg(long)]
    topic: Option<String>,
    /// The partition of --topic.
    #[arg(long)]
    partition: Option<i32>,
    /// {"partitions":[{"topic":"foo","partition":1},{"topic":"foobar","partition":2}]}
    #[arg(long = "path-to-json-file", value_name = "FILE")]
    path_to_json_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ElectionType {
    Preferred,
    Unclean,
}

impl ElectionType {
    fn code(self) -> i8 {
        match self {
            ElectionType::Preferred => 0,
            ElectionType::Unclean => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ElectionType::Preferred => "PREFERRED",
            ElectionType::Unclean => "UNCLEAN",
        }
    }
}

#[derive(Deserialize)]
struct ElectionFile {
    partitions: Option<Vec<TopicPartition>>,
}

/// The script's checks, in its order and words.
fn validate(args: &LeaderElectionArgs) -> anyhow::Result<ElectionType> {
    let mut missing = Vec::new();
    if args.election_type.is_none() {
        missing.push("election-type");
    }
    if args.bootstrap.bootstrap_server.is_none() {
        missing.push("bootstrap-server");
    }
    if !missing.is_empty() {
        bail!("Missing required option(s): {}", missing.join(", "));
    }
    let chosen = [
        args.topic.is_some(),
        args.all_topic_partitions,
        args.path_to_json_file.is_some(),
    ];
    if chosen.iter().filter(|on| **on).count() != 1 {
        bail!("One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file");
    }
    match (args.topic.is_some(), args.partition.is_some()) {
        (true, false) => bail!("Missing required option(s): partition"),
        (false, true) => bail!("Option partition is only allowed if topic is used"),
        _ => {}
    }
    Ok(args.election_type.unwrap_or(ElectionType::Preferred))
}

/// The partitions asked for; `None`: every partition.
fn partitions(args: &LeaderElectionArgs) -> anyhow::Result<Option<Vec<TopicPartition>>> {
    if let (Some(topic), Some(partition)) = (&args.topic, args.partition) {
        let tp = TopicPartition {
            topic: topic.clone(),
            partition,
        };
        return Ok(Some(vec![tp]));
    }
    let Some(path) = &args.path_to_json_file else {
        return Ok(None);
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_election_file(&text).map(Some)
}

fn parse_election_file(text: &str) -> anyhow::Result<Vec<TopicPartition>> {
    if text.trim().is_empty() {
        bail!("Replica election data is empty");
    }
    let file: ElectionFile = serde_json::from_str(text).context("invalid replica election JSON")?;
    let Some(partitions) = file.partitions else {
        bail!("Replica election data is missing \"partitions\" field");
    };
    refuse_duplicates(
        &partitions,
        "Replica election data contains duplicate partitions",
    )?;
    Ok(partitions)
}

fn request(
    election: ElectionType,
    partitions: Option<&[TopicPartition]>,
    timeout: Duration,
) -> ElectLeadersRequest {
    let topic_partitions = partitions.map(|parts| {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in parts {
            by_topic.entry(&tp.topic).or_default().push(tp.partition);
        }
        by_topic
            .into_iter()
            .map(|(topic, partition_id)| ElectLeadersTopicPartitions {
                topic: topic.to_string(),
                partition_id,
                ..Default::default()
            })
            .collect()
    });
    ElectLeadersRequest {
        election_type: election.code(),
        topic_partitions,
        timeout_ms: i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX),
        ..Default::default()
    }
}

/// Sends the election to the controller, finding it again when it has moved.
async fn elect(
    client: &Client,
    request: ElectLeadersRequest,
) -> anyhow::Result<ElectLeadersResponse> {
    for _ in 0..CONTROLLER_ATTEMPTS {
        let controller = client.controller().await?;
        let response = controller.call(request.clone()).await?;
        if response.error_code != ErrorCode::NotController.code() {
            ferry_kafka_client::check(response.error_code, "leader election", None)?;
            return Ok(response);
        }
        tokio::time::sleep(CONTROLLER_RETRY_PAUSE).await;
    }
    bail!("the controller kept moving: NOT_CONTROLLER {CONTROLLER_ATTEMPTS} times")
}

/// The outcomes sorted into the script's three kinds.
#[derive(Default)]
struct Outcome {
    succeeded: Vec<TopicPartition>,
    not_needed: Vec<TopicPartition>,
    failed: Vec<(TopicPartition, String)>,
}

fn sort_out(response: ElectLeadersResponse) -> Outcome {
    let mut outcome = Outcome::default();
    for topic in response.replica_election_results {
        for p in topic.partition_result {
            let tp = TopicPartition {
                topic: topic.topic.clone(),
                partition: p.partition_id,
            };
            if p.error_code == ErrorCode::None.code() {
                outcome.succeeded.push(tp);
            } else if p.error_code == ErrorCode::ElectionNotNeeded.code() {
                outcome.not_needed.push(tp);
            } else {
                outcome
                    .failed
                    .push((tp, java_exception(p.error_code, p.error_message)));
            }
        }
    }
    outcome.succeeded.sort();
    outcome.not_needed.sort();
    outcome.failed.sort();
    outcome
}

/// How the script prints a failed partition's error: the Java exception Kafka maps the
/// code to (`PREFERRED_LEADER_NOT_AVAILABLE` is `...PreferredLeaderNotAvailableException`),
/// with the broker's message.
fn java_exception(code: i16, message: Option<String>) -> String {
    let name = ErrorCode::from_code(code).map_or_else(
        || format!("Unknown{code}"),
        |e| {
            e.name()
                .split('_')
                .map(|word| {
                    let lower = word.to_ascii_lowercase();
                    let mut chars = lower.chars();
                    chars.next().map_or_else(String::new, |first| {
                        first.to_ascii_uppercase().to_string() + chars.as_str()
                    })
                })
                .collect()
        },
    );
    let class = format!("org.apache.kafka.common.errors.{name}Exception");
    match message.filter(|m| !m.is_empty()) {
        Some(message) => format!("{class}: {message}"),
        None => class,
    }
}

fn comma_list(parts: &[TopicPartition]) -> String {
    parts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(args: LeaderElectionArgs) -> anyhow::Result<ExitCode> {
    let election = validate(&args)?;
    let partitions = partitions(&args)?;
    run_async(async move {
        let client = args.bootstrap.connect("leader-election-tool").await?;
        let timeout = Duration::from_secs(args.bootstrap.timeout_s.max(1));
        let response = elect(&client, request(election, partitions.as_deref(), timeout)).await?;
        let mut outcome = sort_out(response);
        if partitions.is_none() {
            // Kafka's controller leaves these out of an all-partitions answer (KafkaApis'
            // handleElectReplicaLeader); dropped here too, so that the output is the script's
            // whichever way a broker answers.
            outcome.not_needed.clear();
        }
        let kind = election.name();
        if !outcome.succeeded.is_empty() {
            println!(
                "Successfully completed leader election ({kind}) for partitions {}",
                comma_list(&outcome.succeeded)
            );
        }
        if !outcome.not_needed.is_empty() {
            println!(
                "Valid replica already elected for partitions {}",
                comma_list(&outcome.not_needed)
            );
        }
        for (tp, error) in &outcome.failed {
            println!("Error completing leader election ({kind}) for partition: {tp}: {error}");
        }
        if !outcome.failed.is_empty() {
            bail!("{} replica(s) could not be elected", outcome.failed.len());
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_kafka_protocol::messages::elect_leaders::{
        ElectLeadersPartitionResult, ReplicaElectionResult,
    };

    #[test]
    fn json_files_as_the_script_reads_them() {
        let parts =
            parse_election_file(r#"{"partitions":[{"topic":"foo","partition":1}]}"#).unwrap();
        assert_eq!(parts[0].to_string(), "foo-1");
        assert_eq!(
            parse_election_file("{}").unwrap_err().to_string(),
            "Replica election data is missing \"partitions\" field"
        );
        let twice = r#"{"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":0}]}"#;
        assert_eq!(
            parse_election_file(twice).unwrap_err().to_string(),
            "Replica election data contains duplicate partitions: t-0"
        );
    }

    #[test]
    fn requests_group_partitions_by_topic() {
        let tp = |topic: &str, partition| TopicPartition {
            topic: topic.into(),
            partition,
        };
        let parts = [tp("b", 1), tp("a", 0), tp("b", 0)];
        let r = request(ElectionType::Unclean, Some(&parts), Duration::from_secs(30));
        let topics = r.topic_partitions.unwrap();
        assert_eq!((r.election_type, r.timeout_ms), (1, 30000));
        assert_eq!(topics[1].topic, "b");
        assert_eq!(topics[1].partition_id, vec![1, 0]);
        let all = request(ElectionType::Preferred, None, Duration::from_secs(1));
        assert_eq!(all.topic_partitions, None);
    }

    #[test]
    fn outcomes_and_errors_in_the_scripts_words() {
        let result = |partition_id, error_code: ErrorCode, message: Option<&str>| {
            ElectLeadersPartitionResult {
                partition_id,
                error_code: error_code.code(),
                error_message: message.map(str::to_string),
                ..Default::default()
            }
        };
        let response = ElectLeadersResponse {
            replica_election_results: vec![ReplicaElectionResult {
                topic: "t".into(),
                partition_result: vec![
                    result(1, ErrorCode::None, None),
                    result(0, ErrorCode::ElectionNotNeeded, None),
                    result(2, ErrorCode::PreferredLeaderNotAvailable, Some("no")),
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        let outcome = sort_out(response);
        assert_eq!(comma_list(&outcome.succeeded), "t-1");
        assert_eq!(comma_list(&outcome.not_needed), "t-0");
        assert_eq!(
            outcome.failed[0].1,
            "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: no"
        );
    }
}
