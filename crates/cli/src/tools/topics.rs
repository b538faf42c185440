//! `ferry topics`: kafka-topics.sh. Through a broker (`--bootstrap-server`) or, as Kafka 2.x
//! allowed, directly on ZooKeeper (`--zookeeper`, see `topics_zk`).

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use ferry_kafka_client::{Client, ClientError, NewTopic, ResourceType, TopicInfo};
use ferry_kafka_protocol::ErrorCode;

use super::common::{join_ids, properties, run_async, topic_id, Bootstrap};
use super::topics_filter::PartitionFilter;
use super::topics_zk;

#[derive(Args, Debug)]
pub struct TopicsArgs {
    #[command(flatten)]
    pub bootstrap: Bootstrap,
    /// ZooKeeper connect string host:port[/chroot] (Kafka 2.x's form).
    #[arg(long)]
    pub zookeeper: Option<String>,
    #[arg(long)]
    pub create: bool,
    #[arg(long)]
    pub list: bool,
    #[arg(long)]
    pub describe: bool,
    #[arg(long)]
    pub alter: bool,
    #[arg(long)]
    pub delete: bool,
    #[arg(long)]
    pub topic: Option<String>,
    #[arg(long)]
    pub partitions: Option<i32>,
    #[arg(long = "replication-factor")]
    pub replication_factor: Option<i16>,
    /// A topic config override key=value (repeatable).
    #[arg(long = "config")]
    pub config: Vec<String>,
    #[arg(long = "if-not-exists")]
    pub if_not_exists: bool,
    #[arg(long = "if-exists")]
    pub if_exists: bool,
    /// With --describe: only the partitions whose ISR is smaller than their replica list.
    #[arg(long = "under-replicated-partitions")]
    pub under_replicated_partitions: bool,
    /// With --describe: only the partitions without a leader or whose leader is not a live
    /// broker.
    #[arg(long = "unavailable-partitions")]
    pub unavailable_partitions: bool,
}

/// The one action asked for.
pub enum Action {
    Create,
    List,
    Describe,
    Alter,
    Delete,
}

impl Action {
    /// The flag that asks for this action.
    pub fn flag(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::List => "list",
            Action::Describe => "describe",
            Action::Alter => "alter",
            Action::Delete => "delete",
        }
    }
}

impl TopicsArgs {
    pub fn action(&self) -> anyhow::Result<Action> {
        let mut chosen: Vec<Action> = [
            (self.create, Action::Create),
            (self.list, Action::List),
            (self.describe, Action::Describe),
            (self.alter, Action::Alter),
            (self.delete, Action::Delete),
        ]
        .into_iter()
        .filter_map(|(on, a)| on.then_some(a))
        .collect();
        match (chosen.pop(), chosen.is_empty()) {
            (Some(action), true) => Ok(action),
            _ => bail!(
                "Command must include exactly one action: --list, --describe, --create, --alter or --delete"
            ),
        }
    }

    pub fn required_topic(&self) -> anyhow::Result<&str> {
        match &self.topic {
            Some(t) => Ok(t),
            None => bail!("Missing required argument \"[topic]\""),
        }
    }
}

pub fn run(args: TopicsArgs) -> anyhow::Result<ExitCode> {
    let action = args.action()?;
    let filter = PartitionFilter::of(&args, &action)?;
    if args.zookeeper.is_some() {
        return run_async(topics_zk::run(args, action, filter));
    }
    if args.bootstrap.bootstrap_server.is_none() {
        bail!("Missing required argument: one of --bootstrap-server or --zookeeper");
    }
    run_async(run_bootstrap(args, action, filter))
}

