//! `ferry reassign-partitions`: kafka-reassign-partitions.sh (Kafka 2.x) with its JSON files
//! and messages. `--generate` proposes an assignment of the given topics over the given
//! brokers (through a broker's Metadata or ZooKeeper); `--execute` and `--verify` work through
//! the controller's reassignment APIs with `--bootstrap-server` (`reassign_api`, where
//! `--cancel` and `--list` are too) or on ZooKeeper's `/admin/reassign_partitions` with
//! `--zookeeper`, as Kafka 2.x's older form did (`reassign_zk`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;

use super::common::{run_async, Bootstrap};
use super::reassign_json::{
    format_reassignment, parse_broker_list, parse_reassignment, parse_topics, Assignment,
    TopicPartition,
};
use super::{reassign_api, reassign_zk, topics_zk};

#[derive(Args, Debug)]
pub struct ReassignArgs {
    /// The Kafka server(s) to connect to, host:port[,...].
    #[arg(long = "bootstrap-server", value_name = "HOST:PORT")]
    bootstrap_server: Option<String>,
    /// ZooKeeper connect string host:port[,...][/chroot], as the brokers' zookeeper.connect.
    #[arg(long)]
    zookeeper: Option<String>,
    /// Propose an assignment of --topics-to-move-json-file's topics over --broker-list (only
    /// prints it).
    #[arg(long)]
    generate: bool,
    /// Start the reassignment of --reassignment-json-file.
    #[arg(long)]
    execute: bool,
    /// Whether the reassignment of --reassignment-json-file is done; once none is pending,
    /// clears reassignment throttles.
    #[arg(long)]
    verify: bool,
    /// Cancel the reassignment of --reassignment-json-file's partitions (with
    /// --bootstrap-server): they go back to the replicas they had.
    #[arg(long)]
    cancel: bool,
    /// List the reassignments in progress (with --bootstrap-server).
    #[arg(long)]
    list: bool,
    /// {"topics":[{"topic":"foo"}],"version":1}
    #[arg(long = "topics-to-move-json-file", value_name = "FILE")]
    topics_to_move_json_file: Option<PathBuf>,
    /// The brokers to move the partitions to, "1,2,3" (for --generate).
    #[arg(long = "broker-list", value_name = "IDS")]
    broker_list: Option<String>,
    /// {"version":1,"partitions":[{"topic":"foo","partition":1,"replicas":[1,2,3]}]}
    #[arg(long = "reassignment-json-file", value_name = "FILE")]
    reassignment_json_file: Option<PathBuf>,
    /// Accepted for scripts written for Kafka; proposals are rack-unaware anyway.
    #[arg(long = "disable-rack-aware")]
    disable_rack_aware: bool,
    /// Seconds to wait for a connection and for each response.
    #[arg(long = "request-timeout-s", default_value_t = 30, value_name = "S")]
    timeout_s: u64,
}

enum Action {
    Generate,
    Execute,
    Verify,
    Cancel,
    List,
}

impl ReassignArgs {
    fn action(&self) -> anyhow::Result<Action> {
        let chosen = [
            (self.generate, Action::Generate),
            (self.execute, Action::Execute),
            (self.verify, Action::Verify),
            (self.cancel, Action::Cancel),
            (self.list, Action::List),
        ];
        let mut actions = chosen.into_iter().filter(|(on, _)| *on).map(|(_, a)| a);
        match (actions.next(), actions.next()) {
            (Some(action), None) => Ok(action),
            _ => bail!(
                "Command must include exactly one action: --generate, --execute, --verify, --cancel, or --list"
            ),
        }
    }

    fn bootstrap(&self) -> Bootstrap {
        Bootstrap {
            bootstrap_server: self.bootstrap_server.clone(),
            timeout_s: self.timeout_s,
        }
    }
}

