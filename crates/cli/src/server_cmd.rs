//! `ferry server start|stop`: one node of a combined cluster, a keeper and a broker in one
//! process. Three such nodes are a highly available ZooKeeper + Kafka cluster: each keeper is
//! a member of the ensemble, each broker keeps its metadata in that ensemble over ordinary
//! ZooKeeper sessions (to every keeper, not only its own, so that a node whose keeper lost
//! its quorum still reaches the others). Settings come from the usual zoo.cfg + myid and
//! server.properties, or from one file holding both (see `node_config`).
//!
//! `start` daemonizes as `ferry keeper start` does (pid file `ferry_server.pid` and output
//! `ferry-server.out` in dataDir); `--foreground` stays attached. On SIGTERM the broker stops
//! first (a controlled shutdown, which needs the keepers), then the keeper.

use std::ffi::OsString;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferry_broker::{Broker, BrokerConfig, BrokerError};
use ferry_keeper::server::Keeper;

use crate::broker_cmd::{client_addresses, serve_started_until_signal};
use crate::daemon::{Daemon, PidFile};
use crate::keeper_cmd::{client_address, four_letter_to, init_tracing, shutdown_signal};
use crate::node_config::{NodeConfig, NodeFiles};

const PID_FILE: &str = "ferry_server.pid";
const LOG_FILE: &str = "ferry-server.out";
/// Pause between attempts to reach the ensemble while it forms.
const ENSEMBLE_RETRY: Duration = Duration::from_secs(1);

#[derive(clap::Args)]
pub struct ServerArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Args, Clone)]
struct Files {
    /// One file with the node's zoo.cfg and server.properties settings side by side.
    #[arg(
        long,
        required_unless_present = "keeper_config",
        conflicts_with = "keeper_config"
    )]
    config: Option<PathBuf>,
    /// The node's zoo.cfg (with --broker-config; myid in its dataDir as usual).
    #[arg(long, requires = "broker_config")]
    keeper_config: Option<PathBuf>,
    /// The node's server.properties (with --keeper-config).
    #[arg(long, requires = "keeper_config")]
    broker_config: Option<PathBuf>,
    /// Set a broker property, overriding the files (repeatable).
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

impl Files {
    fn load(&self) -> anyhow::Result<NodeConfig> {
        let files = match (&self.config, &self.keeper_config, &self.broker_config) {
            (Some(path), _, _) => NodeFiles::Combined(path),
            (None, Some(keeper), Some(broker)) => NodeFiles::Separate { keeper, broker },
            _ => anyhow::bail!("give --config, or --keeper-config and --broker-config"),
        };
        NodeConfig::load(files, &self.overrides)
    }

    /// The same files as arguments, for the background process.
    fn as_args(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        let mut push = |flag: &str, value: &OsString| {
            args.push(OsString::from(flag));
            args.push(value.clone());
        };
        for (flag, path) in [
            ("--config", &self.config),
            ("--keeper-config", &self.keeper_config),
            ("--broker-config", &self.broker_config),
        ] {
            if let Some(path) = path {
                push(flag, &path.clone().into_os_string());
            }
        }
        for item in &self.overrides {
            push("--override", &item.into());
        }
        args
    }
}

#[derive(clap::Subcommand)]
enum Action {
    /// Start the node (in the background unless --foreground).
    Start {
        #[command(flatten)]
        files: Files,
        /// Stay attached and log to stderr.
        #[arg(long)]
        foreground: bool,
    },
    /// Stop a node started in the background (its broker with a controlled shutdown).
    Stop {
        #[command(flatten)]
        files: Files,
    },
}

pub fn run(args: ServerArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    match args.action {
        Action::Start { files, foreground } => {
            let node = files.load()?;
            if foreground {
                run_foreground(node)
            } else {
                start_daemon(&node, &files)
            }
        }
        Action::Stop { files } => daemon(&files.load()?).stop(),
    }
}

fn daemon(node: &NodeConfig) -> Daemon<'static> {
    Daemon {
        name: "server",
        pid_file: node.keeper.data_dir.join(PID_FILE),
        log_file: node.keeper.data_dir.join(LOG_FILE),
    }
}

fn start_daemon(node: &NodeConfig, files: &Files) -> anyhow::Result<ExitCode> {
    let mut args: Vec<OsString> = vec!["server".into(), "start".into(), "--foreground".into()];
    args.extend(files.as_args());
    let keeper = client_address(&node.keeper);
    let brokers = client_addresses(&node.broker);
    // Ready once the keeper answers and the broker listens: the broker listens only after
    // the ensemble formed and it registered.
    daemon(node).start(&args, || {
        four_letter_to(keeper, "ruok").is_ok_and(|a| a == "imok")
            && brokers
                .iter()
                .any(|a| TcpStream::connect_timeout(a, Duration::from_secs(1)).is_ok())
    })
}

pub(crate) fn run_foreground(node: NodeConfig) -> anyhow::Result<ExitCode> {
    let data_dir = node.keeper.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create dataDir {}", data_dir.display()))?;
    let pid_file = PidFile::create(data_dir.join(PID_FILE))?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(serve_node(node));
    drop(pid_file);
    result.map(|()| ExitCode::SUCCESS)
}

/// Runs both halves until SIGTERM/SIGINT (or until the keeper fails).
async fn serve_node(node: NodeConfig) -> anyhow::Result<()> {
    let keeper = Keeper::start(node.keeper).await?;
    ferry_keeper::server::admin_http::spawn(&keeper).await;
    let served = tokio::select! {
        served = keeper.clone().serve() => {
            served.context("the keeper stopped")?;
            Ok(())
        }
        served = start_and_serve_broker(node.broker) => served,
    };
    keeper.shutdown().await;
    served
}

/// Starts the broker once the ensemble answers (the other nodes may start later), then serves
/// it until a signal.
async fn start_and_serve_broker(config: BrokerConfig) -> anyhow::Result<()> {
    let dialer: Arc<dyn ferry_zkclient::Dialer> = Arc::new(ferry_zkclient::TcpDialer);
    let mut warned = false;
    let broker = loop {
        let started = tokio::select! {
            started = Broker::start_with(config.clone(), dialer.clone()) => started,
            () = shutdown_signal() => return Ok(()),
        };
        match started {
            Ok(broker) => break broker,
            Err(BrokerError::Zk(error))
                if !matches!(error, ferry_broker::zk::ZkError::BrokerIdInUse { .. }) =>
            {
                if !warned {
                    tracing::warn!(%error, "the ensemble does not answer yet; the broker waits for it");
                    warned = true;
                }
                tokio::time::sleep(ENSEMBLE_RETRY).await;
            }
            Err(error) => return Err(error.into()),
        }
    };
    serve_started_until_signal(broker).await
}
