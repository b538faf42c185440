//! Controller election between two brokers: one wins, the other sees it, takes over when the
//! first goes away, and the epoch moves on; the deposed controller's fenced writes fail.

use std::time::Duration;

use ferry_broker::zk::{Election, LeaderAndIsr, TopicAssignment, ZkError};

use super::{raw, session};

pub async fn run(_hosts: &str, connect: &str) {
    let one = session(connect).await;
    let two = session(connect).await;
    assert_eq!(one.get_controller().await.unwrap(), None);

    let Election::Won(first_epoch) = one.elect_controller(1).await.unwrap() else {
        panic!("the first candidate wins")
    };
    assert_eq!(first_epoch.epoch, 1);
    // Electing again while in office changes nothing.
    assert_eq!(
        one.elect_controller(1).await.unwrap(),
        Election::Won(first_epoch)
    );
    assert_eq!(raw(&two, "/controller_epoch").await, "1");
    assert!(raw(&two, "/controller")
        .await
        .starts_with(r#"{"version":1,"brokerid":1,"timestamp":""#));
    assert_eq!(
        two.elect_controller(2).await.unwrap(),
        Election::Lost {
            controller: Some(1)
        }
    );
    let mut watch = two.watch_controller().await.unwrap();
    assert_eq!(watch.value, Some(1));

    // A fenced write by the controller in office works.
    let replicas = [(0, vec![1])].into_iter().collect();
    two.create_topic(
        "fenced",
        &TopicAssignment::new(replicas),
        &Default::default(),
    )
    .await
    .unwrap();
    let state = LeaderAndIsr {
        leader: 1,
        leader_epoch: 0,
        isr: vec![1],
        controller_epoch: first_epoch.epoch,
    };
    one.create_partition_state("fenced", 0, &state, Some(&first_epoch))
        .await
        .unwrap();

    one.close().await;
    let changed = tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .unwrap();
    assert!(changed, "the watch fires when the controller goes away");
    let Election::Won(second_epoch) = two.elect_controller(2).await.unwrap() else {
        panic!("the second candidate takes over")
    };
    assert_eq!(second_epoch.epoch, 2);
    assert_eq!(two.get_controller().await.unwrap().unwrap().broker_id, 2);
    assert_eq!(
        two.get_controller_epoch().await.unwrap(),
        Some(second_epoch)
    );

    // Writes fenced by the old epoch are refused.
    let moved = two
        .update_partition_state("fenced", 0, &state, 0, Some(&first_epoch))
        .await
        .unwrap_err();
    assert!(matches!(moved, ZkError::ControllerMoved { .. }), "{moved}");
    let version = two
        .update_partition_state("fenced", 0, &state, 0, Some(&second_epoch))
        .await
        .unwrap();
    assert_eq!(version, 1);

    two.resign_controller(&second_epoch).await.unwrap();
    assert_eq!(two.get_controller().await.unwrap(), None);
    two.close().await;
}
