//! `ferry cluster --brokers 3 --keepers 3 --dir DIR`: a replicated ZooKeeper + Kafka cluster
//! on this host in one command, for trying one out and for tests. It writes each server's
//! ordinary files (see `cluster_layout`), runs every server as a child process
//! (`ferry keeper start --foreground`, `ferry broker start --foreground`, so each can be
//! killed or stopped on its own to watch a failover), waits until the ensemble has a quorum
//! and every broker's Metadata lists all brokers and a controller, prints the bootstrap
//! servers and the zookeeper connect string, and runs until SIGINT or SIGTERM, when it stops
//! the brokers first, then the keepers. Run again on the same directory, it keeps the data.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode};
use std::time::Duration;

use anyhow::{bail, Context};
use ferry_kafka_client::{Client, ClientConfig};

use crate::cluster_layout::{self, Layout, Plan};
use crate::keeper_cmd::{client_address, four_letter_to, shutdown_signal};

/// How long the servers have to start (a quorum, every broker registered and told of the
/// others by the controller).
const START_TIMEOUT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(200);
/// How long a broker has to shut down on SIGTERM (it hands its leaderships over first).
const BROKER_GRACE: Duration = Duration::from_secs(60);
const KEEPER_GRACE: Duration = Duration::from_secs(30);

#[derive(clap::Args)]
pub struct ClusterArgs {
    /// How many brokers (broker.id 1..N).
    #[arg(long, default_value_t = 3)]
    brokers: u16,
    /// How many keepers in the ensemble (3 or 5 is usual).
    #[arg(long, default_value_t = 3)]
    keepers: u16,
    /// Where the servers' files and data go (kept for the next run).
    #[arg(long)]
    dir: PathBuf,
    /// Client port of keeper 1: keepers on 2181.., quorum and election ports from 2888 and
    /// 3888, brokers from 9092, all moved by as much as this is from 2181.
    #[arg(long, default_value_t = cluster_layout::DEFAULT_BASE_PORT)]
    base_port: u16,
    /// A server.properties line (key=value) for every broker; repeatable.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

/// One server process of the cluster.
struct Server {
    role: &'static str,
    id: usize,
    address: String,
    child: Child,
    log: PathBuf,
    /// Its exit has been reported.
    gone: bool,
}

impl Server {
    fn start(
        role: &'static str,
        id: usize,
        address: String,
        config: &Path,
        log: PathBuf,
    ) -> anyhow::Result<Self> {
        let args: Vec<OsString> = vec![
            role.into(),
            "start".into(),
            "--foreground".into(),
            "--config".into(),
            config.into(),
        ];
        let child = crate::children::spawn(&args, &log)
            .with_context(|| format!("cannot start {role} {id}"))?;
        Ok(Self {
            role,
            id,
            address,
            child,
            log,
            gone: false,
        })
    }

    fn name(&self) -> String {
        format!("{} {} (pid {})", self.role, self.id, self.child.id())
    }

    /// `Err` once the process has exited.
    fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!(
                "{} exited with {status}; see {}",
                self.name(),
                self.log.display()
            ),
        }
    }
}

pub fn run(args: ClusterArgs) -> anyhow::Result<ExitCode> {
    crate::keeper_cmd::init_tracing();
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)
        .with_context(|| format!("cannot resolve {}", args.dir.display()))?;
    let layout = cluster_layout::write(&Plan {
        dir: dir.clone(),
        keepers: args.keepers,
        brokers: args.brokers,
        base_port: args.base_port,
        overrides: args.overrides,
    })?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut servers = Vec::new();
        let started = tokio::select! {
            started = start(&layout, &mut servers) => Some(started),
            () = shutdown_signal() => None,
        };
        let result = match started {
            Some(Ok(())) => {
                announce(&layout, &servers, &dir);
                supervise(&mut servers).await;
                Ok(())
            }
            Some(Err(error)) => Err(error),
            None => Ok(()),
        };
        println!("stopping the cluster");
        stop_all(servers).await;
        result
    })?;
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Starts the keepers, waits for their quorum, then starts the brokers and waits for them.
async fn start(layout: &Layout, servers: &mut Vec<Server>) -> anyhow::Result<()> {
    for (i, (config, file)) in layout.keepers.iter().zip(&layout.keeper_files).enumerate() {
        let address = client_address(config);
        let log = crate::keeper_cmd::daemon(config).log_file;
        servers.push(Server::start(
            "keeper",
            i + 1,
            address.to_string(),
            file,
            log,
        )?);
    }
    for (i, config) in layout.keepers.iter().enumerate() {
        let address = client_address(config);
        wait(
            servers,
            &format!("keeper {} to join a quorum", i + 1),
            || async move {
                let answer =
                    tokio::task::spawn_blocking(move || four_letter_to(address, "srvr")).await;
                matches!(answer, Ok(Ok(text)) if text.contains("Mode:"))
            },
        )
        .await?;
    }
    for (i, (config, file)) in layout.brokers.iter().zip(&layout.broker_files).enumerate() {
        let address = format!("127.0.0.1:{}", config.listener.port);
        let log = crate::broker_cmd::daemon(config).log_file;
        servers.push(Server::start("broker", i + 1, address, file, log)?);
    }
    let count = layout.brokers.len();
    for i in 0..count {
        let address = format!("127.0.0.1:{}", layout.brokers[i].listener.port);
        let what = format!("broker {} to list {count} brokers and a controller", i + 1);
        wait(servers, &what, || {
            let address = address.clone();
            async move { lists_everyone(&address, count).await }
        })
        .await?;
    }
    Ok(())
}

