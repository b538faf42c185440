use std::path::Path;

use ferry_log::{BatchBuilder, LogConfig, OpenOptions, Resources, SystemClock};

use super::*;

const LAG: Duration = Duration::from_secs(10);

fn partition(dir: &Path) -> Partition {
    let res = Arc::new(Resources::with_clock(Arc::new(SystemClock)));
    let log = Log::open(dir, LogConfig::default(), res, OpenOptions::default()).unwrap();
    Partition::new(TopicPartition::new("t", 0), Arc::new(log), 1, 0)
}

fn assigned(leader: i32, epoch: i32, isr: &[i32]) -> Assigned {
    Assigned {
        leader,
        leader_epoch: epoch,
        isr: isr.to_vec(),
        replicas: vec![1, 2, 3],
        zk_version: 4,
        controller_epoch: 1,
    }
}

fn append(p: &Partition, records: usize) {
    let mut b = BatchBuilder::new(1_000);
    for _ in 0..records {
        b.append(None, Some(b"v"), 1_000);
    }
    let epoch = p.check_leader(-1).unwrap();
    p.log.append_as_leader(&mut b.build(), epoch).unwrap();
    p.appended_as_leader();
}

#[test]
fn high_watermark_is_the_least_log_end_over_the_isr() {
    let dir = tempfile::tempdir().unwrap();
    let p = partition(dir.path());
    p.make_leader(assigned(1, 1, &[1, 2, 3]), 0);
    append(&p, 5);
    // Followers' log ends are unknown after the election: nothing moves yet.
    assert_eq!(p.high_watermark(), 0);
    assert_eq!(p.follower_fetched(2, 5, 10), Ok(FollowerFetch::default()));
    assert_eq!(p.high_watermark(), 0);
    let moved = FollowerFetch {
        isr_change: None,
        high_watermark_moved: true,
    };
    assert_eq!(p.follower_fetched(3, 3, 10), Ok(moved.clone()));
    assert_eq!(p.high_watermark(), 3);
    assert_eq!(p.follower_fetched(3, 5, 20), Ok(moved));
    assert_eq!(p.high_watermark(), 5);
    assert!(p.progress().borrow().is_leader);
}

#[test]
fn a_lagging_follower_leaves_the_isr_and_rejoins_once_caught_up() {
    let dir = tempfile::tempdir().unwrap();
    let p = partition(dir.path());
    p.make_leader(assigned(1, 1, &[1, 2, 3]), 0);
    append(&p, 5);
    p.follower_fetched(2, 5, 1_000).unwrap();
    p.follower_fetched(3, 0, 1_000).unwrap();
    assert_eq!(p.shrink_proposal(5_000, LAG), None);
    p.follower_fetched(2, 5, 15_000).unwrap();
    let shrink = p.shrink_proposal(20_000, LAG).expect("3 lags");
    assert_eq!(shrink.new_isr, vec![1, 2]);
    // One change at a time.
    assert_eq!(p.shrink_proposal(20_000, LAG), None);
    p.isr_change_done(&shrink, Some(5));
    assert_eq!(p.assigned().isr, vec![1, 2]);
    assert_eq!(p.assigned().zk_version, 5);
    assert_eq!(p.high_watermark(), 5, "the ISR of 1 and 2 has everything");
    let expand = p
        .follower_fetched(3, 5, 21_000)
        .unwrap()
        .isr_change
        .expect("3 caught up");
    assert_eq!(expand.new_isr, vec![1, 2, 3]);
    assert_eq!(expand.zk_version, 5);
    // A failed write is dropped; the next fetch proposes again.
    p.isr_change_done(&expand, None);
    assert_eq!(p.assigned().isr, vec![1, 2]);
    assert!(p
        .follower_fetched(3, 5, 22_000)
        .unwrap()
        .isr_change
        .is_some());
}

#[test]
fn roles_and_epochs_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let p = partition(dir.path());
    assert!(matches!(
        p.check_leader(-1),
        Err(RoleError::NotLeader { leader: -1, .. })
    ));
    p.make_leader(assigned(1, 3, &[1]), 0);
    assert_eq!(p.check_leader(-1), Ok(3));
    assert_eq!(p.check_leader(3), Ok(3));
    assert!(matches!(
        p.check_leader(2),
        Err(RoleError::FencedLeaderEpoch { .. })
    ));
    assert!(matches!(
        p.check_leader(4),
        Err(RoleError::UnknownLeaderEpoch { .. })
    ));
    append(&p, 2);
    assert_eq!(p.high_watermark(), 2, "an ISR of one commits at once");
    assert!(matches!(
        p.follower_fetched(9, 0, 0),
        Err(RoleError::NotAReplica(9))
    ));
    p.make_follower(assigned(2, 4, &[2, 1]));
    assert!(!p.progress().borrow().is_leader);
    assert!(matches!(
        p.check_leader(-1),
        Err(RoleError::NotLeader { leader: 2, .. })
    ));
    p.follower_high_watermark(10);
    assert_eq!(p.high_watermark(), 2, "capped at the log end");
}

#[test]
fn a_stale_epoch_neither_appends_nor_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let p = partition(dir.path());
    p.make_follower(assigned(2, 4, &[2, 1]));
    let mut b = BatchBuilder::new(1_000);
    b.append(None, Some(b"v"), 1_000);
    let mut batch = b.build();
    ferry_log::set_partition_leader_epoch(&mut batch, 4);
    assert!(
        !p.append_as_follower(&batch, 3).unwrap(),
        "fetched in epoch 3"
    );
    assert!(p.append_as_follower(&batch, 4).unwrap());
    assert_eq!(p.log.log_end_offset(), 1);
    // Leading in epoch 5 now: a follower step of epoch 4 changes nothing.
    p.make_leader(assigned(1, 5, &[1]), 0);
    assert!(!p.append_as_follower(&batch, 4).unwrap());
    p.truncate_as_follower(0, false, 4).unwrap();
    assert_eq!(p.log.log_end_offset(), 1);
    // And an append stamped with the old epoch is refused by the log.
    let mut late = BatchBuilder::new(1_000);
    late.append(None, Some(b"late"), 1_000);
    assert!(matches!(
        p.log.append_as_leader(&mut late.build(), 4),
        Err(ferry_log::LogError::StaleLeaderEpoch {
            epoch: 4,
            latest: 5
        })
    ));
}
