//! `ferry keeper start|stop|status`, after zkServer.sh (and `ensemble`, in `keeper_ensemble`): `start` daemonizes with a pid file in
//! dataDir (`--foreground` stays attached and logs to stderr), `status` asks the server for its
//! mode with `srvr`. `repair-log` cuts a raft log that a keeper refused to open because of a
//! corrupt record in its middle (see `ferry_keeper::raft::log_store`).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use ferry_keeper::config::KeeperConfig;

use crate::daemon::{running_pid, Daemon, PidFile};

/// zkServer.sh's pid file name, so existing scripts find it.
const PID_FILE: &str = "zookeeper_server.pid";
const DEFAULT_CONFIG: &str = "conf/zoo.cfg";

#[derive(clap::Args)]
pub struct KeeperArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Start the keeper (in the background unless --foreground).
    Start {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Stay attached and log to stderr.
        #[arg(long)]
        foreground: bool,
    },
    /// Stop a keeper started in the background.
    Stop {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the server's mode (standalone, leader, follower, observer).
    Status {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run a local ensemble of several servers in this process, writing an ordinary zoo.cfg
    /// and myid for each under DIR/serverN (kept, with the data, for the next run).
    Ensemble {
        /// How many servers (3 or 5 is usual).
        #[arg(long, default_value_t = 3)]
        servers: u16,
        /// Where the servers' files go.
        #[arg(long)]
        dir: PathBuf,
        /// Client port of server 1; the others follow it (2181, 2182, ...). Quorum and
        /// election ports start at 2888 and 3888, moved by as much.
        #[arg(long, default_value_t = 2181)]
        base_port: u16,
    },
    /// Cut the raft log at its first corrupt record, deleting every entry after it (the keeper
    /// refuses to start on such a log rather than forget entries it may have acknowledged).
    /// Run it with the keeper stopped.
    RepairLog {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn run(args: KeeperArgs) -> anyhow::Result<ExitCode> {
    // Before the configuration is read, so its warnings (unknown keys) are seen.
    init_tracing();
    match args.action {
        Action::Start { config, foreground } => {
            let (config, path) = load(config.as_deref())?;
            if foreground {
                run_foreground(config)
            } else {
                start_daemon(&config, path.as_deref())
            }
        }
        Action::Stop { config } => stop(&load(config.as_deref())?.0),
        Action::Status { config } => status(&load(config.as_deref())?.0),
        Action::RepairLog { config } => repair_log(&load(config.as_deref())?.0),
        Action::Ensemble {
            servers,
            dir,
            base_port,
        } => crate::keeper_ensemble::run(servers, dir, base_port),
    }
}

fn repair_log(config: &KeeperConfig) -> anyhow::Result<ExitCode> {
    if let Some(pid) = running_pid(&config.data_dir.join(PID_FILE)) {
        anyhow::bail!("the keeper is running (pid {pid}); stop it first");
    }
    let dir = config.log_dir();
    let repaired = ferry_keeper::raft::log_store::LogStore::repair(&dir)
        .with_context(|| format!("cannot repair the raft log in {}", dir.display()))?;
    match repaired.truncated {
        Some(what) => println!("repaired: {what}; {} entries kept", repaired.entries),
        None => println!(
            "nothing to repair: {} entries, all intact",
            repaired.entries
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads `--config`, or conf/zoo.cfg if present, or falls back to the embedded defaults.
fn load(explicit: Option<&Path>) -> anyhow::Result<(KeeperConfig, Option<PathBuf>)> {
    let path = match explicit {
        Some(path) => Some(path.to_path_buf()),
        None if Path::new(DEFAULT_CONFIG).exists() => Some(PathBuf::from(DEFAULT_CONFIG)),
        None => None,
    };
    match path {
        Some(path) => {
            let config = KeeperConfig::load(&path)
                .with_context(|| format!("invalid configuration {}", path.display()))?;
            Ok((config, Some(path)))
        }
        None => Ok((KeeperConfig::embedded(PathBuf::from("data/keeper")), None)),
    }
}

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn run_foreground(config: KeeperConfig) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create dataDir {}", config.data_dir.display()))?;
    let pid_file = PidFile::create(config.data_dir.join(PID_FILE))?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        let keeper = ferry_keeper::server::Keeper::start(config).await?;
        ferry_keeper::server::admin_http::spawn(&keeper).await;
        tokio::select! {
            served = keeper.clone().serve() => served.map_err(anyhow::Error::from),
            _ = shutdown_signal() => {
                tracing::info!("shutting down");
                keeper.shutdown().await;
                Ok(())
            }
        }
    });
    drop(pid_file);
    result.map(|()| ExitCode::SUCCESS)
}

pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub(crate) fn daemon(config: &KeeperConfig) -> Daemon<'static> {
    Daemon {
        name: "keeper",
        pid_file: config.data_dir.join(PID_FILE),
        log_file: config
            .data_log_dir
            .as_ref()
            .unwrap_or(&config.data_dir)
            .join("ferry-keeper.out"),
    }
}

fn start_daemon(config: &KeeperConfig, path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut args: Vec<OsString> = vec!["keeper".into(), "start".into(), "--foreground".into()];
    if let Some(path) = path {
        args.push("--config".into());
        args.push(path.into());
    }
    daemon(config).start(&args, || {
        four_letter(config, "ruok").is_ok_and(|a| a == "imok")
            || four_letter(config, "srvr").is_ok_and(|a| a.contains("Mode:"))
    })
}

fn stop(config: &KeeperConfig) -> anyhow::Result<ExitCode> {
    daemon(config).stop()
}

pub(crate) fn client_address(config: &KeeperConfig) -> SocketAddr {
    let ip = match config.client_port_address {
        Some(ip) if !ip.is_unspecified() => ip,
        _ => std::net::IpAddr::from([127, 0, 0, 1]),
    };
    SocketAddr::new(ip, config.client_port)
}

/// Sends a four-letter word and returns the whole answer.
fn four_letter(config: &KeeperConfig, word: &str) -> std::io::Result<String> {
    four_letter_to(client_address(config), word)
}

/// Sends a four-letter word to the keeper at `address` and returns the whole answer.
pub(crate) fn four_letter_to(address: SocketAddr, word: &str) -> std::io::Result<String> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(word.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

fn status(config: &KeeperConfig) -> anyhow::Result<ExitCode> {
    let address = client_address(config);
    println!(
        "Client port found: {}. Client address: {}.",
        config.client_port,
        address.ip()
    );
    match four_letter(config, "srvr") {
        Ok(answer) => match answer.lines().find(|l| l.starts_with("Mode: ")) {
            Some(mode) => {
                println!("{mode}");
                Ok(ExitCode::SUCCESS)
            }
            None => {
                println!("Error contacting service. {}", answer.trim());
                Ok(ExitCode::FAILURE)
            }
        },
        Err(_) => {
            println!("Error contacting service. It is probably not running.");
            Ok(ExitCode::FAILURE)
        }
    }
}
