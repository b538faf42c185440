//! A topic's life: create (assignment and config), read, list, refuse duplicates and bad
//! names, add partitions (conditionally), change config (with its notification), delete.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::timeout;

use ferry_broker::zk::{LeaderAndIsr, TopicAssignment, ZkError};

use super::{raw, session};

fn assignment(partitions: i32) -> TopicAssignment {
    TopicAssignment::new((0..partitions).map(|p| (p, vec![1, 2])).collect())
}

pub async fn run(_hosts: &str, connect: &str) {
    let zk = session(connect).await;
    let mut topics = zk.watch_topics().await.unwrap();
    let mut deletions = zk.watch_topics_pending_deletion().await.unwrap();
    assert!(topics.value.is_empty() && deletions.value.is_empty());
    let config = BTreeMap::from([("retention.ms".to_string(), "60000".to_string())]);
    zk.create_topic("orders", &assignment(2), &config)
        .await
        .unwrap();
    assert_eq!(
        raw(&zk, "/brokers/topics/orders").await,
        r#"{"version":2,"partitions":{"0":[1,2],"1":[1,2]},"adding_replicas":{},"removing_replicas":{}}"#
    );
    assert_eq!(
        raw(&zk, "/config/topics/orders").await,
        r#"{"version":1,"config":{"retention.ms":"60000"}}"#
    );
    assert!(timeout(Duration::from_secs(10), topics.changed())
        .await
        .unwrap());
    assert_eq!(zk.list_topics().await.unwrap(), vec!["orders"]);
    assert_eq!(zk.watch_topics().await.unwrap().value, vec!["orders"]);
    let current = zk.get_topic_assignment("orders").await.unwrap().unwrap();
    assert_eq!(current.value, assignment(2));
    let stored = zk.get_topic_config("orders").await.unwrap().unwrap();
    assert_eq!(stored.value, config);

    // Refusals, with Kafka's messages.
    let exists = zk
        .create_topic("orders", &assignment(1), &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(exists.to_string(), "Topic 'orders' already exists.");
    zk.create_topic("a.b", &assignment(1), &BTreeMap::new())
        .await
        .unwrap();
    let collision = zk
        .create_topic("a_b", &assignment(1), &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(
        collision.to_string(),
        "Topic 'a_b' collides with existing topics: a.b"
    );
    let bad = zk
        .create_topic("bad name", &assignment(1), &BTreeMap::new())
        .await
        .unwrap_err();
    assert!(matches!(bad, ZkError::InvalidTopic { .. }), "{bad}");

    // A config node left behind is taken over.
    zk.client()
        .create(
            "/config/topics/leftover",
            r#"{"version":1,"config":{"x":"y"}}"#,
            &ferry_zkclient::CreateOptions::persistent(),
        )
        .await
        .unwrap();
    zk.create_topic("leftover", &assignment(1), &BTreeMap::new())
        .await
        .unwrap();
    let taken_over = zk.get_topic_config("leftover").await.unwrap().unwrap();
    assert!(taken_over.value.is_empty());

    // Adding partitions is conditional on the version read.
    let added = BTreeMap::from([(2, vec![2, 1]), (3, vec![1, 2])]);
    let grown = zk.add_partitions("orders", &current, &added).await.unwrap();
    assert_eq!(grown.value.partitions.len(), 4);
    assert_eq!(grown.zk_version, current.zk_version + 1);
    let more = BTreeMap::from([(2, vec![1, 2])]);
    let stale = zk.add_partitions("orders", &current, &more);
    assert!(matches!(
        stale.await.unwrap_err(),
        ZkError::StaleVersion { .. }
    ));
    let far = BTreeMap::from([(9, vec![1, 2])]);
    let gap = zk.add_partitions("orders", &grown, &far);
    assert!(matches!(
        gap.await.unwrap_err(),
        ZkError::InvalidPartitions { .. }
    ));
    let read = zk.get_topic_assignment("orders").await.unwrap().unwrap();
    assert_eq!(read, grown);

    // A config change is announced with a sequential notification.
    let newer = BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())]);
    let (version, name) = zk
        .set_topic_config("orders", &newer, Some(stored.zk_version))
        .await
        .unwrap();
    assert_eq!(version, stored.zk_version + 1);
    assert!(name.starts_with("config_change_") && name.len() == "config_change_".len() + 10);
    assert!(zk.config_changes().await.unwrap().contains(&name));
    let change = zk.get_config_change(&name).await.unwrap().unwrap();
    assert_eq!(change.entity_path, "topics/orders");
    assert_eq!(
        raw(&zk, &format!("/config/changes/{name}")).await,
        r#"{"version":2,"entity_path":"topics/orders"}"#
    );
    let stale = zk
        .set_topic_config("orders", &newer, Some(stored.zk_version))
        .await;
    assert!(matches!(stale.unwrap_err(), ZkError::StaleVersion { .. }));

    // Deletion: mark, list, complete.
    let state = LeaderAndIsr {
        leader: 1,
        leader_epoch: 0,
        isr: vec![1, 2],
        controller_epoch: 1,
    };
    zk.create_partition_state("orders", 0, &state, None)
        .await
        .unwrap();
    zk.mark_topic_for_deletion("orders").await.unwrap();
    assert!(timeout(Duration::from_secs(10), deletions.changed())
        .await
        .unwrap());
    let twice = zk.mark_topic_for_deletion("orders").await.unwrap_err();
    assert!(matches!(
        twice,
        ZkError::TopicAlreadyMarkedForDeletion { .. }
    ));
    let unknown = zk.mark_topic_for_deletion("nope").await.unwrap_err();
    assert!(matches!(unknown, ZkError::UnknownTopic { .. }));
    assert_eq!(zk.topics_pending_deletion().await.unwrap(), vec!["orders"]);
    let pending = zk
        .create_topic("orders", &assignment(1), &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(
        pending.to_string(),
        "Topic 'orders' is marked for deletion."
    );
    zk.complete_topic_deletion("orders", None).await.unwrap();
    assert!(!zk.topic_exists("orders").await.unwrap());
    assert_eq!(zk.get_topic_config("orders").await.unwrap(), None);
    assert!(zk.topics_pending_deletion().await.unwrap().is_empty());
    assert_eq!(zk.list_topics().await.unwrap(), vec!["a.b", "leftover"]);
    zk.close().await;
}
