//! `zoo.cfg`, read as ZooKeeper reads it: Java-properties `key=value` lines, the same keys and
//! defaults, plus the `myid` file in dataDir. Unknown keys are warned about; a value that does
//! not parse is an error naming the key.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid value {value:?} for {key}: {why}")]
    Invalid {
        key: String,
        value: String,
        why: String,
    },
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("invalid console settings: {0}")]
    Console(#[from] ferry_console::SettingsError),
}

/// One `server.N=host:quorumPort:electionPort[:role][;clientAddr:clientPort]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
    pub observer: bool,
    pub client: Option<String>,
}

impl ServerSpec {
    /// host:port where clients reach this server: the client part of its line, on the line's
    /// host when that part names no address (or a wildcard); `default_port` without one.
    pub fn client_address(&self, default_port: u16) -> String {
        match self.client.as_deref().map(split_client) {
            None => format!("{}:{default_port}", self.host),
            Some((Some(address), port)) if !matches!(address.trim(), "" | "0.0.0.0") => {
                format!("{}:{}", address.trim(), port.trim())
            }
            Some((_, port)) => format!("{}:{}", self.host, port.trim()),
        }
    }
}

/// A `server.N` line's client part, `[clientAddr:]clientPort`, as (address, port).
fn split_client(client: &str) -> (Option<&str>, &str) {
    match client.rsplit_once(':') {
        Some((address, port)) => (Some(address), port),
        None => (None, client),
    }
}

/// Which four-letter words are allowed (`4lw.commands.whitelist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whitelist {
    All,
    Only(BTreeSet<String>),
}

impl Whitelist {
    pub fn allows(&self, word: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(words) => words.contains(word),
        }
    }
}

#[derive(Debug, Clone)]
pub struct KeeperConfig {
    pub tick_time_ms: u32,
    pub init_limit: u32,
    pub sync_limit: u32,
    pub data_dir: PathBuf,
    pub data_log_dir: Option<PathBuf>,
    pub client_port: u16,
    pub client_port_address: Option<IpAddr>,
    pub max_client_cnxns: u32,
    pub min_session_timeout_ms: u32,
    pub max_session_timeout_ms: u32,
    pub snap_retain_count: usize,
    pub purge_interval_hours: u32,
    pub four_letter_words: Whitelist,
    pub extended_types: bool,
    pub jute_max_buffer: usize,
    pub servers: BTreeMap<u64, ServerSpec>,
    /// `dynamicConfigFile` (ZooKeeper 3.5+): where the `server.N` lines are, besides zoo.cfg.
    pub dynamic_config_file: Option<PathBuf>,
    pub my_id: Option<u64>,
    pub admin_enabled: bool,
    pub admin_address: IpAddr,
    pub admin_port: u16,
    pub force_sync: bool,
    pub snap_count: u64,
    pub super_digest: Option<String>,
    /// How often empty containers and expired TTL nodes are looked for
    /// (`znode.container.checkIntervalMs`, a JVM property in ZooKeeper; a zoo.cfg key here).
    pub container_check_interval_ms: u64,
    /// How long a new connection may stay silent before its handshake
    /// (`zookeeper.nio.sessionlessCnxnTimeout`, a JVM property in ZooKeeper).
    pub sessionless_timeout_ms: u64,
    /// `globalOutstandingLimit` (1000): writes in the pipeline at once; past it the server
    /// stops reading requests until some are done, as ZooKeeper throttles.
    pub global_outstanding_limit: usize,
    /// `peerType=observer`: this server means to be an observer (its `server.N` line must say
    /// so too, as ZooKeeper requires).
    pub peer_type_observer: bool,
    /// `readonlymode.enabled` (a JVM property in ZooKeeper; a zoo.cfg key here): a server
    /// without a quorum serves reads to clients that allow read-only sessions.
    pub read_only_mode: bool,
    /// `reconfigEnabled`: whether `reconfig` may change the ensemble (off by default, as in
    /// ZooKeeper 3.5.3+).
    pub reconfig_enabled: bool,
    /// The web console on the admin port (`ferry.console.*`).
    pub console: ferry_console::ConsoleSettings,
}

