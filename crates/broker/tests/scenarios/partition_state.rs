//! Partition state writes are conditional on the znode version: a writer holding a stale
//! version fails with its own error and changes nothing.

use std::collections::BTreeMap;

use ferry_broker::zk::{
    IsrChangePartition as TopicPartition, LeaderAndIsr, TopicAssignment, ZkError,
};

use super::{raw, session};

pub async fn run(_hosts: &str, connect: &str) {
    let zk = session(connect).await;
    let rival = session(connect).await;
    let replicas = BTreeMap::from([(0, vec![1, 2, 3])]);
    zk.create_topic("t", &TopicAssignment::new(replicas), &BTreeMap::new())
        .await
        .unwrap();
    let state = LeaderAndIsr {
        leader: 1,
        leader_epoch: 0,
        isr: vec![1, 2, 3],
        controller_epoch: 1,
    };
    assert_eq!(
        zk.create_partition_state("t", 0, &state, None)
            .await
            .unwrap(),
        0
    );
    assert!(matches!(
        zk.create_partition_state("t", 0, &state, None).await,
        Err(ZkError::NodeExists { .. })
    ));
    assert_eq!(
        raw(&zk, "/brokers/topics/t/partitions/0/state").await,
        r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2,3]}"#
    );

    // The rival shrinks the ISR first; our write, based on version 0, must fail.
    let shrunk = LeaderAndIsr {
        isr: vec![1, 2],
        ..state.clone()
    };
    assert_eq!(
        rival
            .update_partition_state("t", 0, &shrunk, 0, None)
            .await
            .unwrap(),
        1
    );
    let new_leader = LeaderAndIsr {
        leader: 2,
        leader_epoch: 1,
        ..state.clone()
    };
    let stale = zk
        .update_partition_state("t", 0, &new_leader, 0, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&stale, ZkError::StaleVersion { path, expected: 0 } if path == "/brokers/topics/t/partitions/0/state"),
        "{stale}"
    );
    let read = zk.get_partition_state("t", 0).await.unwrap().unwrap();
    assert_eq!((read.value.clone(), read.zk_version), (shrunk, 1));

    // Re-read, retry on the current version.
    let version = zk
        .update_partition_state("t", 0, &new_leader, read.zk_version, None)
        .await
        .unwrap();
    assert_eq!(version, 2);
    assert_eq!(
        zk.get_partition_state("t", 0).await.unwrap().unwrap().value,
        new_leader
    );
    assert_eq!(zk.get_partition_state("t", 5).await.unwrap(), None);

    // The leader tells the controller the ISR changed; the controller reads and clears it.
    let changed = [TopicPartition {
        topic: "t".to_string(),
        partition: 0,
    }];
    let name = rival.notify_isr_change(&changed).await.unwrap();
    assert_eq!(
        zk.isr_change_notifications().await.unwrap(),
        vec![name.clone()]
    );
    assert_eq!(
        raw(&zk, &format!("/isr_change_notification/{name}")).await,
        r#"{"version":1,"partitions":[{"topic":"t","partition":0}]}"#
    );
    assert_eq!(zk.get_isr_change(&name).await.unwrap().unwrap(), changed);
    zk.delete_isr_changes(&[name.clone(), name], None)
        .await
        .unwrap();
    assert!(zk.isr_change_notifications().await.unwrap().is_empty());
    let unknown = zk.create_partition_state("none", 0, &state, None).await;
    assert!(matches!(unknown, Err(ZkError::UnknownTopic { .. })));
    zk.close().await;
    rival.close().await;
}
