//! `ferry container standalone|keeper|broker|server|health`: the container image's entrypoint.
//! It makes the role's configuration from the environment (`container_env`: the official
//! zookeeper image's `ZOO_*`, wurstmeister/kafka's `KAFKA_*`, `FERRY_*`), writes it under
//! `$FERRY_DATA_DIR/conf` (default `/data/conf`) for the operator to read, and runs the role
//! in the foreground (SIGTERM stops it gracefully). `KAFKA_CREATE_TOPICS` are created once the
//! broker answers. `health` is the image's health check: it asks the servers this container
//! runs (listed in `$FERRY_DATA_DIR/conf/health` at start) whether they serve.
//!
//! Written in Rust rather than as a shell script so that the image needs no shell at all.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use ferry_broker::BrokerConfig;
use ferry_kafka_client::{Client, ClientConfig, ClientError, NewTopic};
use ferry_keeper::config::KeeperConfig;

use crate::container_env::{self, Env, TopicToCreate};
use crate::keeper_cmd::{four_letter_to, init_tracing};
use crate::node_config::NodeConfig;
use crate::standalone_cmd::StandaloneArgs;

/// Where the data goes when `FERRY_DATA_DIR` is not set (the image's volume).
const DEFAULT_DATA_DIR: &str = "/data";
const KAFKA_PORT: u16 = 9092;
const KEEPER_PORT: u16 = 2181;
/// The standalone container's web console and /metrics (the keeper's admin port elsewhere).
const HTTP_PORT: u16 = 8080;
/// How long `KAFKA_CREATE_TOPICS` keeps trying (the other brokers of a replication factor may
/// start later).
const CREATE_TOPICS_FOR: Duration = Duration::from_secs(600);
/// Kafka's TOPIC_ALREADY_EXISTS.
const TOPIC_ALREADY_EXISTS: i16 = 36;

#[derive(clap::Args)]
pub struct ContainerArgs {
    #[command(subcommand)]
    role: Role,
}

#[derive(clap::Subcommand, Clone, Copy)]
enum Role {
    /// A keeper and a broker, one node (ports 2181 and 9092).
    Standalone,
    /// A keeper: ZOO_MY_ID, ZOO_SERVERS, ZOO_* as zoo.cfg keys.
    Keeper,
    /// A broker: KAFKA_* as server.properties keys, KAFKA_CREATE_TOPICS.
    Broker,
    /// A combined node: FERRY_NODE_ID, FERRY_NODES, and ZOO_* and KAFKA_* as above.
    Server,
    /// Exit 0 when this container's servers answer (ruok/srvr, ApiVersions).
    Health,
}

