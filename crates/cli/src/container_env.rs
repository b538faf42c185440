//! Configuration from the environment, as the container images users know take it: the
//! official `zookeeper` image's `ZOO_*` variables, wurstmeister/kafka's `KAFKA_*` variables,
//! and `FERRY_*` for a combined node. Pure: text in, zoo.cfg and server.properties text out
//! (see `container_cmd` for the process that uses them).

use std::collections::BTreeMap;

use anyhow::{bail, Context};

/// The environment, or a test's stand-in for it.
pub type Env = BTreeMap<String, String>;

/// The official zookeeper image's variables whose zoo.cfg keys are not the camel case of
/// their names.
const ZOO_KEYS: &[(&str, &str)] = &[
    ("ZOO_AUTOPURGE_SNAPRETAINCOUNT", "autopurge.snapRetainCount"),
    ("ZOO_AUTOPURGE_PURGEINTERVAL", "autopurge.purgeInterval"),
    ("ZOO_4LW_COMMANDS_WHITELIST", "4lw.commands.whitelist"),
    ("ZOO_ADMINSERVER_ENABLED", "admin.enableServer"),
    ("ZOO_MAX_CLIENT_CNXNS", "maxClientCnxns"),
];

/// `ZOO_*` variables that are not zoo.cfg keys.
const ZOO_NOT_KEYS: &[&str] = &[
    "ZOO_MY_ID",
    "ZOO_SERVERS",
    "ZOO_CFG_EXTRA",
    "ZOO_CONF_DIR",
    "ZOO_DATA_DIR",
    "ZOO_DATA_LOG_DIR",
    "ZOO_LOG_DIR",
    "ZOO_LOG4J_PROP",
];

/// `KAFKA_*` variables that are not server.properties keys (JVM and image settings, and the
/// topics to create).
const KAFKA_NOT_KEYS: &[&str] = &[
    "KAFKA_CREATE_TOPICS",
    "KAFKA_HEAP_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_HOME",
    "KAFKA_VERSION",
];

/// A combined node's quorum and election ports (ZooKeeper's usual ones).
const QUORUM_PORTS: &str = "2888:3888";

/// zoo.cfg text for a keeper keeping its data in `data_dir`: `ZOO_SERVERS` as `server.N`
/// lines, `ZOO_CFG_EXTRA` as written, every other `ZOO_*` as a key.
pub fn zoo_cfg(env: &Env, data_dir: &str) -> String {
    let mut lines = vec![format!("dataDir={data_dir}"), "clientPort=2181".to_string()];
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("ZOO_") else {
            continue;
        };
        if ZOO_NOT_KEYS.contains(&name.as_str()) {
            continue;
        }
        let key = ZOO_KEYS
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, key)| key.to_string())
            .unwrap_or_else(|| camel_case(rest));
        lines.push(format!("{key}={value}"));
    }
    if let Some(servers) = env.get("ZOO_SERVERS") {
        lines.extend(servers.split_whitespace().map(str::to_string));
    }
    if let Some(extra) = env.get("ZOO_CFG_EXTRA") {
        lines.extend(extra.split_whitespace().map(str::to_string));
    }
    lines.join("\n") + "\n"
}

/// `TICK_TIME` -> `tickTime`.
fn camel_case(upper_snake: &str) -> String {
    let mut out = String::new();
    for (i, word) in upper_snake.split('_').filter(|w| !w.is_empty()).enumerate() {
        let lower = word.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.extend(chars);
            }
        }
    }
    out
}

/// server.properties text: `defaults` (key, value), then every `KAFKA_*` variable as a key
/// (`KAFKA_LOG_RETENTION_HOURS` -> `log.retention.hours`), which wins.
pub fn server_properties(env: &Env, defaults: &[(&str, String)]) -> String {
    let mut properties: BTreeMap<String, String> = defaults
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("KAFKA_") else {
            continue;
        };
        if KAFKA_NOT_KEYS.contains(&name.as_str()) || rest.is_empty() {
            continue;
        }
        properties.insert(rest.to_ascii_lowercase().replace('_', "."), value.clone());
    }
    properties
        .into_iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
}

/// A topic of `KAFKA_CREATE_TOPICS` (`name:partitions:replicas[:cleanup.policy]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicToCreate {
    pub name: String,
    pub partitions: i32,
    pub replicas: i16,
    pub cleanup_policy: Option<String>,
}

/// The topics `KAFKA_CREATE_TOPICS` asks for (comma-separated).
pub fn topics_to_create(env: &Env) -> anyhow::Result<Vec<TopicToCreate>> {
    let Some(list) = env.get("KAFKA_CREATE_TOPICS") else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|spec| {
            let parts: Vec<&str> = spec.split(':').collect();
            let bad = || format!("KAFKA_CREATE_TOPICS: {spec:?} is not name:partitions:replicas");
            if !(3..=4).contains(&parts.len()) || parts[0].is_empty() {
                bail!(bad());
            }
            Ok(TopicToCreate {
                name: parts[0].to_string(),
                partitions: parts[1].parse().with_context(bad)?,
                replicas: parts[2].parse().with_context(bad)?,
                cleanup_policy: parts.get(3).map(|p| p.to_string()),
            })
        })
        .collect()
}

