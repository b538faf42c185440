//! The two ZooKeeper servers every scenario runs against, started once per test process and
//! shared (each scenario works under its own chroot):
//! - Apache ZooKeeper 3.8 from Debian's `zookeeper` package, the reference;
//! - ferry keeper, in process, on a runtime of its own.

mod apache;
mod ferry;

use std::time::{Duration, Instant};

use ferry_zkclient::Client;

pub use apache::apache_hosts;
pub use ferry::ferry_hosts;

/// The session timeout the scenarios ask for.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// A connect string for `scenario` on `hosts`: its own chroot, two levels deep so that
/// creating it is recursive.
pub fn chrooted(hosts: &str, server: &str, scenario: &str) -> String {
    format!("{hosts}/ferry-tests/{server}-{scenario}")
}

/// Blocks until the server at `hosts` grants a session (or panics after `limit`).
pub fn wait_for_session(hosts: &str, limit: Duration) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime to probe the server");
    let deadline = Instant::now() + limit;
    runtime.block_on(async {
        loop {
            let attempt = Client::builder(hosts)
                .session_timeout(SESSION_TIMEOUT)
                .connect_timeout(Duration::from_secs(2))
                .connect()
                .await;
            if let Ok((client, _events)) = attempt {
                client.close().await;
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no session from {hosts} within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

/// Polls `condition` every 20 ms until it holds or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
