//! The files and ports of `ferry cluster`: an ordinary zoo.cfg and myid per keeper (written
//! as `ferry keeper ensemble` writes them, under `DIR/keeperN`) and an ordinary
//! server.properties per broker (`DIR/brokerN/server.properties`, its logs in
//! `DIR/brokerN/kafka-logs`), so that each server could as well be run by hand with
//! `ferry keeper start` / `ferry broker start`, or by Apache ZooKeeper and Kafka.
//!
//! One `--base-port` moves every port: keepers take ZooKeeper's documented ports (2181, 2888,
//! 3888 for the first) and brokers Kafka's (9092 for the first), all shifted by as much as the
//! base is from 2181, each server after the first one port further.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ferry_broker::BrokerConfig;
use ferry_keeper::config::KeeperConfig;

use crate::keeper_ensemble::{ports, write_configs, EnsembleFiles};

/// Kafka's documented port, for broker 1 with the default base.
const KAFKA_PORT: i32 = 9092;
/// ZooKeeper's documented client port, the default base.
pub const DEFAULT_BASE_PORT: u16 = 2181;
/// The chroot the brokers keep their metadata under (so the ensemble can serve others too).
pub const CHROOT: &str = "/kafka";

/// What to lay out.
pub struct Plan {
    pub dir: PathBuf,
    pub keepers: u16,
    pub brokers: u16,
    pub base_port: u16,
    /// server.properties lines (`key=value`) added to every broker's file.
    pub overrides: Vec<String>,
}

/// The servers' configurations, as written.
pub struct Layout {
    pub keepers: Vec<KeeperConfig>,
    /// Each keeper's zoo.cfg, for `ferry keeper start --config`.
    pub keeper_files: Vec<PathBuf>,
    pub brokers: Vec<BrokerConfig>,
    pub broker_files: Vec<PathBuf>,
    /// The brokers' `zookeeper.connect`.
    pub zookeeper_connect: String,
}

impl Layout {
    /// host:port of every broker, as bootstrap.servers.
    pub fn bootstrap_servers(&self) -> String {
        self.brokers
            .iter()
            .map(|b| format!("127.0.0.1:{}", b.listener.port))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn keeper_files(dir: &Path) -> EnsembleFiles<'_> {
    EnsembleFiles {
        dir,
        name: "keeper",
        writer: "ferry cluster",
    }
}

/// Broker `id`'s port.
fn broker_port(base: u16, id: u16) -> anyhow::Result<u16> {
    let port = KAFKA_PORT + i32::from(base) - i32::from(DEFAULT_BASE_PORT) + i32::from(id) - 1;
    u16::try_from(port)
        .ok()
        .filter(|p| *p > 0)
        .context("--base-port leaves no room for this many brokers' ports")
}

/// Broker `id`'s server.properties among `brokers`.
fn server_properties(plan: &Plan, id: u16, zookeeper_connect: &str) -> anyhow::Result<String> {
    let replication = plan.brokers.min(3);
    let logs = plan.dir.join(format!("broker{id}")).join("kafka-logs");
    let mut text = format!(
        "# Written by `ferry cluster`: broker {id} of {brokers}.\n\
         broker.id={id}\n\
         listeners=PLAINTEXT://127.0.0.1:{port}\n\
         log.dirs={logs}\n\
         zookeeper.connect={zookeeper_connect}\n\
         default.replication.factor={replication}\n\
         offsets.topic.replication.factor={replication}\n",
        brokers = plan.brokers,
        port = broker_port(plan.base_port, id)?,
        logs = logs.display(),
    );
    if plan.brokers >= 3 {
        text.push_str("min.insync.replicas=2\n");
    }
    for line in &plan.overrides {
        text.push_str(line);
        text.push('\n');
    }
    Ok(text)
}

/// Checks the plan's numbers and ports, then writes every file and reads each back as the
/// servers will.
pub fn write(plan: &Plan) -> anyhow::Result<Layout> {
    anyhow::ensure!(
        (1..=15).contains(&plan.keepers),
        "--keepers must be between 1 and 15 (3 or 5 is usual), not {}",
        plan.keepers
    );
    anyhow::ensure!(
        (1..=100).contains(&plan.brokers),
        "--brokers must be between 1 and 100, not {}",
        plan.brokers
    );
    for line in &plan.overrides {
        anyhow::ensure!(
            line.contains('='),
            "invalid --override {line:?}: expected key=value"
        );
    }
    for id in 1..=plan.keepers {
        ports(plan.base_port, id)?;
    }
    for id in 1..=plan.brokers {
        broker_port(plan.base_port, id)?;
    }
    let keepers = write_configs(&keeper_files(&plan.dir), plan.keepers, plan.base_port)?;
    let keeper_files = (1..=plan.keepers)
        .map(|id| keeper_files(&plan.dir).config_path(id))
        .collect();
    let hosts: Vec<String> = keepers
        .iter()
        .map(|k| format!("127.0.0.1:{}", k.client_port))
        .collect();
    let zookeeper_connect = format!("{}{CHROOT}", hosts.join(","));
    let mut brokers = Vec::new();
    let mut broker_files = Vec::new();
    for id in 1..=plan.brokers {
        let home = plan.dir.join(format!("broker{id}"));
        std::fs::create_dir_all(&home)
            .with_context(|| format!("cannot create {}", home.display()))?;
        let path = home.join("server.properties");
        std::fs::write(&path, server_properties(plan, id, &zookeeper_connect)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        brokers.push(
            BrokerConfig::load(&path, &[])
                .with_context(|| format!("invalid configuration {}", path.display()))?,
        );
        broker_files.push(path);
    }
    Ok(Layout {
        keepers,
        keeper_files,
        brokers,
        broker_files,
        zookeeper_connect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(brokers: u16, base_port: u16) -> Plan {
        Plan {
            dir: PathBuf::from("/c"),
            keepers: 3,
            brokers,
            base_port,
            overrides: vec!["num.partitions=4".into()],
        }
    }

    #[test]
    fn brokers_get_kafkas_port_and_the_replicated_defaults() {
        let text = server_properties(&plan(3, 2181), 2, "k:1/kafka").unwrap();
        for line in [
            "broker.id=2",
            "listeners=PLAINTEXT://127.0.0.1:9093",
            "log.dirs=/c/broker2/kafka-logs",
            "zookeeper.connect=k:1/kafka",
            "default.replication.factor=3",
            "offsets.topic.replication.factor=3",
            "min.insync.replicas=2",
        ] {
            assert!(text.contains(&format!("{line}\n")), "{line} in {text}");
        }
        assert!(text.ends_with("num.partitions=4\n"), "{text}");
    }

    #[test]
    fn fewer_brokers_replicate_less_and_the_base_moves_every_port() {
        let text = server_properties(&plan(2, 12181), 1, "k:1/kafka").unwrap();
        assert!(
            text.contains("listeners=PLAINTEXT://127.0.0.1:19092\n"),
            "{text}"
        );
        assert!(text.contains("default.replication.factor=2\n"), "{text}");
        assert!(!text.contains("min.insync.replicas"), "{text}");
        assert!(broker_port(60000, 1).is_err());
    }
}
