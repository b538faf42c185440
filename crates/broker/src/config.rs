//! `server.properties`: the broker's configuration, read as Kafka reads it (Java properties,
//! `key=value` or `key: value`, `#`/`!` comments), plus `--override key=value`.
//!
//! Only the keys this broker acts on are typed here; other keys Kafka knows are accepted
//! silently so that an existing file works, and keys nobody knows are warned about.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::net::SocketSettings;
use crate::replica::ReplicationSettings;
use crate::topic_config::{defs, TopicDefaults};

/// A configuration that cannot be used, naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid value {value:?} for {key}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    #[error("missing required setting {0}")]
    Missing(&'static str),
    #[error("override {0:?} is not key=value")]
    BadOverride(String),
    #[error("invalid console settings: {0}")]
    Console(#[from] ferry_console::SettingsError),
}

/// Where the broker listens and what it tells clients to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub host: String,
    pub port: u16,
}

impl Listener {
    /// host:port where a client on this host reaches the listener (loopback for a wildcard).
    pub fn local_address(&self) -> String {
        match self.host.as_str() {
            "" | "0.0.0.0" | "::" | "[::]" => format!("127.0.0.1:{}", self.port),
            // An IPv6 address needs its brackets in host:port.
            host if host.contains(':') && !host.starts_with('[') => {
                format!("[{host}]:{}", self.port)
            }
            host => format!("{host}:{}", self.port),
        }
    }
}

/// The settings the broker acts on.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub broker_id: i32,
    pub listener: Listener,
    pub advertised: Listener,
    pub log_dirs: Vec<PathBuf>,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub zookeeper_connect: String,
    pub zookeeper_session_timeout: Duration,
    pub auto_create_topics: bool,
    pub message_max_bytes: usize,
    /// `ferry.max.partitions.per.topic` (10000; ferry's own key, Kafka has none): the most
    /// partitions a topic may be created with or grown to. Each partition is znodes and a log
    /// directory made in one request, and a topic's assignment must fit in one znode.
    pub max_partitions_per_topic: i32,
    /// `ferry.http.port` (ferry's own key; unset: off): where the broker serves `/metrics` and
    /// the web console.
    pub http_port: Option<u16>,
    /// The web console (`ferry.console.*`).
    pub console: ferry_console::ConsoleSettings,
    /// The socket server's limits (`socket.request.max.bytes`, `max.connections`, ...).
    pub socket: SocketSettings,
    /// The group coordinator's settings.
    pub groups: GroupSettings,
    /// Replication: ISR lag, follower fetches, leader election (`replica.*`, ...).
    pub replication: ReplicationSettings,
    /// The defaults every topic starts from (`log.retention.hours`, `log.segment.bytes`, ...)
    /// and the log manager's and topic administration's keys (`delete.topic.enable`,
    /// `log.retention.check.interval.ms`, ...), checked.
    pub topic_defaults: TopicDefaults,
}

/// `offsets.topic.*` and `group.*`: the group coordinator's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSettings {
    /// `offsets.topic.num.partitions` (default 50): partitions of `__consumer_offsets` when
    /// it is created.
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor` (Kafka's default 3). A single broker creates the
    /// topic with one replica whatever this says, warning when it asked for more.
    pub offsets_topic_replication_factor: i16,
    /// `group.initial.rebalance.delay.ms` (default 3000).
    pub initial_rebalance_delay_ms: i32,
    /// `group.min.session.timeout.ms` (default 6000).
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms` (default 1800000).
    pub max_session_timeout_ms: i32,
    /// `offsets.retention.minutes` (default 10080, 7 days).
    pub offsets_retention_minutes: i32,
    /// `offsets.retention.check.interval.ms` (default 600000).
    pub offsets_retention_check_interval_ms: i64,
    /// `offsets.commit.timeout.ms` (default 5000): how long a commit waits for the ISR.
    pub offsets_commit_timeout_ms: u32,
}

