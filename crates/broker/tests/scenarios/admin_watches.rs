//! What topic administration follows: a topic's assignment znode (data watch, partitions
//! added elsewhere; gone and re-created), deletion marks, and the purge of old config change
//! notifications.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::timeout;

use ferry_broker::zk::TopicAssignment;

use super::session;

fn assignment(partitions: i32) -> TopicAssignment {
    TopicAssignment::new((0..partitions).map(|p| (p, vec![1])).collect())
}

const WAIT: Duration = Duration::from_secs(10);

pub async fn run(_hosts: &str, connect: &str) {
    let zk = session(connect).await;
    let none = BTreeMap::new();

    // Missing: None, and the watch fires on creation.
    let mut watch = zk.watch_topic_assignment("logs").await.unwrap();
    assert!(watch.value.is_none());
    zk.create_topic("logs", &assignment(1), &none)
        .await
        .unwrap();
    assert!(timeout(WAIT, watch.changed()).await.unwrap());

    // Present: fires when partitions are added.
    let mut watch = zk.watch_topic_assignment("logs").await.unwrap();
    let current = watch.value.clone().unwrap();
    assert_eq!(current.value, assignment(1));
    let added = BTreeMap::from([(1, vec![1])]);
    zk.add_partitions("logs", &current, &added).await.unwrap();
    assert!(timeout(WAIT, watch.changed()).await.unwrap());
    let after = zk.watch_topic_assignment("logs").await.unwrap();
    assert_eq!(after.value.unwrap().value, assignment(2));

    // Marks.
    assert!(!zk.is_marked_for_deletion("logs").await.unwrap());
    zk.mark_topic_for_deletion("logs").await.unwrap();
    assert!(zk.is_marked_for_deletion("logs").await.unwrap());
    zk.complete_topic_deletion("logs", None).await.unwrap();
    assert!(!zk.is_marked_for_deletion("logs").await.unwrap());

    // Notifications: none is older than a cutoff far in the past; all are older than one in
    // the future; purging is oldest first and stops at the first newer one.
    for retention in ["1", "2", "3"] {
        let config = BTreeMap::from([("retention.ms".to_string(), retention.to_string())]);
        zk.create_topic(&format!("c{retention}"), &assignment(1), &none)
            .await
            .unwrap();
        let version = zk
            .get_topic_config(&format!("c{retention}"))
            .await
            .unwrap()
            .map(|v| v.zk_version);
        zk.set_topic_config(&format!("c{retention}"), &config, version)
            .await
            .unwrap();
    }
    let names = zk.config_changes().await.unwrap();
    assert_eq!(names.len(), 3);
    assert_eq!(zk.purge_config_changes(&names, 0).await.unwrap(), 0);
    assert_eq!(
        zk.purge_config_changes(&names[..2], i64::MAX)
            .await
            .unwrap(),
        2
    );
    assert_eq!(zk.config_changes().await.unwrap(), names[2..]);
    zk.close().await;
}
