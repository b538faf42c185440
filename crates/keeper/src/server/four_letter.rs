//! The four-letter words: a client that sends one of these four bytes instead of a frame
//! length gets a plain-text answer and a closed connection, as with ZooKeeper.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::Keeper;
use crate::watches::Table;

pub const VERSION: &str = concat!("3.8.4-ferry-", env!("CARGO_PKG_VERSION"));

const WORDS: &[&str] = &[
    "ruok", "srvr", "stat", "mntr", "conf", "cons", "envi", "wchs", "wchc", "wchp", "dump", "isro",
    "srst", "crst",
];

/// The answer to `prefix` if it is a four-letter word, `None` if it is a frame length.
pub fn answer(keeper: &Keeper, prefix: &[u8; 4]) -> Option<String> {
    let word = std::str::from_utf8(prefix).ok()?;
    if !WORDS.contains(&word) {
        return None;
    }
    if !keeper.config.four_letter_words.allows(word) {
        tracing::info!(word, "four-letter word not in 4lw.commands.whitelist");
        return Some(format!(
            "{word} is not executed because it is not in the whitelist.\n"
        ));
    }
    // ZooKeeper's answer from a server that is not serving (an ensemble server without a
    // quorum); zkServer.sh status reports such a server as not running.
    if matches!(word, "srvr" | "stat") && !keeper.is_serving() {
        return Some("This ZooKeeper instance is not currently serving requests\n".to_string());
    }
    Some(match word {
        "ruok" => "imok".to_string(),
        "srvr" => srvr(keeper, false),
        "stat" => srvr(keeper, true),
        "mntr" => mntr(keeper),
        "conf" => conf(keeper),
        "cons" => cons(keeper),
        "envi" => envi(),
        "wchs" => wchs(keeper),
        "wchc" => watches_by(keeper, true),
        "wchp" => watches_by(keeper, false),
        "dump" => dump(keeper),
        "isro" => if keeper.is_serving() {
            "rw"
        } else if keeper.config.read_only_mode {
            "ro"
        } else {
            "null"
        }
        .to_string(),
        "srst" => {
            keeper.stats.reset();
            "Server stats reset.\n".to_string()
        }
        _ => {
            keeper.registry.reset_counters();
            "Connection stats reset.\n".to_string()
        }
    })
}

/// `standalone` for a one-voter group, else the server's role in the ensemble.
pub fn mode(keeper: &Keeper) -> &'static str {
    let Some(ensemble) = &keeper.ensemble else {
        return "standalone";
    };
    if ensemble.me().observer {
        "observer"
    } else if keeper.is_leader() {
        "leader"
    } else {
        "follower"
    }
}

fn srvr(keeper: &Keeper, with_clients: bool) -> String {
    let (min, avg, max) = keeper.stats.latency_ms();
    let (zxid, nodes) = {
        let state = keeper.shared.read();
        (state.db.last_zxid, state.db.tree.node_count())
    };
    let mut out = format!("Zookeeper version: {VERSION}, built on ferry\n");
    if with_clients {
        out.push_str("Clients:\n");
        out.push_str(&cons(keeper));
        out.push('\n');
    }
    let _ = write!(
        out,
        "Latency min/avg/max: {min}/{avg:.4}/{max}\nReceived: {}\nSent: {}\nConnections: {}\n\
         Outstanding: {}\nZxid: 0x{zxid:x}\nMode: {}\nNode count: {nodes}\n",
        keeper.stats.packets_received.load(Ordering::Relaxed),
        keeper.stats.packets_sent.load(Ordering::Relaxed),
        keeper.registry.len(),
        keeper.stats.outstanding.load(Ordering::Relaxed).max(0),
        mode(keeper),
    );
    out
}

/// `mntr` and the Prometheus endpoint share these figures.
pub fn metrics(keeper: &Keeper) -> Vec<(&'static str, String)> {
    let (min, avg, max) = keeper.stats.latency_ms();
    let state = keeper.shared.read();
    let tree = &state.db.tree;
    let ephemerals: usize = tree.ephemeral_sessions().map(|(_, n)| n).sum();
    let data_size: usize = tree
        .nodes()
        .map(|(p, n)| p.len() + n.data.as_ref().map_or(0, |d| d.len()))
        .sum();
    let watch_count = keeper.shared.watches().watch_count();
    vec![
        ("zk_version", VERSION.to_string()),
        ("zk_server_state", mode(keeper).to_string()),
        ("zk_avg_latency", format!("{avg:.4}")),
        ("zk_max_latency", max.to_string()),
        ("zk_min_latency", min.to_string()),
        (
            "zk_packets_received",
            keeper
                .stats
                .packets_received
                .load(Ordering::Relaxed)
                .to_string(),
        ),
        (
            "zk_packets_sent",
            keeper
                .stats
                .packets_sent
                .load(Ordering::Relaxed)
                .to_string(),
        ),
        (
            "zk_num_alive_connections",
            keeper.registry.len().to_string(),
        ),
        (
            "zk_outstanding_requests",
            keeper
                .stats
                .outstanding
                .load(Ordering::Relaxed)
                .max(0)
                .to_string(),
        ),
        ("zk_znode_count", tree.node_count().to_string()),
        ("zk_watch_count", watch_count.to_string()),
        ("zk_ephemerals_count", ephemerals.to_string()),
        ("zk_approximate_data_size", data_size.to_string()),
        ("zk_global_sessions", state.db.sessions.len().to_string()),
        ("zk_last_zxid", state.db.last_zxid.to_string()),
        (
            "zk_uptime",
            keeper.started.elapsed().as_millis().to_string(),
        ),
    ]
    .into_iter()
    .chain(crate::ensemble::metrics::ensemble_metrics(keeper))
    .chain(limit_metrics(keeper))
    .collect()
}

