//! `ferry broker start|stop --config server.properties [--override k=v]`, after
//! kafka-server-start.sh and kafka-server-stop.sh: `start` daemonizes (as `ferry keeper start`
//! does) with its pid file `kafka_server.pid` and its output `ferry-broker.out` in the first
//! log.dirs directory; `--foreground` stays attached and logs to stderr.

use std::ffi::OsString;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferry_broker::{net, Broker, BrokerConfig};

use crate::daemon::{Daemon, PidFile};
use crate::keeper_cmd::{init_tracing, shutdown_signal};

/// The broker's pid file, in the first log.dirs directory.
const PID_FILE: &str = "kafka_server.pid";
/// The background broker's stdout and stderr, in the first log.dirs directory.
const LOG_FILE: &str = "ferry-broker.out";

#[derive(clap::Args)]
pub struct BrokerArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Start the broker, in the background unless --foreground: its pid file is
    /// kafka_server.pid and its output goes to ferry-broker.out, both in the first log.dirs
    /// directory.
    Start {
        /// The broker's server.properties.
        #[arg(long)]
        config: PathBuf,
        /// Set a property, overriding the file (repeatable).
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Stay attached and log to stderr.
        #[arg(long)]
        foreground: bool,
    },
    /// Stop a broker started in the background: signals the process named by kafka_server.pid
    /// in the first log.dirs directory and waits for it to exit.
    Stop {
        /// The broker's server.properties (to find log.dirs).
        #[arg(long)]
        config: PathBuf,
        /// Set a property, overriding the file (repeatable), as given to start.
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
}

pub fn run(args: BrokerArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    match args.action {
        Action::Start {
            config: path,
            overrides,
            foreground,
        } => {
            let config = load(&path, &overrides)?;
            if foreground {
                run_foreground(config)
            } else {
                start_daemon(&config, &path, &overrides)
            }
        }
        Action::Stop {
            config: path,
            overrides,
        } => daemon(&load(&path, &overrides)?).stop(),
    }
}

fn load(path: &Path, overrides: &[String]) -> anyhow::Result<BrokerConfig> {
    BrokerConfig::load(path, overrides)
        .with_context(|| format!("invalid configuration {}", path.display()))
}

/// The pid file and output file live in the first log.dirs directory.
pub(crate) fn daemon(config: &BrokerConfig) -> Daemon<'static> {
    let dir = &config.log_dirs[0];
    Daemon {
        name: "broker",
        pid_file: dir.join(PID_FILE),
        log_file: dir.join(LOG_FILE),
    }
}

pub(crate) fn run_foreground(config: BrokerConfig) -> anyhow::Result<ExitCode> {
    let dir = &config.log_dirs[0];
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create log.dirs directory {}", dir.display()))?;
    let pid_file = PidFile::create(dir.join(PID_FILE))?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(serve_until_signal(config));
    drop(pid_file);
    result.map(|()| ExitCode::SUCCESS)
}

fn start_daemon(
    config: &BrokerConfig,
    path: &Path,
    overrides: &[String],
) -> anyhow::Result<ExitCode> {
    let mut args: Vec<OsString> = vec![
        "broker".into(),
        "start".into(),
        "--foreground".into(),
        "--config".into(),
        path.into(),
    ];
    for item in overrides {
        args.push("--override".into());
        args.push(item.into());
    }
    let addresses = client_addresses(config);
    daemon(config).start(&args, || {
        addresses
            .iter()
            .any(|a| TcpStream::connect_timeout(a, Duration::from_secs(1)).is_ok())
    })
}

/// Where a client on this host reaches the listener (loopback for a wildcard host).
pub(crate) fn client_addresses(config: &BrokerConfig) -> Vec<SocketAddr> {
    config
        .listener
        .local_address()
        .to_socket_addrs()
        .map(|a| a.collect())
        .unwrap_or_default()
}

/// Starts a broker, serves it until SIGTERM/SIGINT, then closes its logs.
pub async fn serve_until_signal(config: BrokerConfig) -> anyhow::Result<()> {
    serve_with_until_signal(config, Arc::new(ferry_zkclient::TcpDialer)).await
}

/// [`serve_until_signal`] with the broker's ZooKeeper connections opened by `dialer`.
pub async fn serve_with_until_signal(
    config: BrokerConfig,
    dialer: Arc<dyn ferry_zkclient::Dialer>,
) -> anyhow::Result<()> {
    let broker = Broker::start_with(config, dialer).await?;
    serve_started_until_signal(broker).await
}

/// Serves a started broker until SIGTERM/SIGINT, then shuts it down (a controlled shutdown).
pub async fn serve_started_until_signal(broker: Arc<Broker>) -> anyhow::Result<()> {
    ferry_broker::metrics::spawn(&broker).await;
    let listener = net::bind(&broker).await?;
    tracing::info!(addr = ?listener.local_addr().ok(), "broker serving clients");
    let mut accepting = tokio::spawn(net::accept_loop(broker.clone(), listener));
    tokio::select! {
        _ = &mut accepting => {}
        () = shutdown_signal() => tracing::info!("shutting down"),
    }
    // Still accepting clients while the leaderships move, as Kafka does.
    broker.hand_over().await;
    accepting.abort();
    broker.close().await;
    Ok(())
}