/// A combined node's ensemble from `FERRY_NODES` (`1=host1 2=host2 ...`): `ZOO_SERVERS`
/// lines and the `zookeeper.connect` string.
pub fn ferry_nodes(env: &Env) -> anyhow::Result<Option<(String, String)>> {
    let Some(list) = env.get("FERRY_NODES") else {
        return Ok(None);
    };
    let mut servers = Vec::new();
    let mut connect = Vec::new();
    for entry in list.split([' ', ',']).filter(|s| !s.is_empty()) {
        let (id, host) = entry
            .split_once('=')
            .with_context(|| format!("FERRY_NODES: {entry:?} is not id=host"))?;
        let id: u64 = id
            .parse()
            .with_context(|| format!("FERRY_NODES: {id:?} is not a node id"))?;
        servers.push(format!("server.{id}={host}:{QUORUM_PORTS};2181"));
        connect.push(format!("{host}:2181"));
    }
    if servers.is_empty() {
        bail!("FERRY_NODES names no node");
    }
    Ok(Some((servers.join(" "), connect.join(","))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn zoo_variables_become_zoo_cfg_keys() {
        let text = zoo_cfg(
            &env(&[
                ("ZOO_MY_ID", "2"),
                ("ZOO_TICK_TIME", "500"),
                ("ZOO_INIT_LIMIT", "10"),
                ("ZOO_4LW_COMMANDS_WHITELIST", "srvr, ruok"),
                (
                    "ZOO_SERVERS",
                    "server.1=a:2888:3888;2181 server.2=b:2888:3888;2181",
                ),
                ("ZOO_CFG_EXTRA", "snapCount=1000"),
                ("PATH", "/bin"),
            ]),
            "/data/keeper",
        );
        for line in [
            "dataDir=/data/keeper",
            "tickTime=500",
            "initLimit=10",
            "4lw.commands.whitelist=srvr, ruok",
            "server.1=a:2888:3888;2181",
            "server.2=b:2888:3888;2181",
            "snapCount=1000",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(!text.contains("myId") && !text.contains("PATH"));
    }

    #[test]
    fn kafka_variables_become_properties_over_the_defaults() {
        let text = server_properties(
            &env(&[
                ("KAFKA_BROKER_ID", "3"),
                ("KAFKA_ZOOKEEPER_CONNECT", "zk:2181"),
                ("KAFKA_LOG_RETENTION_HOURS", "1"),
                ("KAFKA_LISTENERS", "PLAINTEXT://0.0.0.0:9093"),
                ("KAFKA_HEAP_OPTS", "-Xmx1G"),
                ("KAFKA_CREATE_TOPICS", "t:1:1"),
            ]),
            &[
                ("listeners", "PLAINTEXT://0.0.0.0:9092".to_string()),
                ("log.dirs", "/data/kafka-logs".to_string()),
            ],
        );
        assert_eq!(
            text,
            "broker.id=3\nlisteners=PLAINTEXT://0.0.0.0:9093\nlog.dirs=/data/kafka-logs\n\
             log.retention.hours=1\nzookeeper.connect=zk:2181\n"
        );
    }

    #[test]
    fn create_topics_takes_wurstmeisters_format_and_refuses_anything_else() {
        let topics =
            topics_to_create(&env(&[("KAFKA_CREATE_TOPICS", "a:3:1, b:1:3:compact")])).unwrap();
        assert_eq!(topics.len(), 2);
        assert_eq!(topics[1].name, "b");
        assert_eq!(topics[1].replicas, 3);
        assert_eq!(topics[1].cleanup_policy.as_deref(), Some("compact"));
        for bad in ["a:1", "a:x:1", ":1:1", "a:1:1:compact:x"] {
            let error = topics_to_create(&env(&[("KAFKA_CREATE_TOPICS", bad)])).unwrap_err();
            assert!(error.to_string().contains("KAFKA_CREATE_TOPICS"), "{bad}");
        }
    }

    #[test]
    fn ferry_nodes_make_the_ensemble_and_the_connect_string() {
        let (servers, connect) = ferry_nodes(&env(&[("FERRY_NODES", "1=n1 2=n2,3=n3")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            servers,
            "server.1=n1:2888:3888;2181 server.2=n2:2888:3888;2181 server.3=n3:2888:3888;2181"
        );
        assert_eq!(connect, "n1:2181,n2:2181,n3:2181");
        assert!(ferry_nodes(&env(&[("FERRY_NODES", "x=n1")])).is_err());
        assert!(ferry_nodes(&env(&[])).unwrap().is_none());
    }
}
