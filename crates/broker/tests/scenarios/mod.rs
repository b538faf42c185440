//! One scenario per concept of the metadata layer. Each `run(hosts, connect)` gets the bare
//! server address and a connect string with a chroot of its own.

pub mod admin_watches;
pub mod chroot;
pub mod cluster_id;
pub mod controller;
pub mod kafka_json;
pub mod partition_state;
pub mod producer_ids;
pub mod registration;
pub mod topics;

use ferry_broker::zk::KafkaZk;

use crate::support::SESSION_TIMEOUT;

/// A new session under `connect`, with the persistent paths in place.
pub async fn session(connect: &str) -> KafkaZk {
    let (zk, _events) = KafkaZk::connect(connect, SESSION_TIMEOUT).await.unwrap();
    zk.ensure_persistent_paths().await.unwrap();
    zk
}

/// The raw data of a znode, as text.
pub async fn raw(zk: &KafkaZk, path: &str) -> String {
    let (data, _) = zk.client().get_data(path, false).await.unwrap();
    String::from_utf8(data.unwrap_or_default().to_vec()).unwrap()
}