/// Polls `ready` until it answers true; fails when a server exits or after START_TIMEOUT.
async fn wait<F, Fut>(servers: &mut [Server], what: &str, mut ready: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        for server in servers.iter_mut() {
            server.check_running()?;
        }
        if ready().await {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {START_TIMEOUT:?} waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the broker at `address` answers Metadata with `count` brokers and a controller
/// (until the controller has told it of the cluster, a broker lists nobody, and clients
/// looking for the controller give up).
async fn lists_everyone(address: &str, count: usize) -> bool {
    let config = ClientConfig {
        client_id: "ferry-cluster".to_string(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
    };
    let Ok(client) = Client::connect(address, config).await else {
        return false;
    };
    match client.metadata(Some(&[]), false).await {
        Ok(metadata) => metadata.brokers.len() == count && metadata.controller_id >= 0,
        Err(_) => false,
    }
}

fn announce(layout: &Layout, servers: &[Server], dir: &Path) {
    for server in servers {
        println!(
            "{}: {} (pid {}; log {})",
            format_args!("{} {}", server.role, server.id),
            server.address,
            server.child.id(),
            server.log.display()
        );
    }
    println!("bootstrap servers: {}", layout.bootstrap_servers());
    println!("zookeeper connect: {}", layout.zookeeper_connect);
    println!(
        "cluster of {} keepers and {} brokers running (files in {}); Ctrl-C stops it",
        layout.keepers.len(),
        layout.brokers.len(),
        dir.display()
    );
}

/// Runs until SIGINT or SIGTERM, reporting a server that exits meanwhile (the others go on:
/// a broker killed to try a failover is not a reason to stop the cluster).
async fn supervise(servers: &mut [Server]) {
    let signal = shutdown_signal();
    tokio::pin!(signal);
    let mut poll = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = &mut signal => return,
            _ = poll.tick() => {}
        }
        for server in servers.iter_mut().filter(|s| !s.gone) {
            if let Err(error) = server.check_running() {
                eprintln!("ferry cluster: {error}");
                server.gone = true;
            }
        }
    }
}

/// Stops the brokers (all at once: a controlled shutdown may wait on the others), then the
/// keepers.
async fn stop_all(servers: Vec<Server>) {
    let (brokers, keepers): (Vec<Server>, Vec<Server>) =
        servers.into_iter().partition(|s| s.role == "broker");
    stop_group(brokers, BROKER_GRACE).await;
    stop_group(keepers, KEEPER_GRACE).await;
}

async fn stop_group(servers: Vec<Server>, grace: Duration) {
    let stopping: Vec<_> = servers
        .into_iter()
        .map(|mut server| {
            tokio::task::spawn_blocking(move || {
                match crate::children::stop(&mut server.child, grace) {
                    Ok(true) => {}
                    Ok(false) => eprintln!(
                        "ferry cluster: {} did not stop within {grace:?}; killed it",
                        server.name()
                    ),
                    Err(error) => eprintln!("ferry cluster: stopping {}: {error}", server.name()),
                }
            })
        })
        .collect();
    for task in stopping {
        let _ = task.await;
    }
}
