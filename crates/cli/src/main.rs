//! `ferry`: one binary for the keeper, the broker, standalone mode and the operator's tools.

mod broker_cmd;
mod children;
mod cluster_cmd;
mod cluster_layout;
mod container_cmd;
mod container_env;
mod daemon;
mod keeper_cmd;
mod keeper_ensemble;
mod local_keeper;
mod node_config;
mod server_cmd;
mod standalone_cmd;
mod tools;
mod zk_cli;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: a keeper holding millions of small znodes alongside
/// short-lived request buffers on many threads fragments glibc's per-thread arenas badly
/// (measured: about twice the resident memory for the same tree). Built without its
/// transparent-huge-page requests (`no_thp`): on a machine whose THP setting is `madvise`,
/// faulting in 2 MiB pages as a load began stalled a three-broker cluster for 200-300 ms, the
/// whole p99 of a 50,000 records/s end-to-end run (2.4-2.6 ms without).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "ferry", version, about = "ZooKeeper + Kafka, rebuilt in Rust")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The ZooKeeper-compatible coordination service.
    Keeper(keeper_cmd::KeeperArgs),
    /// The Kafka-compatible broker (kafka-server-start.sh).
    Broker(broker_cmd::BrokerArgs),
    /// A keeper and a broker in one process, zero configuration (ports 2181 and 9092).
    Standalone(standalone_cmd::StandaloneArgs),
    /// One node of a combined cluster: a keeper (ensemble member) and a broker in one
    /// process, from zoo.cfg + server.properties or one file holding both.
    Server(server_cmd::ServerArgs),
    /// The container image's entrypoint: a role configured from ZOO_*, KAFKA_* and FERRY_*
    /// environment variables, and the image's health check.
    Container(container_cmd::ContainerArgs),
    /// A local cluster of keepers and replicated brokers, each a child process, with their
    /// ordinary zoo.cfg and server.properties written under --dir.
    Cluster(cluster_cmd::ClusterArgs),
    /// A ZooKeeper shell with zkCli.sh's commands and flags (`-server host:port [command]`).
    #[command(name = "zk-cli", disable_help_flag = true)]
    ZkCli {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Create, list, describe, alter and delete topics (kafka-topics.sh).
    Topics(tools::topics::TopicsArgs),
    /// Records from stdin lines to a topic (kafka-console-producer.sh).
    #[command(name = "console-producer")]
    ConsoleProducer(tools::console_producer::ConsoleProducerArgs),
    /// A topic's records to stdout (kafka-console-consumer.sh).
    #[command(name = "console-consumer")]
    ConsoleConsumer(tools::console_consumer::ConsoleConsumerArgs),
    /// Producer and consumer throughput tests (kafka-*-perf-test.sh).
    #[command(subcommand)]
    Perf(tools::perf::PerfCommand),
    /// Print the batches, records and index entries of segment files (kafka-dump-log.sh).
    #[command(name = "dump-log")]
    DumpLog(tools::dump_log::DumpLogArgs),
    /// Describe and alter topic and broker configs (kafka-configs.sh).
    Configs(tools::configs::ConfigsArgs),
    /// List, describe, reset offsets of and delete consumer groups (kafka-consumer-groups.sh).
    #[command(name = "consumer-groups")]
    ConsumerGroups(tools::consumer_groups::ConsumerGroupsArgs),
    /// Move partitions between brokers (kafka-reassign-partitions.sh).
    #[command(name = "reassign-partitions")]
    ReassignPartitions(tools::reassign_partitions::ReassignArgs),
    /// Elect partitions' preferred (or, unclean, any live) leaders (kafka-leader-election.sh).
    #[command(name = "leader-election")]
    LeaderElection(tools::leader_election::LeaderElectionArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keeper(args) => keeper_cmd::run(args),
        Command::Broker(args) => broker_cmd::run(args),
        Command::Standalone(args) => standalone_cmd::run(args),
        Command::Server(args) => server_cmd::run(args),
        Command::Container(args) => container_cmd::run(args),
        Command::Cluster(args) => cluster_cmd::run(args),
        Command::ZkCli { args } => zk_cli::run(args),
        Command::Topics(args) => tools::topics::run(args),
        Command::ConsoleProducer(args) => tools::console_producer::run(args),
        Command::ConsoleConsumer(args) => tools::console_consumer::run(args),
        Command::Perf(command) => tools::perf::run(command),
        Command::DumpLog(args) => tools::dump_log::run(args),
        Command::Configs(args) => tools::configs::run(args),
        Command::ConsumerGroups(args) => tools::consumer_groups::run(args),
        Command::ReassignPartitions(args) => tools::reassign_partitions::run(args),
        Command::LeaderElection(args) => tools::leader_election::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("ferry: {}", error_chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by ": ", leaving out a cause whose text the message already
/// carries (many errors name their cause in their own message and also keep it as `source`).
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}
