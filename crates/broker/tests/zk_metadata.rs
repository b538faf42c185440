//! The broker's ZooKeeper metadata layer against real servers: every scenario runs once on
//! Apache ZooKeeper 3.8 and once on ferry keeper, each under its own chroot.
//!
//! Run: `cargo test -p ferry-broker --test zk_metadata` (needs Debian's `zookeeper` package and
//! a JRE for the Apache half).
#![allow(clippy::unwrap_used)]

mod scenarios;
mod support;

/// For each scenario, a test on Apache ZooKeeper and one on ferry keeper.
macro_rules! on_both_servers {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use crate::support::{apache_hosts, chrooted, ferry_hosts};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn apache_zookeeper() {
                let hosts = tokio::task::spawn_blocking(apache_hosts).await.unwrap();
                let connect = chrooted(hosts, "apache", stringify!($scenario));
                crate::scenarios::$scenario::run(hosts, &connect).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ferry_keeper() {
                let hosts = tokio::task::spawn_blocking(ferry_hosts).await.unwrap();
                let connect = chrooted(hosts, "ferry", stringify!($scenario));
                crate::scenarios::$scenario::run(hosts, &connect).await;
            }
        }
    )*};
}

on_both_servers!(
    admin_watches,
    chroot,
    cluster_id,
    registration,
    controller,
    topics,
    partition_state,
    producer_ids,
    kafka_json,
);