pub fn run(args: ContainerArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    let env: Env = std::env::vars().collect();
    let data = PathBuf::from(
        env.get("FERRY_DATA_DIR")
            .map(String::as_str)
            .unwrap_or(DEFAULT_DATA_DIR),
    );
    let conf = data.join("conf");
    if let Role::Health = args.role {
        return health(&conf);
    }
    std::fs::create_dir_all(&conf).with_context(|| format!("cannot create {}", conf.display()))?;
    let topics = container_env::topics_to_create(&env)?;
    let mut checks = Vec::new();
    match args.role {
        Role::Keeper => {
            let keeper = keeper_config(&env, &data, &conf, env.get("ZOO_MY_ID"))?;
            checks.push(format!("keeper {}", keeper.client_port));
            write_health(&conf, &checks)?;
            crate::keeper_cmd::run_foreground(keeper)
        }
        Role::Broker => {
            let text = container_env::server_properties(&env, &broker_defaults(&data));
            let broker = broker_config(&conf, &text)?;
            checks.push(format!("broker {}", broker.listener.port));
            write_health(&conf, &checks)?;
            create_topics_when_up(topics, broker.listener.port);
            crate::broker_cmd::run_foreground(broker)
        }
        Role::Server => {
            let node = node_config(&env, &data, &conf)?;
            checks.push(format!("keeper {}", node.keeper.client_port));
            checks.push(format!("broker {}", node.broker.listener.port));
            write_health(&conf, &checks)?;
            create_topics_when_up(topics, node.broker.listener.port);
            crate::server_cmd::run_foreground(node)
        }
        Role::Standalone => {
            let text = container_env::server_properties(&env, &standalone_defaults());
            write(&conf.join("server.properties"), &text)?;
            checks.push(format!("keeper {KEEPER_PORT}"));
            checks.push(format!("broker {KAFKA_PORT}"));
            write_health(&conf, &checks)?;
            create_topics_when_up(topics, KAFKA_PORT);
            crate::standalone_cmd::run(StandaloneArgs {
                data_dir: data,
                keeper_port: KEEPER_PORT,
                broker_port: KAFKA_PORT,
                http_port: HTTP_PORT,
                overrides: text.lines().map(str::to_string).collect(),
            })
        }
        Role::Health => unreachable!("answered above"),
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The keeper's zoo.cfg (and myid) under `conf` and `data/keeper`.
fn keeper_config(
    env: &Env,
    data: &Path,
    conf: &Path,
    my_id: Option<&String>,
) -> anyhow::Result<KeeperConfig> {
    let keeper_dir = data.join("keeper");
    std::fs::create_dir_all(&keeper_dir)
        .with_context(|| format!("cannot create {}", keeper_dir.display()))?;
    if let Some(id) = my_id {
        write(&keeper_dir.join("myid"), &format!("{}\n", id.trim()))?;
    }
    let path = conf.join("zoo.cfg");
    write(
        &path,
        &container_env::zoo_cfg(env, &keeper_dir.display().to_string()),
    )?;
    KeeperConfig::load(&path).with_context(|| format!("invalid configuration {}", path.display()))
}

fn broker_config(conf: &Path, text: &str) -> anyhow::Result<BrokerConfig> {
    let path = conf.join("server.properties");
    write(&path, text)?;
    BrokerConfig::load(&path, &[])
        .with_context(|| format!("invalid configuration {}", path.display()))
}

/// A combined node: `FERRY_NODES` stands for `ZOO_SERVERS` and `zookeeper.connect`,
/// `FERRY_NODE_ID` for `ZOO_MY_ID` and `broker.id`.
fn node_config(env: &Env, data: &Path, conf: &Path) -> anyhow::Result<NodeConfig> {
    let mut env = env.clone();
    let mut defaults = broker_defaults(data);
    if let Some((servers, connect)) = container_env::ferry_nodes(&env)? {
        env.entry("ZOO_SERVERS".into()).or_insert(servers);
        defaults.push(("zookeeper.connect", connect));
    }
    let my_id = env
        .get("FERRY_NODE_ID")
        .or_else(|| env.get("ZOO_MY_ID"))
        .cloned();
    if let Some(id) = &my_id {
        defaults.push(("broker.id", id.clone()));
    }
    keeper_config(&env, data, conf, my_id.as_ref())?;
    let keeper_text = std::fs::read_to_string(conf.join("zoo.cfg"))?;
    let broker_text = container_env::server_properties(&env, &defaults);
    write(&conf.join("server.properties"), &broker_text)?;
    NodeConfig::from_texts(&keeper_text, &broker_text, &[])
}

/// A broker's settings before the environment's: listening on every interface, advertising
/// this container's address, logs in the volume.
fn broker_defaults(data: &Path) -> Vec<(&'static str, String)> {
    let mut defaults = vec![
        ("listeners", format!("PLAINTEXT://0.0.0.0:{KAFKA_PORT}")),
        ("log.dirs", data.join("kafka-logs").display().to_string()),
    ];
    if let Some(ip) = container_address() {
        defaults.push((
            "advertised.listeners",
            format!("PLAINTEXT://{ip}:{KAFKA_PORT}"),
        ));
    }
    defaults
}

/// Standalone takes only what differs from its own defaults.
fn standalone_defaults() -> Vec<(&'static str, String)> {
    container_address()
        .map(|ip| {
            vec![(
                "advertised.listeners",
                format!("PLAINTEXT://{ip}:{KAFKA_PORT}"),
            )]
        })
        .unwrap_or_default()
}

/// The container's own address: its host name resolved (Docker writes both to /etc/hosts).
fn container_address() -> Option<IpAddr> {
    let name = std::fs::read_to_string("/etc/hostname").ok()?;
    (name.trim(), 0)
        .to_socket_addrs()
        .ok()?
        .map(|a| a.ip())
        .find(|ip| !ip.is_loopback() && ip.is_ipv4())
}

fn write_health(conf: &Path, checks: &[String]) -> anyhow::Result<()> {
    write(&conf.join("health"), &(checks.join("\n") + "\n"))
}

/// Asks each server listed in `conf/health` whether it serves.
fn health(conf: &Path) -> anyhow::Result<ExitCode> {
    let path = conf.join("health");
    let list = std::fs::read_to_string(&path)
        .with_context(|| format!("not started yet: no {}", path.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for line in list.lines() {
        let Some((what, port)) = line.split_once(' ') else {
            continue;
        };
        let port: u16 = port.trim().parse().context("bad port in the health list")?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        match what {
            "keeper" => {
                let answer = four_letter_to(address, "srvr")
                    .with_context(|| format!("keeper at {address} does not answer"))?;
                anyhow::ensure!(
                    answer.contains("Mode:"),
                    "keeper at {address} not serving: {}",
                    answer.trim()
                );
            }
            "broker" => {
                let config = ClientConfig {
                    client_id: "ferry-health".into(),
                    connect_timeout: Duration::from_secs(2),
                    request_timeout: Duration::from_secs(2),
                };
                // Connecting negotiates versions with ApiVersions.
                runtime
                    .block_on(ferry_kafka_client::Connection::connect(
                        &address.to_string(),
                        config,
                    ))
                    .with_context(|| format!("broker at {address} does not answer"))?;
            }
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates `topics` on a thread of its own once the broker on `port` answers, retrying while
/// the cluster is not ready (too few brokers for the replication factor) for ten minutes.
fn create_topics_when_up(topics: Vec<TopicToCreate>, port: u16) {
    if topics.is_empty() {
        return;
    }
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                tracing::error!(%error, "KAFKA_CREATE_TOPICS: no runtime");
                return;
            }
        };
        runtime.block_on(create_topics(topics, port));
    });
}

async fn create_topics(topics: Vec<TopicToCreate>, port: u16) {
    let deadline = tokio::time::Instant::now() + CREATE_TOPICS_FOR;
    let bootstrap = format!("127.0.0.1:{port}");
    for topic in topics {
        let new = NewTopic {
            name: topic.name.clone(),
            partitions: topic.partitions,
            replication_factor: topic.replicas,
            configs: topic
                .cleanup_policy
                .iter()
                .map(|p| ("cleanup.policy".to_string(), p.clone()))
                .collect(),
        };
        loop {
            let created = match Client::connect(&bootstrap, ClientConfig::default()).await {
                Ok(client) => {
                    client
                        .create_topics(std::slice::from_ref(&new), false)
                        .await
                }
                Err(error) => Err(error),
            };
            match created {
                Ok(()) => {
                    tracing::info!(topic = %topic.name, "created (KAFKA_CREATE_TOPICS)");
                    break;
                }
                Err(ClientError::Kafka { code, .. }) if code == TOPIC_ALREADY_EXISTS => break,
                Err(error) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!(topic = %topic.name, %error, "cannot create yet; retrying");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(error) => {
                    tracing::error!(topic = %topic.name, %error, "KAFKA_CREATE_TOPICS gave up");
                    break;
                }
            }
        }
    }
}