impl GroupSettings {
    fn from_properties(props: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let settings = GroupSettings {
            offsets_topic_num_partitions: number(props, "offsets.topic.num.partitions", 50)?,
            offsets_topic_replication_factor: number(props, "offsets.topic.replication.factor", 3)?,
            initial_rebalance_delay_ms: number(props, "group.initial.rebalance.delay.ms", 3_000)?,
            min_session_timeout_ms: number(props, "group.min.session.timeout.ms", 6_000)?,
            max_session_timeout_ms: number(props, "group.max.session.timeout.ms", 1_800_000)?,
            offsets_retention_minutes: number(props, "offsets.retention.minutes", 10_080)?,
            offsets_retention_check_interval_ms: number(
                props,
                "offsets.retention.check.interval.ms",
                600_000,
            )?,
            offsets_commit_timeout_ms: number(props, "offsets.commit.timeout.ms", 5_000)?,
        };
        let at_least = |key: &str, value: i64, min: i64| {
            if value < min {
                Err(invalid(
                    key,
                    &value.to_string(),
                    format!("must be >= {min}"),
                ))
            } else {
                Ok(())
            }
        };
        at_least(
            "offsets.topic.num.partitions",
            settings.offsets_topic_num_partitions.into(),
            1,
        )?;
        at_least(
            "offsets.topic.replication.factor",
            settings.offsets_topic_replication_factor.into(),
            1,
        )?;
        at_least(
            "group.initial.rebalance.delay.ms",
            settings.initial_rebalance_delay_ms.into(),
            0,
        )?;
        at_least(
            "group.min.session.timeout.ms",
            settings.min_session_timeout_ms.into(),
            0,
        )?;
        at_least(
            "offsets.retention.minutes",
            settings.offsets_retention_minutes.into(),
            1,
        )?;
        at_least(
            "offsets.retention.check.interval.ms",
            settings.offsets_retention_check_interval_ms,
            1,
        )?;
        at_least(
            "offsets.commit.timeout.ms",
            settings.offsets_commit_timeout_ms.into(),
            1,
        )?;
        at_least(
            "group.max.session.timeout.ms",
            settings.max_session_timeout_ms.into(),
            settings.min_session_timeout_ms.into(),
        )?;
        Ok(settings)
    }
}

/// Keys Kafka 2.x knows that this broker reads but does not act on yet: no warning for them.
const KNOWN_UNUSED: &[&str] = &[
    "num.network.threads",
    "num.io.threads",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "num.recovery.threads.per.data.dir",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "zookeeper.connection.timeout.ms",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
];

const TYPED: &[&str] = &[
    "broker.id",
    "listeners",
    "advertised.listeners",
    "log.dirs",
    "log.dir",
    "num.partitions",
    "default.replication.factor",
    "zookeeper.connect",
    "zookeeper.session.timeout.ms",
    "auto.create.topics.enable",
    "message.max.bytes",
    "ferry.max.partitions.per.topic",
    "ferry.http.port",
    "offsets.topic.num.partitions",
    "offsets.topic.replication.factor",
    "group.initial.rebalance.delay.ms",
    "group.min.session.timeout.ms",
    "group.max.session.timeout.ms",
    "offsets.retention.minutes",
    "offsets.retention.check.interval.ms",
    "offsets.commit.timeout.ms",
];

/// Whether the broker acts on `key`: typed here, a broker default for a topic config, or a
/// log manager setting (see [`crate::topic_config::defs`]).
fn is_typed(key: &str) -> bool {
    TYPED.contains(&key)
        || ferry_console::is_console_key(key)
        || crate::net::settings::KEYS.contains(&key)
        || crate::replica::settings::KEYS.contains(&key)
        || defs::broker_key_def(key).is_some()
        || defs::TOPIC_CONFIGS
            .iter()
            .any(|d| d.synonyms.iter().any(|(k, _)| *k == key))
}

/// Parses Java properties text into key/value pairs (later keys win, as in Java).
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line.find(['=', ':']).unwrap_or(line.len());
        let key = line[..split].trim();
        let value = line.get(split + 1..).unwrap_or("").trim();
        out.insert(key.to_string(), value.to_string());
    }
    out
}

/// Applies `--override key=value` pairs on top of the file's settings.
pub fn apply_overrides(
    props: &mut BTreeMap<String, String>,
    overrides: &[String],
) -> Result<(), ConfigError> {
    for o in overrides {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| ConfigError::BadOverride(o.clone()))?;
        props.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(())
}

pub(crate) fn invalid(key: &str, value: &str, reason: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

pub(crate) fn number<T: std::str::FromStr>(
    props: &BTreeMap<String, String>,
    key: &str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match props.get(key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e| invalid(key, v, e)),
    }
}