/// The client limits reached since start (ZooKeeper's names where it has the figure).
fn limit_metrics(keeper: &Keeper) -> Vec<(&'static str, String)> {
    let limits = &keeper.limits;
    let count = |name, counter: &ferry_net::LimitCounter| (name, counter.count().to_string());
    vec![
        count(
            "zk_connection_rejected",
            &keeper.registry.quotas.per_ip_refused,
        ),
        count("zk_request_throttle_wait_count", &limits.throttled),
        count("zk_large_requests_rejected", &limits.oversize),
        count("zk_connections_closed_slow_reader", &limits.slow_readers),
        count("zk_connections_closed_idle", &limits.idle_closed),
        count("zk_handshake_timeouts", &limits.handshake_timeouts),
        ("zk_request_bytes_in_flight", limits.pool.used().to_string()),
    ]
}

fn mntr(keeper: &Keeper) -> String {
    metrics(keeper)
        .into_iter()
        .map(|(k, v)| format!("{k}\t{v}\n"))
        .collect()
}

fn conf(keeper: &Keeper) -> String {
    let c = &keeper.config;
    let mut out = String::new();
    let _ = writeln!(out, "clientPort={}", c.client_port);
    if let Some(addr) = c.client_port_address {
        let _ = writeln!(out, "clientPortAddress={addr}");
    }
    let _ = writeln!(out, "dataDir={}", c.data_dir.display());
    let _ = writeln!(out, "dataDirSize={}", dir_size(&c.data_dir));
    let log_dir = c.data_log_dir.as_ref().unwrap_or(&c.data_dir);
    let _ = writeln!(out, "dataLogDir={}", log_dir.display());
    let _ = writeln!(out, "dataLogSize={}", dir_size(&c.log_dir()));
    let _ = writeln!(out, "tickTime={}", c.tick_time_ms);
    let _ = writeln!(out, "maxClientCnxns={}", c.max_client_cnxns);
    let _ = writeln!(out, "minSessionTimeout={}", c.min_session_timeout_ms);
    let _ = writeln!(out, "maxSessionTimeout={}", c.max_session_timeout_ms);
    let _ = writeln!(out, "clientPortListenBacklog=-1");
    let _ = writeln!(out, "serverId={}", c.my_id.unwrap_or(0));
    out
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn cons(keeper: &Keeper) -> String {
    let mut out = String::new();
    for (peer, session, received, sent) in keeper.registry.snapshot() {
        let _ = writeln!(
            out,
            " /{peer}[1](queued=0,recved={received},sent={sent},sid=0x{session:x})"
        );
    }
    out
}

fn envi() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_default();
    format!(
        "Environment:\nzookeeper.version={VERSION}\nhost.name={}\nos.name={}\nos.arch={}\n\
         user.dir={}\nferry.pid={}\n",
        host.trim(),
        std::env::consts::OS,
        std::env::consts::ARCH,
        cwd.display(),
        std::process::id()
    )
}

fn wchs(keeper: &Keeper) -> String {
    let watches = keeper.shared.watches();
    let mut watchers = std::collections::HashSet::new();
    let mut paths = 0;
    for table in [Table::Data, Table::Child] {
        for by in watches.table(table).values() {
            paths += 1;
            watchers.extend(by.keys().copied());
        }
    }
    format!(
        "{} connections watching {paths} paths\nTotal watches:{}\n",
        watchers.len(),
        watches.watch_count()
    )
}

fn watches_by(keeper: &Keeper, by_session: bool) -> String {
    // Watches belong to connections; ZooKeeper lists them by the connection's session.
    let sessions = keeper.registry.sessions();
    let watches = keeper.shared.watches();
    let mut grouped: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for table in [Table::Data, Table::Child] {
        for (path, by) in watches.table(table) {
            for watcher in by.keys() {
                let watcher = format!("0x{:x}", sessions.get(watcher).copied().unwrap_or(0));
                let (key, value) = if by_session {
                    (watcher, path.clone())
                } else {
                    (path.clone(), watcher)
                };
                grouped.entry(key).or_default().insert(value);
            }
        }
    }
    let mut out = String::new();
    for (key, values) in grouped {
        let _ = writeln!(out, "{key}");
        for value in values {
            let _ = writeln!(out, "\t{value}");
        }
    }
    out
}

fn dump(keeper: &Keeper) -> String {
    let state = keeper.shared.read();
    let mut out = format!(
        "SessionTracker dump:\nGlobal Sessions({}):\n",
        state.db.sessions.len()
    );
    for (id, info) in &state.db.sessions {
        let _ = writeln!(out, "0x{id:x}\t{}ms", info.timeout_ms);
    }
    let sessions: Vec<(i64, usize)> = state.db.tree.ephemeral_sessions().collect();
    let _ = writeln!(
        out,
        "ephemeral nodes dump:\nSessions with Ephemerals ({}):",
        sessions.len()
    );
    for (session, _) in sessions {
        let _ = writeln!(out, "0x{session:x}:");
        for path in state.db.tree.ephemerals_of(session) {
            let _ = writeln!(out, "\t{path}");
        }
    }
    out
}
