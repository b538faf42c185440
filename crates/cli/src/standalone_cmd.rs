//! `ferry standalone [--data-dir DIR] [--override key=value]`: a keeper and a broker in one process, zero
//! configuration. The keeper keeps its data in DIR/keeper, the broker its logs in DIR/kafka and
//! its metadata in the keeper, exactly as a separate broker would, through the same protocol
//! (over an in-process pipe, which client connection limits do not count: see
//! `local_keeper`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ferry_broker::config::{apply_overrides, parse_properties, BrokerConfig};
use ferry_keeper::config::KeeperConfig;
use ferry_keeper::server::Keeper;

use crate::broker_cmd::serve_with_until_signal;
use crate::keeper_cmd::init_tracing;
use crate::local_keeper::LocalDialer;

#[derive(clap::Args)]
pub struct StandaloneArgs {
    /// Where the keeper's and the broker's data go.
    #[arg(long, default_value = "data")]
    pub(crate) data_dir: PathBuf,
    /// The ZooKeeper client port.
    #[arg(long, default_value_t = 2181)]
    pub(crate) keeper_port: u16,
    /// The Kafka port.
    #[arg(long, default_value_t = 9092)]
    pub(crate) broker_port: u16,
    /// Where the web console (/console) and the Prometheus page (/metrics) are served.
    #[arg(long, default_value_t = 8080)]
    pub(crate) http_port: u16,
    /// A broker setting (`server.properties` key) over the embedded defaults; repeatable.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    pub(crate) overrides: Vec<String>,
}

pub fn run(args: StandaloneArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn run_async(args: StandaloneArgs) -> anyhow::Result<()> {
    let mut keeper_config = KeeperConfig::embedded(args.data_dir.join("keeper"));
    keeper_config.client_port = args.keeper_port;
    std::fs::create_dir_all(&keeper_config.data_dir)
        .with_context(|| format!("cannot create {}", keeper_config.data_dir.display()))?;
    let keeper = Keeper::start(keeper_config).await?;
    // Bound before the broker starts, so its ZooKeeper session finds the port open.
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, args.keeper_port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot bind the keeper port {addr}"))?;
    tokio::spawn(keeper.clone().accept_loop(listener));
    let properties = format!(
        "listeners=PLAINTEXT://0.0.0.0:{}\nadvertised.listeners=PLAINTEXT://127.0.0.1:{}\n\
         log.dirs={}\nzookeeper.connect=127.0.0.1:{}\nzookeeper.session.timeout.ms=6000\n\
         offsets.topic.replication.factor=1\nferry.http.port={}\n",
        args.broker_port,
        args.broker_port,
        args.data_dir.join("kafka").display(),
        args.keeper_port,
        args.http_port,
    );
    let mut properties = parse_properties(&properties);
    apply_overrides(&mut properties, &args.overrides)?;
    let config = BrokerConfig::from_properties(&properties)?;
    let served = serve_with_until_signal(config, LocalDialer::to(&keeper)).await;
    keeper.shutdown().await;
    served
}