fn required<'a, T>(value: &'a Option<T>, flag: &str) -> anyhow::Result<&'a T> {
    value
        .as_ref()
        .with_context(|| format!("Missing required argument \"[{flag}]\""))
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(args: ReassignArgs) -> anyhow::Result<ExitCode> {
    let action = args.action()?;
    if args.zookeeper.is_none() && args.bootstrap_server.is_none() {
        bail!("Please specify --bootstrap-server");
    }
    run_async(async move {
        match action {
            Action::Generate => generate(&args).await?,
            Action::List => {
                let client = api_client(&args, "--list").await?;
                reassign_api::list(&client).await?;
            }
            Action::Execute | Action::Verify | Action::Cancel => {
                let targets = parse_reassignment(&read(required(
                    &args.reassignment_json_file,
                    "reassignment-json-file",
                )?)?)?;
                if args.bootstrap_server.is_some() {
                    let client = args.bootstrap().connect("reassign-partitions-tool").await?;
                    match action {
                        Action::Execute => reassign_api::execute(&client, &targets).await?,
                        Action::Verify => reassign_api::verify(&client, &targets).await?,
                        _ => reassign_api::cancel(&client, &targets).await?,
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                if matches!(action, Action::Cancel) {
                    bail!("--cancel needs --bootstrap-server");
                }
                let connect = args.zookeeper.clone().unwrap_or_default();
                let zk = topics_zk::connect_zk(&connect).await?;
                let result = match action {
                    Action::Execute => reassign_zk::execute(&zk, &targets).await,
                    _ => reassign_zk::verify(&zk, &targets).await,
                };
                zk.close().await;
                result?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// A client of the cluster, for the actions only the controller's APIs carry out.
async fn api_client(
    args: &ReassignArgs,
    action: &str,
) -> anyhow::Result<ferry_kafka_client::Client> {
    if args.bootstrap_server.is_none() {
        bail!("{action} needs --bootstrap-server");
    }
    args.bootstrap().connect("reassign-partitions-tool").await
}

/// What `--generate` needs of the cluster: the current replicas of the topics' partitions and
/// the brokers registered now. Through a broker when --bootstrap-server is given (as Kafka
/// prefers it), else through ZooKeeper.
async fn cluster_view(
    args: &ReassignArgs,
    topics: &[String],
) -> anyhow::Result<(Assignment, Vec<i32>)> {
    if args.bootstrap_server.is_some() {
        let client = args.bootstrap().connect("reassign-partitions-tool").await?;
        return reassign_api::cluster_view(&client, topics).await;
    }
    let connect = args.zookeeper.clone().unwrap_or_default();
    let zk = topics_zk::connect_zk(&connect).await?;
    let view = async {
        let current = reassign_zk::current_assignment(&zk, topics).await?;
        Ok::<_, anyhow::Error>((current, zk.broker_ids().await?))
    }
    .await;
    zk.close().await;
    view
}

async fn generate(args: &ReassignArgs) -> anyhow::Result<()> {
    let topics_file = required(&args.topics_to_move_json_file, "topics-to-move-json-file")?;
    let broker_list = required(&args.broker_list, "broker-list")?;
    let brokers = parse_broker_list(broker_list)?;
    let topics = parse_topics(&read(topics_file)?)?;
    let (current, live) = cluster_view(args, &topics).await?;
    // As Kafka: brokers of the list that are not registered are left out.
    let mut targets: Vec<i32> = brokers.into_iter().filter(|b| live.contains(b)).collect();
    targets.sort_unstable();
    let proposed = propose(&current, &targets)?;
    println!(
        "Current partition replica assignment\n{}\n",
        format_reassignment(&current)
    );
    println!(
        "Proposed partition reassignment configuration\n{}",
        format_reassignment(&proposed)
    );
    Ok(())
}

/// Each topic's partitions placed anew over `brokers`, with the topic's replication factor.
fn propose(current: &Assignment, brokers: &[i32]) -> anyhow::Result<Assignment> {
    let mut proposed = Assignment::new();
    let mut topics: Vec<&str> = current.keys().map(|tp| tp.topic.as_str()).collect();
    topics.dedup();
    for topic in topics {
        let partitions: Vec<&Vec<i32>> = current
            .iter()
            .filter(|(tp, _)| tp.topic == topic)
            .map(|(_, r)| r)
            .collect();
        let rf = partitions.first().map_or(0, |r| r.len()) as i16;
        let placed = topics_zk::assign_replicas(brokers, partitions.len() as i32, rf, 0)?;
        for (partition, replicas) in placed {
            let tp = TopicPartition {
                topic: topic.to_string(),
                partition,
            };
            proposed.insert(tp, replicas);
        }
    }
    Ok(proposed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proposal_keeps_each_topics_partitions_and_replication_factor() {
        let tp = |topic: &str, partition| TopicPartition {
            topic: topic.to_string(),
            partition,
        };
        let current: Assignment = [
            (tp("a", 0), vec![1]),
            (tp("a", 1), vec![1]),
            (tp("b", 0), vec![1, 2]),
        ]
        .into_iter()
        .collect();
        let proposed = propose(&current, &[2, 3]).unwrap();
        assert_eq!(proposed[&tp("a", 0)], vec![2]);
        assert_eq!(proposed[&tp("a", 1)], vec![3]);
        assert_eq!(proposed[&tp("b", 0)], vec![2, 3]);
        assert!(propose(&current, &[3]).is_err(), "b needs two brokers");
    }
}
