//! The leader's ISR changes, as a Kafka 2.x leader makes them: the partition's state znode is
//! rewritten with the new ISR (same leader and epoch), conditionally on the znode version the
//! leader knows, and then `/isr_change_notification` tells the controller, which publishes the
//! new ISR to every broker with UpdateMetadata.
//!
//! A conditional write that fails means the controller changed the state meanwhile (a new
//! epoch is on its way in a LeaderAndIsr): the change is dropped, never forced.

use std::sync::Arc;

use crate::broker::Broker;
use crate::zk::{IsrChangePartition, LeaderAndIsr, ZkError};

use super::partition::{IsrChange, Partition};

/// Writes `change` for `partition` and applies it once written. Runs as its own task: a
/// follower's fetch that proposes an expansion is answered without waiting for ZooKeeper.
pub fn spawn_write(broker: &Arc<Broker>, partition: Arc<Partition>, change: IsrChange) {
    let broker = Arc::downgrade(broker);
    tokio::spawn(async move {
        let Some(b) = broker.upgrade() else { return };
        let before = partition.assigned().isr.len();
        let written = write(&b, &partition, &change).await;
        if written.is_some() {
            b.counters.isr_changed(change.new_isr.len() < before);
        }
        partition.isr_change_done(&change, written);
        // A smaller ISR may have moved the high watermark.
        b.replicas.notify_appended();
    });
}

async fn write(broker: &Broker, partition: &Partition, change: &IsrChange) -> Option<i32> {
    let tp = &partition.tp;
    let state = LeaderAndIsr {
        leader: broker.id(),
        leader_epoch: change.leader_epoch,
        isr: change.new_isr.clone(),
        controller_epoch: change.controller_epoch,
    };
    let zk = broker.zk.get();
    match zk
        .update_partition_state(&tp.topic, tp.partition, &state, change.zk_version, None)
        .await
    {
        Ok(version) => {
            tracing::info!(partition = %tp.dir_name(), isr = ?change.new_isr,
                epoch = change.leader_epoch, "ISR changed");
            let notice = [IsrChangePartition {
                topic: tp.topic.clone(),
                partition: tp.partition,
            }];
            if let Err(error) = zk.notify_isr_change(&notice).await {
                tracing::warn!(partition = %tp.dir_name(), %error,
                    "announcing the ISR change failed; the controller learns it later");
            }
            Some(version)
        }
        Err(ZkError::StaleVersion { .. }) => {
            tracing::info!(partition = %tp.dir_name(),
                "partition state changed by the controller; ISR change dropped");
            None
        }
        Err(error) => {
            tracing::warn!(partition = %tp.dir_name(), %error, "writing the ISR failed");
            None
        }
    }
}

/// Kafka's `isr-expiration` task, run every half `replica.lag.time.max.ms`: drops from each
/// led partition's ISR the followers that have not caught up within it.
pub fn expire(broker: &Arc<Broker>, now: i64) {
    let lag = broker.config.replication.lag_time_max;
    for partition in broker.replica_manager.all() {
        if let Some(change) = partition.shrink_proposal(now, lag) {
            spawn_write(broker, partition, change);
        }
    }
}