/// Keys ZooKeeper accepts that Ferry reads but has no use for (yet); no warning for these.
const ACCEPTED_KEYS: &[&str] = &[
    "preAllocSize",
    "standaloneEnabled",
    "reconfigEnabled",
    "skipACL",
    "quorumListenOnAllIPs",
    "electionAlg",
    "leaderServes",
    "cnxTimeout",
    "syncEnabled",
    "admin.commandURL",
    "admin.idleTimeout",
    "metricsProvider.className",
    "metricsProvider.httpPort",
    "metricsProvider.httpHost",
    "metricsProvider.exportJvmInfo",
    "dynamicConfigFile",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "authProvider.1",
    "zookeeper.DigestAuthenticationProvider.enabled",
    "sslQuorum",
    "portUnification",
    "secureClientPort",
    "serverCnxnFactory",
];

impl KeeperConfig {
    /// The configuration a keeper uses with no zoo.cfg: ZooKeeper's defaults, data in
    /// `data_dir`, every four-letter word allowed (a development setup).
    pub fn embedded(data_dir: PathBuf) -> Self {
        Self {
            tick_time_ms: 2000,
            init_limit: 10,
            sync_limit: 5,
            data_dir,
            data_log_dir: None,
            client_port: 2181,
            client_port_address: None,
            max_client_cnxns: 60,
            min_session_timeout_ms: 4000,
            max_session_timeout_ms: 40000,
            snap_retain_count: 3,
            purge_interval_hours: 0,
            four_letter_words: Whitelist::All,
            extended_types: false,
            jute_max_buffer: 0xfffff,
            servers: BTreeMap::new(),
            dynamic_config_file: None,
            my_id: None,
            admin_enabled: true,
            admin_address: IpAddr::from([0, 0, 0, 0]),
            admin_port: 8080,
            force_sync: true,
            snap_count: 100_000,
            super_digest: None,
            container_check_interval_ms: 60_000,
            sessionless_timeout_ms: 10_000,
            global_outstanding_limit: 1000,
            peer_type_observer: false,
            read_only_mode: false,
            reconfig_enabled: false,
            console: ferry_console::ConsoleSettings::default(),
        }
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_text(&text, None)
    }

    /// What [`Self::load`] makes of zoo.cfg text: parsed, with the dynamic configuration file
    /// and `myid` read. `default_my_id` stands in for a missing `myid` file (a combined node
    /// takes its broker id).
    pub fn from_text(text: &str, default_my_id: Option<u64>) -> Result<Self, ConfigError> {
        let mut config = Self::parse(text)?;
        if let Some(dynamic) = config.dynamic_config_file.clone() {
            config.read_dynamic(&dynamic)?;
        }
        config.my_id = read_myid(&config.data_dir)?.or(default_my_id);
        let own_client = config
            .my_id
            .and_then(|id| config.servers.get(&id))
            .and_then(|spec| spec.client.clone());
        if let Some(client) = own_client {
            config.apply_client_address(&client)?;
        }
        Ok(config)
    }

