//! Starting an in-process keeper on a free loopback port, and stopping it again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferry_keeper::config::KeeperConfig;
use ferry_keeper::server::Keeper;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub struct TestKeeper {
    pub keeper: Arc<Keeper>,
    pub address: String,
    accept: JoinHandle<()>,
}

/// A configuration for tests: fast ticks, TTL nodes on, quick container checks.
pub fn test_config(dir: &Path) -> KeeperConfig {
    let text = format!(
        "tickTime=200\ndataDir={}\nclientPort=0\nextendedTypesEnabled=true\n\
         admin.enableServer=false\n4lw.commands.whitelist=*\nznode.container.checkIntervalMs=100\n\
         zookeeper.nio.sessionlessCnxnTimeout=300\n\
         minSessionTimeout=400\n",
        dir.display()
    );
    KeeperConfig::parse(&text).expect("test config parses")
}

impl TestKeeper {
    pub async fn start(dir: &Path) -> Self {
        Self::start_with(test_config(dir)).await
    }

    pub async fn start_with(config: KeeperConfig) -> Self {
        let keeper = Keeper::start(config).await.expect("keeper starts");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let accept = tokio::spawn(keeper.clone().accept_loop(listener));
        Self {
            keeper,
            address,
            accept,
        }
    }

    /// Stops accepting new connections (they are refused); established ones stay.
    pub fn stop_accepting(&self) {
        self.accept.abort();
    }

    /// Stops accepting and shuts raft down; established connections are dropped with the
    /// runtime.
    pub async fn stop(self) {
        self.accept.abort();
        self.keeper.shutdown().await;
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