/// `PLAINTEXT://host:port` (first listener; only PLAINTEXT is served for now).
fn parse_listener(key: &str, value: &str) -> Result<Listener, ConfigError> {
    let first = value.split(',').next().unwrap_or("").trim();
    let (scheme, rest) = first
        .split_once("://")
        .ok_or_else(|| invalid(key, value, "expected PLAINTEXT://host:port"))?;
    if !scheme.eq_ignore_ascii_case("PLAINTEXT") {
        return Err(invalid(
            key,
            value,
            "only PLAINTEXT listeners are supported",
        ));
    }
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| invalid(key, value, "missing port"))?;
    let port = port.parse().map_err(|e| invalid(key, value, e))?;
    Ok(Listener {
        host: host.trim_matches(['[', ']']).to_string(),
        port,
    })
}

impl BrokerConfig {
    /// Reads a `server.properties` file and applies overrides.
    pub fn load(path: &std::path::Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut props = parse_properties(&text);
        apply_overrides(&mut props, overrides)?;
        Self::from_properties(&props)
    }

    /// Builds the typed configuration, warning about keys nobody knows.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        for key in props.keys() {
            if !is_typed(key) && !KNOWN_UNUSED.contains(&key.as_str()) {
                tracing::warn!(key, "unknown configuration key ignored");
            }
        }
        let listener = match props.get("listeners") {
            Some(v) => parse_listener("listeners", v)?,
            None => Listener {
                host: String::new(),
                port: 9092,
            },
        };
        let advertised = match props.get("advertised.listeners") {
            Some(v) => parse_listener("advertised.listeners", v)?,
            // Kafka advertises the listener, and the canonical host name when it is a wildcard.
            None if listener.host.is_empty() || listener.host == "0.0.0.0" => Listener {
                host: "localhost".to_string(),
                port: listener.port,
            },
            None => listener.clone(),
        };
        let dirs = props
            .get("log.dirs")
            .or_else(|| props.get("log.dir"))
            .map(String::as_str)
            .unwrap_or("/tmp/kafka-logs");
        let log_dirs: Vec<PathBuf> = dirs
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .collect();
        if log_dirs.is_empty() {
            return Err(invalid("log.dirs", dirs, "no directory given"));
        }
        let zookeeper_connect = props
            .get("zookeeper.connect")
            .cloned()
            .ok_or(ConfigError::Missing("zookeeper.connect"))?;
        let auto = props
            .get("auto.create.topics.enable")
            .map(String::as_str)
            .unwrap_or("true");
        let auto_create_topics = match auto.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(invalid("auto.create.topics.enable", auto, "not a boolean")),
        };
        let topic_defaults = TopicDefaults::from_properties(props)
            .map_err(|bad| invalid(&bad.key, &bad.value, bad.reason))?;
        let config = BrokerConfig {
            broker_id: number(props, "broker.id", 0)?,
            listener,
            advertised,
            log_dirs,
            num_partitions: number(props, "num.partitions", 1)?,
            default_replication_factor: number(props, "default.replication.factor", 1)?,
            zookeeper_connect,
            zookeeper_session_timeout: Duration::from_millis(number(
                props,
                "zookeeper.session.timeout.ms",
                18_000,
            )?),
            auto_create_topics,
            message_max_bytes: number(props, "message.max.bytes", 1_048_588)?,
            max_partitions_per_topic: number(props, "ferry.max.partitions.per.topic", 10_000)?,
            http_port: props
                .get("ferry.http.port")
                .map(|v| v.parse().map_err(|e| invalid("ferry.http.port", v, e)))
                .transpose()?,
            console: ferry_console::ConsoleSettings::from_lookup(|k| {
                props.get(k).map(String::as_str)
            })?,
            socket: SocketSettings::from_properties(props)?,
            groups: GroupSettings::from_properties(props)?,
            replication: ReplicationSettings::from_properties(props)?,
            topic_defaults,
        };
        if config.broker_id < 0 {
            return Err(invalid(
                "broker.id",
                &config.broker_id.to_string(),
                "must be >= 0",
            ));
        }
        if config.max_partitions_per_topic < 1 {
            let v = config.max_partitions_per_topic.to_string();
            return Err(invalid(
                "ferry.max.partitions.per.topic",
                &v,
                "must be >= 1",
            ));
        }
        if config.num_partitions < 1 {
            let v = config.num_partitions.to_string();
            return Err(invalid("num.partitions", &v, "must be >= 1"));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_is_reached_locally_on_loopback_for_a_wildcard() {
        let at = |host: &str| {
            Listener {
                host: host.into(),
                port: 9092,
            }
            .local_address()
        };
        assert_eq!(at(""), "127.0.0.1:9092");
        assert_eq!(at("0.0.0.0"), "127.0.0.1:9092");
        assert_eq!(at("::"), "127.0.0.1:9092");
        assert_eq!(at("::1"), "[::1]:9092");
        assert_eq!(at("broker1"), "broker1:9092");
    }

    #[test]
    fn parses_a_typical_file_with_overrides() {
        let mut props = parse_properties(
            "# comment\nbroker.id=3\nlisteners=PLAINTEXT://0.0.0.0:9093\n\
             log.dirs=/a,/b\nzookeeper.connect=h:2181/kafka\nnum.partitions : 4\n",
        );
        apply_overrides(&mut props, &["broker.id=5".to_string()]).expect("override");
        let c = BrokerConfig::from_properties(&props).expect("valid");
        assert_eq!(c.broker_id, 5);
        assert_eq!(c.listener.port, 9093);
        assert_eq!(c.advertised.host, "localhost");
        assert_eq!(c.log_dirs.len(), 2);
        assert_eq!(c.num_partitions, 4);
        assert_eq!(c.zookeeper_connect, "h:2181/kafka");
        assert_eq!(c.groups.offsets_topic_num_partitions, 50);
        assert_eq!(c.groups.initial_rebalance_delay_ms, 3_000);
    }

    #[test]
    fn invalid_values_name_the_key() {
        let props = parse_properties("zookeeper.connect=h:1\nnum.partitions=x\n");
        let err = BrokerConfig::from_properties(&props).expect_err("invalid");
        assert!(err.to_string().contains("num.partitions"), "{err}");
        for bad in [
            "offsets.topic.num.partitions=0",
            "group.initial.rebalance.delay.ms=-1",
            "group.min.session.timeout.ms=x",
            "offsets.topic.replication.factor=0",
        ] {
            let props = parse_properties(&format!("zookeeper.connect=h:1\n{bad}\n"));
            let err = BrokerConfig::from_properties(&props).expect_err(bad);
            let key = bad.split('=').next().unwrap_or_default();
            assert!(err.to_string().contains(key), "{err}");
        }
        let props = parse_properties(
            "zookeeper.connect=h:1\ngroup.min.session.timeout.ms=10\n\
             group.max.session.timeout.ms=5\n",
        );
        let err = BrokerConfig::from_properties(&props).expect_err("max < min");
        assert!(
            err.to_string().contains("group.max.session.timeout.ms"),
            "{err}"
        );
        let props = parse_properties("zookeeper.connect=h:1\nlisteners=SSL://h:1\n");
        let err = BrokerConfig::from_properties(&props).expect_err("invalid");
        assert!(err.to_string().contains("listeners"), "{err}");
        let props = parse_properties("zookeeper.connect=h:1\nlog.retention.hours=soon\n");
        let err = BrokerConfig::from_properties(&props).expect_err("invalid");
        assert!(err.to_string().contains("log.retention.hours"), "{err}");
        let props = parse_properties("zookeeper.connect=h:1\ndelete.topic.enable=nope\n");
        let err = BrokerConfig::from_properties(&props).expect_err("invalid");
        assert!(err.to_string().contains("delete.topic.enable"), "{err}");
    }

    #[test]
    fn log_settings_become_topic_defaults() {
        let props = parse_properties(
            "zookeeper.connect=h:1\nlog.retention.hours=1\nlog.segment.bytes=2048\n\
             delete.topic.enable=false\nlog.retention.check.interval.ms=100\n",
        );
        let c = BrokerConfig::from_properties(&props).expect("valid");
        let d = &c.topic_defaults;
        assert_eq!(d.topic_value("retention.ms"), Some("3600000"));
        assert_eq!(d.topic_value("segment.bytes"), Some("2048"));
        assert!(!d.broker_bool("delete.topic.enable"));
        assert_eq!(d.broker_u64("log.retention.check.interval.ms"), 100);
    }
}