    /// Parses zoo.cfg text (without reading `myid`).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let props = parse_properties(text);
        let get = |key: &str| props.get(key).map(String::as_str);
        let mut config = Self::embedded(PathBuf::new());
        config.four_letter_words = Whitelist::Only(BTreeSet::from(["srvr".to_string()]));
        config.tick_time_ms = number(get, "tickTime")?.unwrap_or(3000);
        if config.tick_time_ms == 0 {
            return Err(invalid("tickTime", "0", "must be positive"));
        }
        config.init_limit = number(get, "initLimit")?.unwrap_or(config.init_limit);
        config.sync_limit = number(get, "syncLimit")?.unwrap_or(config.sync_limit);
        config.data_dir = get("dataDir")
            .map(PathBuf::from)
            .ok_or(ConfigError::Missing("dataDir"))?;
        config.data_log_dir = get("dataLogDir").map(PathBuf::from);
        config.client_port = number(get, "clientPort")?.unwrap_or(2181);
        config.client_port_address = parsed(get, "clientPortAddress")?;
        config.max_client_cnxns = number(get, "maxClientCnxns")?.unwrap_or(60);
        config.global_outstanding_limit = number(get, "globalOutstandingLimit")?.unwrap_or(1000);
        config.read_only_mode = get("readonlymode.enabled").is_some_and(|v| v == "true");
        config.reconfig_enabled = boolean(get, "reconfigEnabled")?.unwrap_or(false);
        config.peer_type_observer = match get("peerType") {
            None | Some("participant") => false,
            Some("observer") => true,
            Some(other) => {
                return Err(invalid(
                    "peerType",
                    other,
                    "expected participant or observer",
                ));
            }
        };
        let tick = config.tick_time_ms;
        config.min_session_timeout_ms = number(get, "minSessionTimeout")?.unwrap_or(2 * tick);
        config.max_session_timeout_ms = number(get, "maxSessionTimeout")?.unwrap_or(20 * tick);
        if config.min_session_timeout_ms > config.max_session_timeout_ms {
            return Err(invalid(
                "minSessionTimeout",
                &config.min_session_timeout_ms.to_string(),
                "must not be larger than maxSessionTimeout",
            ));
        }
        config.snap_retain_count = number(get, "autopurge.snapRetainCount")?
            .unwrap_or(3)
            .max(3);
        config.purge_interval_hours = number(get, "autopurge.purgeInterval")?.unwrap_or(0);
        if let Some(list) = get("4lw.commands.whitelist") {
            config.four_letter_words = parse_whitelist(list);
        }
        config.extended_types = boolean(get, "extendedTypesEnabled")?.unwrap_or(false);
        config.jute_max_buffer = number(get, "jute.maxbuffer")?.unwrap_or(0xfffff);
        config.admin_enabled = boolean(get, "admin.enableServer")?.unwrap_or(true);
        config.admin_address =
            parsed(get, "admin.serverAddress")?.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        config.admin_port = number(get, "admin.serverPort")?.unwrap_or(8080);
        config.force_sync = match get("forceSync") {
            None => true,
            Some(v) => !v.eq_ignore_ascii_case("no"),
        };
        config.snap_count = number(get, "snapCount")?.unwrap_or(100_000).max(2);
        config.super_digest = get("superDigest")
            .or_else(|| get("zookeeper.DigestAuthenticationProvider.superDigest"))
            .map(str::to_string);
        config.container_check_interval_ms = number(get, "znode.container.checkIntervalMs")?
            .unwrap_or(60_000)
            .max(1);
        config.sessionless_timeout_ms =
            number(get, "zookeeper.nio.sessionlessCnxnTimeout")?.unwrap_or(10_000);
        config.dynamic_config_file = get("dynamicConfigFile").map(PathBuf::from);
        config.console = ferry_console::ConsoleSettings::from_lookup(get)?;
        for (key, value) in &props {
            if let Some((id, spec)) = server_line(key, value)? {
                config.servers.insert(id, spec);
            } else if !is_known_key(key) {
                tracing::warn!(key = %key, "unknown zoo.cfg key ignored");
            }
        }
        Ok(config)
    }

    /// Adds the `server.N` lines of ZooKeeper 3.5+'s dynamic configuration file.
    fn read_dynamic(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        for (key, value) in parse_properties(&text) {
            if let Some((id, spec)) = server_line(&key, &value)? {
                self.servers.insert(id, spec);
            } else if key != "version" {
                tracing::warn!(key = %key, path = %path.display(), "unknown dynamic config key ignored");
            }
        }
        Ok(())
    }

    /// Takes the client address of this server's `server.N` line (`[clientAddr:]clientPort`,
    /// after the `;`), which ZooKeeper 3.5+ lets stand in for `clientPort`.
    fn apply_client_address(&mut self, client: &str) -> Result<(), ConfigError> {
        let key = "server.N client address";
        let (addr, port) = split_client(client);
        self.client_port = port
            .trim()
            .parse()
            .map_err(|e: std::num::ParseIntError| invalid(key, client, &e.to_string()))?;
        if let Some(addr) = addr {
            let ip: IpAddr = addr
                .trim()
                .parse()
                .map_err(|e: std::net::AddrParseError| invalid(key, client, &e.to_string()))?;
            self.client_port_address = Some(ip);
        }
        Ok(())
    }

    /// Where the raft log lives: dataLogDir if set, else dataDir.
    pub fn log_dir(&self) -> PathBuf {
        self.data_log_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.clone())
            .join("raft")
    }

    /// Clamps a requested session timeout into [min, max], as ZooKeeper negotiates it.
    pub fn negotiate_timeout(&self, requested_ms: i32) -> i32 {
        let min = self.min_session_timeout_ms as i32;
        let max = self.max_session_timeout_ms as i32;
        requested_ms.clamp(min, max)
    }
}

