//! Brokers racing to make the cluster id all end up with the one that won.

use std::collections::BTreeSet;

use super::{raw, session};

pub async fn run(_hosts: &str, connect: &str) {
    let mut brokers = Vec::new();
    for _ in 0..4 {
        brokers.push(session(connect).await);
    }
    assert_eq!(brokers[0].get_cluster_id().await.unwrap(), None);
    let mut racing = tokio::task::JoinSet::new();
    for zk in &brokers {
        let zk = zk.clone();
        racing.spawn(async move { zk.get_or_create_cluster_id().await.unwrap() });
    }
    let mut ids = BTreeSet::new();
    while let Some(id) = racing.join_next().await {
        ids.insert(id.unwrap());
    }
    assert_eq!(ids.len(), 1, "one id for everyone: {ids:?}");
    let id = ids.into_iter().next().unwrap();
    assert_eq!(id.len(), 22);
    assert_eq!(brokers[1].get_cluster_id().await.unwrap(), Some(id.clone()));
    assert_eq!(
        raw(&brokers[2], "/cluster/id").await,
        format!(r#"{{"version":"1","id":"{id}"}}"#)
    );
    for zk in brokers {
        zk.close().await;
    }
}
