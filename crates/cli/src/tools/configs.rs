//! `ferry configs`: kafka-configs.sh for topics and brokers: `--describe` (the dynamic
//! overrides, or `--all`), `--alter --add-config k=v,k2=v2 --delete-config k`.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use ferry_kafka_client::{ConfigOp, ConfigValue, ResourceType};

use super::common::{properties, run_async, Bootstrap};

#[derive(Args, Debug)]
pub struct ConfigsArgs {
    #[command(flatten)]
    pub bootstrap: Bootstrap,
    /// topics or brokers.
    #[arg(long = "entity-type")]
    pub entity_type: Option<String>,
    #[arg(long = "entity-name")]
    pub entity_name: Option<String>,
    /// Shorthand for --entity-type topics --entity-name X.
    #[arg(long)]
    pub topic: Option<String>,
    /// Shorthand for --entity-type brokers --entity-name X.
    #[arg(long)]
    pub broker: Option<String>,
    #[arg(long)]
    pub describe: bool,
    /// With --describe: every config, not only the dynamic overrides.
    #[arg(long)]
    pub all: bool,
    #[arg(long)]
    pub alter: bool,
    /// k=v[,k2=v2...] to set.
    #[arg(long = "add-config")]
    pub add_config: Vec<String>,
    /// Keys to remove, comma-separated or repeated.
    #[arg(long = "delete-config", value_delimiter = ',')]
    pub delete_config: Vec<String>,
}

/// Kafka's `ConfigSource` names, for the synonyms column.
fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        _ => "UNKNOWN",
    }
}

fn is_dynamic(c: &ConfigValue) -> bool {
    matches!(c.source, 1..=3)
}

pub fn run(args: ConfigsArgs) -> anyhow::Result<ExitCode> {
    let (kind, name) = match (&args.entity_type, &args.topic, &args.broker) {
        (_, Some(t), _) => (ResourceType::Topic, Some(t.clone())),
        (_, _, Some(b)) => (ResourceType::Broker, Some(b.clone())),
        (Some(t), _, _) if t == "topics" => (ResourceType::Topic, args.entity_name.clone()),
        (Some(t), _, _) if t == "brokers" => (ResourceType::Broker, args.entity_name.clone()),
        (Some(t), _, _) => {
            bail!("Invalid entity type {t}, the entity type must be one of topics, brokers")
        }
        (None, _, _) => bail!("Missing required argument \"[entity-type]\""),
    };
    if args.describe == args.alter {
        bail!("Command must include exactly one action: --describe, --alter");
    }
    if args.bootstrap.bootstrap_server.is_none() {
        bail!("Missing required argument \"[bootstrap-server]\"");
    }
    let mut ops: Vec<ConfigOp> = properties(&args.add_config, true)?
        .into_iter()
        .map(|(k, v)| ConfigOp::Set(k, v))
        .collect();
    ops.extend(
        args.delete_config
            .iter()
            .filter(|k| !k.is_empty())
            .map(|k| ConfigOp::Delete(k.clone())),
    );
    if args.alter && ops.is_empty() {
        bail!("At least one of --add-config or --delete-config must be specified with --alter");
    }
    run_async(async move {
        let client = args.bootstrap.connect("ferry-configs").await?;
        let label = match kind {
            ResourceType::Topic => "topic",
            ResourceType::Broker => "broker",
        };
        if args.alter {
            let Some(name) = name else {
                bail!("an entity name must be specified with --alter of {label}s");
            };
            if kind == ResourceType::Topic {
                // An unknown topic is Kafka's error, not a silent success.
                client.topics(Some(std::slice::from_ref(&name))).await?;
            }
            client.alter_configs(kind, &name, &ops).await?;
            println!("Completed updating config for {label} {name}.");
            return Ok(ExitCode::SUCCESS);
        }
        let names = match (name, kind) {
            (Some(n), _) => vec![n],
            (None, ResourceType::Topic) => client
                .topics(None)
                .await?
                .into_iter()
                .map(|t| t.name)
                .collect(),
            (None, ResourceType::Broker) => client
                .describe_cluster()
                .await?
                .brokers
                .keys()
                .map(i32::to_string)
                .collect(),
        };
        for name in names {
            let configs = client.describe_configs(kind, &name).await?;
            let what = if args.all { "All" } else { "Dynamic" };
            println!("{what} configs for {label} {name} are:");
            for c in configs.iter().filter(|c| args.all || is_dynamic(c)) {
                let value = if c.is_sensitive {
                    None
                } else {
                    c.value.clone()
                };
                let value = value.unwrap_or_else(|| "null".into());
                println!(
                    "  {}={value} sensitive={} synonyms={{{}:{}={value}}}",
                    c.name,
                    c.is_sensitive,
                    source_name(c.source),
                    c.name
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
