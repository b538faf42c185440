//! What every Kafka tool shares: the bootstrap flags, `k=v` properties, a runtime, a client.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use ferry_kafka_client::{Client, ClientConfig};

/// `--bootstrap-server` (and the older `--broker-list` spelling the console producer had).
#[derive(Args, Debug, Clone)]
pub struct Bootstrap {
    /// The Kafka server(s) to connect to: host:port[,host:port...].
    #[arg(
        long = "bootstrap-server",
        alias = "broker-list",
        value_name = "HOST:PORT"
    )]
    pub bootstrap_server: Option<String>,
    /// Seconds to wait for a connection and for each response.
    #[arg(long = "request-timeout-s", default_value_t = 30, value_name = "S")]
    pub timeout_s: u64,
}

impl Bootstrap {
    /// Connects, with a client id naming the tool.
    pub async fn connect(&self, tool: &str) -> anyhow::Result<Client> {
        let Some(servers) = &self.bootstrap_server else {
            bail!("Missing required argument \"[bootstrap-server]\"");
        };
        let timeout = Duration::from_secs(self.timeout_s.max(1));
        let config = ClientConfig {
            client_id: tool.to_string(),
            connect_timeout: timeout.min(Duration::from_secs(10)),
            request_timeout: timeout,
        };
        Client::connect(servers, config)
            .await
            .with_context(|| format!("cannot reach the Kafka cluster at {servers}"))
    }
}

/// Parses `k=v` items (each may itself be a comma-separated list when `split_commas`).
pub fn properties(
    items: &[String],
    split_commas: bool,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for item in items {
        let parts: Vec<&str> = if split_commas {
            item.split(',').collect()
        } else {
            vec![item.as_str()]
        };
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((k, v)) = part.split_once('=') else {
                bail!("invalid property {part:?}: expected key=value");
            };
            out.insert(k.trim().to_string(), v.to_string());
        }
    }
    Ok(out)
}

/// A property parsed to `T`, or `default`.
pub fn property<T: std::str::FromStr>(
    props: &BTreeMap<String, String>,
    key: &str,
    default: T,
) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match props.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid value {v:?} for {key}: {e}")),
    }
}

/// Kafka's `acks` values: all = -1.
pub fn acks(props: &BTreeMap<String, String>, default: i16) -> anyhow::Result<i16> {
    match props.get("acks").map(String::as_str) {
        None => Ok(default),
        Some("all") => Ok(-1),
        Some(v) => match v.parse::<i16>() {
            Ok(n @ -1..=1) => Ok(n),
            _ => bail!("invalid value {v:?} for acks: expected all, -1, 0 or 1"),
        },
    }
}

/// Runs a tool's async body on a small runtime.
pub fn run_async<F: std::future::Future<Output = anyhow::Result<std::process::ExitCode>>>(
    body: F,
) -> anyhow::Result<std::process::ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(body)
}

/// Kafka's `Uuid.toString`: URL-safe base64 without padding.
pub fn topic_id(id: &[u8; 16]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// `[1,2,3]` lists as Kafka prints them in describe output: `1,2,3`.
pub fn join_ids(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