/// Whether zoo.cfg knows `key` (a `server.N` line or a setting): a file that holds a node's
/// keeper and broker settings together is split by this.
pub fn is_keeper_key(key: &str) -> bool {
    // `group.N` and `weight.N` (hierarchical quorums) but not Kafka's `group.*` settings.
    let numbered = |prefix: &str| {
        key.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if key.starts_with("group.") || key.starts_with("weight.") {
        return numbered("group.") || numbered("weight.");
    }
    key.starts_with("server.") || is_known_key(key)
}

fn is_known_key(key: &str) -> bool {
    const READ: &[&str] = &[
        "tickTime",
        "initLimit",
        "syncLimit",
        "dataDir",
        "dataLogDir",
        "clientPort",
        "clientPortAddress",
        "maxClientCnxns",
        "minSessionTimeout",
        "maxSessionTimeout",
        "autopurge.snapRetainCount",
        "autopurge.purgeInterval",
        "4lw.commands.whitelist",
        "extendedTypesEnabled",
        "jute.maxbuffer",
        "admin.enableServer",
        "admin.serverAddress",
        "admin.serverPort",
        "forceSync",
        "snapCount",
        "superDigest",
        "zookeeper.DigestAuthenticationProvider.superDigest",
        "znode.container.checkIntervalMs",
        "zookeeper.nio.sessionlessCnxnTimeout",
        "peerType",
        "readonlymode.enabled",
        "globalOutstandingLimit",
    ];
    READ.contains(&key)
        || ACCEPTED_KEYS.contains(&key)
        || ferry_console::is_console_key(key)
        || key.starts_with("group.")
        || key.starts_with("weight.")
}

/// Java `Properties` lines: `key=value`, `key: value` or `key value`; `#`/`!` comments.
fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut props = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line
            .find(['=', ':'])
            .or_else(|| line.find(char::is_whitespace));
        let (key, value) = match split {
            Some(at) => (&line[..at], &line[at + 1..]),
            None => (line, ""),
        };
        props.insert(key.trim().to_string(), value.trim().to_string());
    }
    props
}

fn invalid(key: &str, value: &str, why: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        value: value.to_string(),
        why: why.to_string(),
    }
}

fn parsed<'a, T: std::str::FromStr>(
    get: impl Fn(&str) -> Option<&'a str>,
    key: &str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    get(key)
        .map(|v| v.parse::<T>().map_err(|e| invalid(key, v, &e.to_string())))
        .transpose()
}

fn number<'a, T: std::str::FromStr>(
    get: impl Fn(&str) -> Option<&'a str>,
    key: &str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    parsed(get, key)
}

fn boolean<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    key: &str,
) -> Result<Option<bool>, ConfigError> {
    get(key)
        .map(|v| match v.to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(true),
            "false" | "no" => Ok(false),
            _ => Err(invalid(key, v, "expected true or false")),
        })
        .transpose()
}

fn parse_whitelist(list: &str) -> Whitelist {
    let words: BTreeSet<String> = list
        .split(',')
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty())
        .collect();
    if words.contains("*") {
        Whitelist::All
    } else {
        Whitelist::Only(words)
    }
}

/// A `server.N` line as (N, spec); `None` for any other key.
fn server_line(key: &str, value: &str) -> Result<Option<(u64, ServerSpec)>, ConfigError> {
    let Some(id) = key.strip_prefix("server.") else {
        return Ok(None);
    };
    let id = id
        .parse()
        .map_err(|_| invalid(key, value, "server id must be a number"))?;
    Ok(Some((id, parse_server(key, value)?)))
}

