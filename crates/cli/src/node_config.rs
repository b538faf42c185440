//! A combined node's configuration (`ferry server`): the keeper's zoo.cfg settings and the
//! broker's server.properties settings, from two files or one file holding both (split by
//! which keys zoo.cfg knows), with the broker's settings that only repeat the keeper's filled
//! in: `broker.id` is the keeper's `myid` (and `myid` the `broker.id` when there is no myid
//! file), `zookeeper.connect` lists every keeper of the ensemble, `log.dirs` sits in dataDir.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use ferry_broker::config::{apply_overrides, parse_properties};
use ferry_broker::BrokerConfig;
use ferry_keeper::config::{is_keeper_key, KeeperConfig};

/// Both halves of a node.
pub struct NodeConfig {
    pub keeper: KeeperConfig,
    pub broker: BrokerConfig,
}

/// Where a node's settings come from.
pub enum NodeFiles<'a> {
    /// One file with zoo.cfg and server.properties keys side by side.
    Combined(&'a Path),
    /// The usual zoo.cfg and server.properties.
    Separate { keeper: &'a Path, broker: &'a Path },
}

impl NodeConfig {
    /// Reads the files; `overrides` (`key=value`) apply to the broker's settings.
    pub fn load(files: NodeFiles<'_>, overrides: &[String]) -> anyhow::Result<Self> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        };
        let (keeper_text, broker_text) = match files {
            NodeFiles::Combined(path) => split(&read(path)?),
            NodeFiles::Separate { keeper, broker } => (read(keeper)?, read(broker)?),
        };
        Self::from_texts(&keeper_text, &broker_text, overrides)
    }

    /// The node from zoo.cfg text and server.properties text.
    pub fn from_texts(
        keeper_text: &str,
        broker_text: &str,
        overrides: &[String],
    ) -> anyhow::Result<Self> {
        let mut properties = parse_properties(broker_text);
        apply_overrides(&mut properties, overrides)?;
        let broker_id = match properties.get("broker.id") {
            Some(id) => Some(
                id.parse::<u64>()
                    .with_context(|| format!("invalid broker.id {id:?} for a combined node"))?,
            ),
            None => None,
        };
        let keeper =
            KeeperConfig::from_text(keeper_text, broker_id).context("invalid keeper settings")?;
        fill_in_broker_defaults(&mut properties, &keeper)?;
        let broker =
            BrokerConfig::from_properties(&properties).context("invalid broker settings")?;
        Ok(NodeConfig { keeper, broker })
    }
}

/// A combined file's text as zoo.cfg text and server.properties text.
fn split(text: &str) -> (String, String) {
    let (mut keeper, mut broker) = (String::new(), String::new());
    for (key, value) in parse_properties(text) {
        let line = format!("{key}={value}\n");
        // Both halves serve the console, with the same account.
        let both = ferry_console::is_console_key(&key);
        if both || is_keeper_key(&key) {
            keeper.push_str(&line);
        }
        if both || !is_keeper_key(&key) {
            broker.push_str(&line);
        }
    }
    (keeper, broker)
}

/// The broker settings a combined node derives from its keeper's, where not given.
fn fill_in_broker_defaults(
    properties: &mut BTreeMap<String, String>,
    keeper: &KeeperConfig,
) -> anyhow::Result<()> {
    if !properties.contains_key("broker.id") {
        let my_id = keeper.my_id.context(
            "a combined node needs an id: a myid file in dataDir, or broker.id in its settings",
        )?;
        properties.insert("broker.id".into(), my_id.to_string());
    }
    properties
        .entry("zookeeper.connect".into())
        .or_insert_with(|| ensemble_connect_string(keeper));
    properties
        .entry("log.dirs".into())
        .or_insert_with(|| keeper.data_dir.join("kafka-logs").display().to_string());
    Ok(())
}

/// `host:clientPort` of every server of the ensemble (or this one, standalone).
fn ensemble_connect_string(keeper: &KeeperConfig) -> String {
    if keeper.servers.is_empty() {
        let host = match keeper.client_port_address {
            Some(ip) if !ip.is_unspecified() => ip.to_string(),
            _ => "127.0.0.1".to_string(),
        };
        return format!("{host}:{}", keeper.client_port);
    }
    keeper
        .servers
        .values()
        .map(|spec| {
            // `[clientAddr:]clientPort` after the `;`; otherwise the server's host on this
            // node's clientPort (every node uses the same one, the usual layout).
            let port = spec
                .client
                .as_deref()
                .map(|c| c.rsplit(':').next().unwrap_or(c).trim().to_string())
                .unwrap_or_else(|| keeper.client_port.to_string());
            format!("{}:{port}", spec.host)
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str, dir: &Path) -> NodeConfig {
        let text = text.replace("DIR", &dir.display().to_string());
        let (keeper, broker) = split(&text);
        NodeConfig::from_texts(&keeper, &broker, &[]).unwrap()
    }

    #[test]
    fn one_file_splits_into_keeper_and_broker_settings_with_the_repeats_filled_in() {
        let dir = std::env::temp_dir().join(format!("ferry-node-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let node = node(
            "dataDir=DIR\nclientPort=2181\ntickTime=500\n\
             server.1=n1:2888:3888\nserver.2=n2:2888:3888\nserver.3=n3:2888:3888;2191\n\
             broker.id=2\nlisteners=PLAINTEXT://:9092\ngroup.initial.rebalance.delay.ms=0\n",
            &dir,
        );
        assert_eq!(node.keeper.my_id, Some(2), "no myid file: the broker id");
        assert_eq!(node.keeper.tick_time_ms, 500);
        assert_eq!(node.keeper.servers.len(), 3);
        assert_eq!(node.broker.broker_id, 2);
        assert_eq!(
            node.broker.zookeeper_connect, "n1:2181,n2:2181,n3:2191",
            "every keeper of the ensemble"
        );
        assert_eq!(node.broker.log_dirs, vec![dir.join("kafka-logs")]);
    }

    #[test]
    fn the_myid_file_gives_the_broker_id_when_none_is_set() {
        let dir = std::env::temp_dir().join(format!("ferry-node-myid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("myid"), "3\n").unwrap();
        let node = node(
            "dataDir=DIR\nserver.3=127.0.0.1:2888:3888\nlog.dirs=/tmp/x\n",
            &dir,
        );
        assert_eq!(node.broker.broker_id, 3);
        assert_eq!(node.broker.zookeeper_connect, "127.0.0.1:2181");
        assert_eq!(
            node.broker.log_dirs,
            vec![std::path::PathBuf::from("/tmp/x")]
        );
    }

    #[test]
    fn kafka_group_settings_stay_with_the_broker_and_zookeeper_groups_with_the_keeper() {
        let (keeper, broker) = split("group.1=1:2:3\ngroup.min.session.timeout.ms=10\n");
        assert_eq!(keeper, "group.1=1:2:3\n");
        assert_eq!(broker, "group.min.session.timeout.ms=10\n");
    }
}
