//! The coordinator follows the leadership of `__consumer_offsets` partitions (Kafka's
//! `GroupCoordinator.onElection` / `onResignation`): the ReplicaManager calls
//! [`GroupCoordinator::partition_leadership_changed`] after each LeaderAndIsr it applied to one
//! of them, off the async workers, in the order it applied them.
//!
//! - Became leader: the partition's groups are read from its log (its whole log: the new
//!   leader's log end is all there is) while requests for them get
//!   COORDINATOR_LOAD_IN_PROGRESS, then installed, and the partition is served. A new epoch of
//!   a partition already served keeps its groups: every record since the load was written by
//!   this coordinator.
//! - Stopped leading: the partition's groups are dropped from memory and their members
//!   waiting in JoinGroup or SyncGroup are answered NOT_COORDINATOR; they find the new
//!   coordinator, which loads the same groups from its own replica.
//!
//! The load runs inside the hook: a broker that is its own controller has loaded its groups
//! by the time it serves (LeaderAndIsr precedes the UpdateMetadata it waits for).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::coordinator::GroupCoordinator;
use super::group::Group;
use super::ownership::LoadTicket;
use super::slot::Cell;
use crate::broker::Broker;

impl GroupCoordinator {
    /// This broker became (`leads`) or stopped being the leader of `__consumer_offsets`
    /// partition `partition`, and so the coordinator of its groups. Called off the async
    /// workers (it may read the partition's log).
    pub fn partition_leadership_changed(&self, broker: &Broker, partition: i32, leads: bool) {
        if leads {
            self.load_partition(broker, partition);
        } else {
            self.unload_partition(partition);
        }
    }

    fn load_partition(&self, broker: &Broker, partition: i32) {
        let Some(ticket) = self.registry().ownership.gained(partition) else {
            tracing::debug!(partition, "offsets partition already served");
            return;
        };
        let started = Instant::now();
        let groups = match super::loader::load(broker, partition, self.now()) {
            Ok(groups) => groups,
            Err(error) => {
                // Not served rather than served with groups read in part: clients get
                // NOT_COORDINATOR until the next leadership change loads it again.
                tracing::error!(partition, %error, "loading an offsets partition failed");
                self.registry().ownership.load_failed(ticket);
                return;
            }
        };
        let (count, offsets) = (
            groups.len(),
            groups.values().map(|g| g.offsets.len()).sum::<usize>(),
        );
        if !self.install(ticket, groups) {
            tracing::info!(
                partition,
                "offsets partition lost while loading; its groups dropped"
            );
            return;
        }
        tracing::info!(
            partition,
            groups = count,
            offsets,
            ms = started.elapsed().as_millis(),
            "coordinating the groups of an offsets partition"
        );
    }

    /// Serves a finished load's groups, unless the partition was lost (or lost and gained
    /// again) meanwhile: false then, and they are dropped.
    fn install(&self, ticket: LoadTicket, groups: HashMap<String, Group>) -> bool {
        let mut registry = self.registry();
        if !registry.ownership.loaded(ticket) {
            return false;
        }
        for (group_id, group) in groups {
            // None can be there: requests for a partition not served create nothing.
            registry
                .groups
                .entry(group_id)
                .or_insert_with(|| Cell::new(ticket.partition, group));
        }
        true
    }

    fn unload_partition(&self, partition: i32) {
        let unloaded: Vec<Arc<Cell>> = {
            let mut registry = self.registry();
            if !registry.ownership.lost(partition) {
                return;
            }
            let ids: Vec<String> = registry
                .groups
                .iter()
                .filter(|(_, cell)| cell.partition == partition)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter()
                .filter_map(|id| registry.groups.remove(id))
                .collect()
        };
        for cell in &unloaded {
            let mut slot = cell.lock();
            cell.mark_removed();
            slot.unload();
        }
        tracing::info!(
            partition,
            groups = unloaded.len(),
            "no longer coordinating the groups of an offsets partition"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ferry_kafka_protocol::ErrorCode;
    use tokio::sync::oneshot;

    use super::*;
    use crate::groups::coordinator::CoordinatorConfig;
    use crate::groups::GroupLimits;

    fn coordinator() -> GroupCoordinator {
        GroupCoordinator::new(CoordinatorConfig {
            limits: GroupLimits::default(),
            offsets_topic_partitions: 4,
            offsets_retention_ms: 60_000,
            offsets_retention_check_interval: Duration::from_secs(60),
            offsets_commit_timeout: Duration::from_secs(5),
        })
    }

    fn loaded(ids: &[&str]) -> HashMap<String, Group> {
        ids.iter()
            .map(|id| (id.to_string(), Group::new(id)))
            .collect()
    }

    #[tokio::test]
    async fn a_partition_is_served_once_loaded_and_its_groups_go_when_it_is_lost() {
        let c = coordinator();
        let ticket = c.registry().ownership.gained(1).unwrap();
        assert_eq!(
            c.registry().ownership.check(1),
            Err(ErrorCode::CoordinatorLoadInProgress)
        );
        assert!(c.install(ticket, loaded(&["a", "b"])));
        let other = c.registry().ownership.gained(2).unwrap();
        assert!(c.install(other, loaded(&["c"])));
        assert_eq!(c.registry().ownership.check(1), Ok(()));
        assert_eq!(c.registry().groups.len(), 3);

        let waiting = c.registry().groups["a"].clone();
        let (tx, rx) = oneshot::channel();
        waiting.lock().joins.insert("m".to_string(), tx);
        c.unload_partition(1);
        assert_eq!(rx.await.unwrap().error, ErrorCode::NotCoordinator);
        assert!(
            waiting.is_removed(),
            "a request holding the cell looks again"
        );
        let registry = c.registry();
        assert_eq!(registry.ownership.check(1), Err(ErrorCode::NotCoordinator));
        let left: Vec<&String> = registry.groups.keys().collect();
        assert_eq!(left, vec!["c"], "another partition's groups stay");
    }

    #[test]
    fn a_load_finished_after_its_partition_was_lost_installs_nothing() {
        let c = coordinator();
        let ticket = c.registry().ownership.gained(0).unwrap();
        c.unload_partition(0);
        assert!(!c.install(ticket, loaded(&["a"])));
        assert!(c.registry().groups.is_empty());
        assert_eq!(
            c.registry().ownership.check(0),
            Err(ErrorCode::NotCoordinator)
        );
    }
}
