//! `ferry broker start --config server.properties [--override k=v] --foreground`, after
//! kafka-server-start.sh. Only the foreground form exists so far.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use ferry_broker::{server, Broker, BrokerConfig};

use crate::keeper_cmd::{init_tracing, shutdown_signal};

#[derive(clap::Args)]
pub struct BrokerArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Start the broker.
    Start {
        /// The broker's server.properties.
        #[arg(long)]
        config: PathBuf,
        /// Set a property, overriding the file (repeatable).
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Stay attached and log to stderr (the only mode so far).
        #[arg(long)]
        foreground: bool,
    },
}

pub fn run(args: BrokerArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    match args.action {
        Action::Start {
            config,
            overrides,
            foreground,
        } => {
            if !foreground {
                bail!("daemon mode is not implemented yet; pass --foreground");
            }
            let config = BrokerConfig::load(&config, &overrides)
                .with_context(|| format!("invalid configuration {}", config.display()))?;
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(serve_until_signal(config))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Starts a broker, serves it until SIGTERM/SIGINT, then closes its logs.
pub async fn serve_until_signal(config: BrokerConfig) -> anyhow::Result<()> {
    let broker = Broker::start(config).await?;
    let listener = server::bind(&broker).await?;
    tracing::info!(addr = ?listener.local_addr().ok(), "broker serving clients");
    tokio::select! {
        () = server::accept_loop(broker.clone(), listener) => {}
        () = shutdown_signal() => tracing::info!("shutting down"),
    }
    broker.replicas.close();
    broker.zk.close().await;
    Ok(())
}