/// Parses the value of a `server.N` line (`key` names it in errors).
pub fn parse_server(key: &str, value: &str) -> Result<ServerSpec, ConfigError> {
    let (quorum, client) = match value.split_once(';') {
        Some((q, c)) => (q, Some(c.trim().to_string())),
        None => (value, None),
    };
    let parts: Vec<&str> = quorum.split(':').collect();
    if parts.len() < 3 {
        return Err(invalid(key, value, "expected host:quorumPort:electionPort"));
    }
    let port = |s: &str| {
        s.parse::<u16>()
            .map_err(|e| invalid(key, value, &format!("port {s:?}: {e}")))
    };
    let observer = match parts.get(3).copied() {
        None | Some("participant") => false,
        Some("observer") => true,
        Some(other) => return Err(invalid(key, value, &format!("unknown role {other:?}"))),
    };
    Ok(ServerSpec {
        host: parts[0].to_string(),
        quorum_port: port(parts[1])?,
        election_port: port(parts[2])?,
        observer,
        client,
    })
}

fn read_myid(data_dir: &Path) -> Result<Option<u64>, ConfigError> {
    let path = data_dir.join("myid");
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: std::num::ParseIntError| invalid("myid", text.trim(), &e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_line_names_where_its_clients_connect() {
        let at = |value: &str| {
            parse_server("server.2", value)
                .unwrap()
                .client_address(2181)
        };
        assert_eq!(at("h2:2888:3888"), "h2:2181");
        assert_eq!(at("h2:2888:3888;2182"), "h2:2182");
        assert_eq!(at("h2:2888:3888;0.0.0.0:2183"), "h2:2183");
        assert_eq!(at("h2:2888:3888;10.0.0.2:2184"), "10.0.0.2:2184");
    }

    #[test]
    fn sample_config_parses_with_zookeeper_defaults() {
        let config = KeeperConfig::parse(
            "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zk\nclientPort=2181\n\
             # comment\nserver.1=zk1:2888:3888\nserver.2=zk2:2888:3888:observer;0.0.0.0:2181\n\
             4lw.commands.whitelist=ruok, srvr\n",
        )
        .unwrap();
        assert_eq!(config.min_session_timeout_ms, 4000);
        assert_eq!(config.max_session_timeout_ms, 40000);
        assert_eq!(config.servers.len(), 2);
        assert!(config.servers[&2].observer);
        assert!(config.four_letter_words.allows("ruok"));
        assert!(!config.four_letter_words.allows("stat"));
        assert_eq!(config.negotiate_timeout(100), 4000);
        assert_eq!(config.negotiate_timeout(1_000_000), 40000);
    }

    #[test]
    fn a_dynamic_config_file_holds_the_servers() {
        let dir = tempfile::tempdir().unwrap();
        let dynamic = dir.path().join("zoo.cfg.dynamic.100000000");
        std::fs::write(
            &dynamic,
            "server.1=zk1:2888:3888:participant;2181\nserver.2=zk2:2888:3888;2181\n\
             server.3=zk3:2888:3888:observer;2181\nversion=100000000\n",
        )
        .unwrap();
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\ndataDir={}\ndynamicConfigFile={}\n",
                dir.path().display(),
                dynamic.display()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("myid"), "2\n").unwrap();
        let config = KeeperConfig::load(&cfg).unwrap();
        assert_eq!(config.servers.len(), 3);
        assert!(config.servers[&3].observer);
        assert_eq!(config.client_port, 2181, "from this server's own line");
        std::fs::remove_file(&dynamic).unwrap();
        let missing = KeeperConfig::load(&cfg).unwrap_err().to_string();
        assert!(missing.contains("zoo.cfg.dynamic"), "{missing}");
    }

    #[test]
    fn invalid_values_name_the_key() {
        let error = KeeperConfig::parse("dataDir=/x\nclientPort=abc\n").unwrap_err();
        assert!(error.to_string().contains("clientPort"), "{error}");
        let error = KeeperConfig::parse("clientPort=1\n").unwrap_err();
        assert!(error.to_string().contains("dataDir"), "{error}");
    }
}
