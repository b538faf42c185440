//! The chroot of `zookeeper.connect` is created (recursively) before the session that uses
//! it, and the persistent paths land under it.

use std::time::Duration;

use ferry_broker::zk::paths;
use ferry_zkclient::Client;

use super::session;

pub async fn run(hosts: &str, connect: &str) {
    let zk = session(connect).await;
    zk.ensure_persistent_paths().await.unwrap(); // twice is fine
    let chroot = &connect[connect.find('/').unwrap()..];
    let (bare, _events) = Client::builder(hosts)
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    for path in paths::PERSISTENT {
        let full = format!("{chroot}{path}");
        let stat = bare.exists(&full, false).await.unwrap();
        assert!(stat.is_some(), "{full} exists");
        let (data, _) = bare.get_data(&full, false).await.unwrap();
        assert_eq!(data, None, "{full} has null data, as Kafka makes it");
    }
    // Every scenario runs under a chroot: nothing lands at the server's root.
    assert!(bare.exists("/brokers", false).await.unwrap().is_none());
    bare.close().await;
    zk.close().await;
}