async fn run_bootstrap(
    args: TopicsArgs,
    action: Action,
    filter: PartitionFilter,
) -> anyhow::Result<ExitCode> {
    let client = args.bootstrap.connect("ferry-topics").await?;
    match action {
        Action::Create => {
            let topic = args.required_topic()?;
            let new = NewTopic {
                name: topic.to_string(),
                partitions: args.partitions.unwrap_or(-1),
                replication_factor: args.replication_factor.unwrap_or(-1),
                configs: properties(&args.config, false)?,
            };
            match client.create_topics(&[new], false).await {
                Ok(()) => println!("Created topic {topic}."),
                Err(e) if args.if_not_exists && e.code() == Some(ErrorCode::TopicAlreadyExists) => {
                }
                Err(e) => return Err(e.into()),
            }
        }
        Action::List => {
            for t in client.topics(None).await? {
                if args.topic.as_ref().is_none_or(|f| f == &t.name) {
                    println!("{}", t.name);
                }
            }
        }
        Action::Describe => {
            let topics = match &args.topic {
                Some(t) => describe_one(&client, t, args.if_exists).await?,
                None => client.topics(None).await?,
            };
            let live = live_brokers(&client).await?;
            for t in &topics {
                print_describe(&client, t, filter, &live).await?;
            }
        }
        Action::Alter => {
            let topic = args.required_topic()?;
            let Some(partitions) = args.partitions else {
                bail!("--alter needs --partitions");
            };
            describe_one(&client, topic, false).await?;
            client.create_partitions(topic, partitions).await?;
            println!("Adding partitions succeeded!");
        }
        Action::Delete => {
            let topic = args.required_topic()?;
            if describe_one(&client, topic, args.if_exists)
                .await?
                .is_empty()
            {
                return Ok(ExitCode::SUCCESS);
            }
            client.delete_topics(&[topic.to_string()]).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The topic's metadata; an unknown topic is Kafka's error unless `if_exists`.
async fn describe_one(
    client: &Client,
    topic: &str,
    if_exists: bool,
) -> anyhow::Result<Vec<TopicInfo>> {
    match client.topics(Some(&[topic.to_string()])).await {
        Ok(t) => Ok(t),
        Err(e) if e.code() == Some(ErrorCode::UnknownTopicOrPartition) => {
            if if_exists {
                Ok(Vec::new())
            } else {
                bail!("Topic '{topic}' does not exist as expected")
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The brokers Metadata lists (those registered now), for `--unavailable-partitions`.
async fn live_brokers(client: &Client) -> anyhow::Result<Vec<i32>> {
    let metadata = client.metadata(Some(&[]), false).await?;
    Ok(metadata.brokers.iter().map(|b| b.node_id).collect())
}

/// Kafka's describe lines, the partitions `filter` keeps. Configs are those not at their
/// default (topic overrides and the broker's static settings, as Kafka's tool lists them);
/// empty if the broker cannot describe configs.
async fn print_describe(
    client: &Client,
    t: &TopicInfo,
    filter: PartitionFilter,
    live: &[i32],
) -> anyhow::Result<()> {
    if filter.describes_topics() {
        print_topic_line(client, t).await?;
    }
    for p in &t.partitions {
        if filter.shows(p.leader, &p.replicas, &p.isr, live) {
            print_partition(&t.name, p.partition, p.leader, &p.replicas, &p.isr);
        }
    }
    Ok(())
}

async fn print_topic_line(client: &Client, t: &TopicInfo) -> anyhow::Result<()> {
    let configs = match client.describe_configs(ResourceType::Topic, &t.name).await {
        Ok(all) => all
            .into_iter()
            .filter(|c| !c.is_default)
            .filter_map(|c| c.value.map(|v| format!("{}={v}", c.name)))
            .collect::<Vec<_>>()
            .join(","),
        Err(ClientError::Unsupported { .. }) => String::new(),
        Err(e) => return Err(e.into()),
    };
    let rf = t.partitions.first().map_or(0, |p| p.replicas.len());
    print_topic(
        &t.name,
        &topic_id(&t.topic_id),
        t.partitions.len(),
        rf,
        &configs,
    );
    Ok(())
}

pub fn print_topic(name: &str, id: &str, partitions: usize, rf: usize, configs: &str) {
    println!(
        "Topic: {name}\tTopicId: {id}\tPartitionCount: {partitions}\tReplicationFactor: {rf}\tConfigs: {configs}"
    );
}

pub fn print_partition(name: &str, partition: i32, leader: i32, replicas: &[i32], isr: &[i32]) {
    let leader = if leader < 0 {
        "none".to_string()
    } else {
        leader.to_string()
    };
    println!(
        "\tTopic: {name}\tPartition: {partition}\tLeader: {leader}\tReplicas: {}\tIsr: {}",
        join_ids(replicas),
        join_ids(isr)
    );
}
