//! Partition reassignment through `/admin/reassign_partitions` or AlterPartitionReassignments,
//! as Kafka 2.x's controller carries it out: data is copied before anything is removed.
//!
//! 1. Start: the partition's replicas become the old ones plus the new ones (recorded in the
//!    topic's znode with `adding_replicas`/`removing_replicas`), the leader epoch is bumped and
//!    every replica is told, so the new replicas start fetching from the leader.
//! 2. Wait until every target replica is in the ISR (checked on each ISR change notification
//!    and periodically).
//! 3. Finish: the leader moves to a target replica if it is not one, the ISR keeps only
//!    targets, the assignment becomes the targets, the dropped replicas get StopReplica with
//!    deletion, and the partition leaves `/admin/reassign_partitions` (deleted when empty).
//!
//! A reassignment started through the API is written to `/admin/reassign_partitions` too, so
//! that a new controller carries on with it and the `--zookeeper` tools see it. Cancelling one
//! (the API with no target) finishes it towards the replicas it started from: the added
//! replicas stop and delete their copy. A controller that took over a reassignment started
//! before it only knows the replicas it found (old and new together), and cancels to those.

use ferry_kafka_protocol::ErrorCode;

use crate::zk::{LeaderAndIsr, Reassignment, ReplicaAssignment, ZkError};

use super::mailbox::{OngoingReassignment, PartitionOutcome, TopicPartitionKey};
use super::Active;

/// A partition being reassigned: where it started and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Moving {
    pub original: Vec<i32>,
    pub target: Vec<i32>,
}

impl Active {
    /// The operator's request appeared or changed: start every partition not started yet.
    pub(super) async fn reassignments_requested(
        &mut self,
        request: Option<Vec<Reassignment>>,
    ) -> Result<(), ZkError> {
        let Some(partitions) = request else {
            return Ok(());
        };
        for r in partitions {
            let key = (r.topic.clone(), r.partition);
            if self.reassigning.contains_key(&key) {
                continue;
            }
            let current = self.ctx.replicas(&key.0, key.1).to_vec();
            if current.is_empty() || r.replicas.is_empty() {
                tracing::warn!(topic = %r.topic, partition = r.partition,
                    "reassignment of an unknown partition (or to no replica) ignored");
                continue;
            }
            if current == r.replicas {
                continue;
            }
            self.begin(key, current, r.replicas).await?;
        }
        self.advance_reassignments().await
    }

    /// AlterPartitionReassignments: starts (a target) or cancels (none) each partition's move.
    pub(super) async fn alter_reassignments(
        &mut self,
        changes: Vec<(TopicPartitionKey, Option<Vec<i32>>)>,
    ) -> Result<Vec<PartitionOutcome>, ZkError> {
        let mut outcomes = Vec::with_capacity(changes.len());
        for (key, target) in changes {
            let outcome = match target {
                Some(target) => self.start_requested(&key, target).await?,
                None => self.cancel(&key).await?,
            };
            outcomes.push((key, outcome));
        }
        // Written once whether or not some move also finished: the API's moves are known to
        // a successor from here.
        self.finish_ready().await?;
        self.persist_pending().await?;
        Ok(outcomes)
    }

    async fn start_requested(
        &mut self,
        key: &TopicPartitionKey,
        target: Vec<i32>,
    ) -> Result<Result<(), (ErrorCode, String)>, ZkError> {
        let current = self.ctx.replicas(&key.0, key.1).to_vec();
        if current.is_empty() {
            let why = format!("{}-{} does not exist", key.0, key.1);
            return Ok(Err((ErrorCode::UnknownTopicOrPartition, why)));
        }
        if let Some(refused) = invalid_target(&target, |id| self.ctx.live.contains_key(&id)) {
            return Ok(Err((ErrorCode::InvalidReplicaAssignment, refused)));
        }
        if let Some(moving) = self.reassigning.get(key) {
            if moving.target == target {
                return Ok(Ok(()));
            }
            let why = "the partition is being reassigned to other replicas: cancel that first";
            return Ok(Err((ErrorCode::ReassignmentInProgress, why.to_string())));
        }
        if current != target {
            self.begin(key.clone(), current, target).await?;
        }
        Ok(Ok(()))
    }

    async fn cancel(
        &mut self,
        key: &TopicPartitionKey,
    ) -> Result<Result<(), (ErrorCode, String)>, ZkError> {
        let Some(moving) = self.reassigning.remove(key) else {
            let why = format!("no reassignment of {}-{} is in progress", key.0, key.1);
            return Ok(Err((ErrorCode::NoReassignmentInProgress, why)));
        };
        self.finish_reassignment(key, &moving.original).await?;
        tracing::info!(topic = %key.0, partition = key.1, replicas = ?moving.original,
            "reassignment cancelled");
        Ok(Ok(()))
    }

    /// ListPartitionReassignments.
    pub(super) fn list_reassignments(
        &self,
        partitions: Option<&[TopicPartitionKey]>,
    ) -> Vec<OngoingReassignment> {
        self.reassigning
            .iter()
            .filter(|(key, _)| match partitions {
                None => true,
                Some(asked) => asked.contains(key),
            })
            .map(|(key, moving)| OngoingReassignment {
                partition: key.clone(),
                replicas: self.ctx.replicas(&key.0, key.1).to_vec(),
                adding: without(&moving.target, &moving.original),
                removing: without(&moving.original, &moving.target),
            })
            .collect()
    }

    /// Starts moving `key` from `current` to `target` and keeps track of it.
    async fn begin(
        &mut self,
        key: TopicPartitionKey,
        current: Vec<i32>,
        target: Vec<i32>,
    ) -> Result<(), ZkError> {
        self.start_reassignment(&key, &current, &target).await?;
        let moving = Moving {
            original: current,
            target,
        };
        self.reassigning.insert(key, moving);
        Ok(())
    }

    async fn start_reassignment(
        &mut self,
        key: &(String, i32),
        current: &[i32],
        target: &[i32],
    ) -> Result<(), ZkError> {
        let mut all = current.to_vec();
        all.extend(target.iter().filter(|r| !current.contains(r)));
        let assignment = ReplicaAssignment {
            replicas: all.clone(),
            adding_replicas: target
                .iter()
                .copied()
                .filter(|r| !current.contains(r))
                .collect(),
            removing_replicas: current
                .iter()
                .copied()
                .filter(|r| !target.contains(r))
                .collect(),
        };
        self.set_replicas(key, assignment).await?;
        self.bump_epoch(key, |state| state.clone()).await?;
        tracing::info!(topic = %key.0, partition = key.1, from = ?current, to = ?target,
            "reassignment started");
        Ok(())
    }

    /// Finishes every reassignment whose targets are all in the ISR, and writes what is left
    /// when one finished.
    pub(super) async fn advance_reassignments(&mut self) -> Result<(), ZkError> {
        if self.finish_ready().await? {
            self.persist_pending().await?;
        }
        Ok(())
    }

    /// Finishes every reassignment whose targets are all in the ISR; whether one finished.
    async fn finish_ready(&mut self) -> Result<bool, ZkError> {
        let ready: Vec<((String, i32), Vec<i32>)> = self
            .reassigning
            .iter()
            .filter(|(key, moving)| {
                self.ctx
                    .states
                    .get(*key)
                    .is_some_and(|at| moving.target.iter().all(|r| at.state.isr.contains(r)))
            })
            .map(|(k, m)| (k.clone(), m.target.clone()))
            .collect();
        for (key, target) in &ready {
            self.finish_reassignment(key, target).await?;
            self.reassigning.remove(key);
        }
        Ok(!ready.is_empty())
    }

    /// Writes the reassignments in progress to `/admin/reassign_partitions` (deleted when
    /// there is none).
    async fn persist_pending(&self) -> Result<(), ZkError> {
        let left: Vec<Reassignment> = self
            .reassigning
            .iter()
            .map(|((topic, partition), moving)| Reassignment {
                topic: topic.clone(),
                partition: *partition,
                replicas: moving.target.clone(),
            })
            .collect();
        self.zk.set_pending_reassignments(&left, &self.fence).await
    }

    async fn finish_reassignment(
        &mut self,
        key: &(String, i32),
        target: &[i32],
    ) -> Result<(), ZkError> {
        let before = self.ctx.replicas(&key.0, key.1).to_vec();
        // The assignment first, so that the new epoch goes to the targets only: a dropped
        // replica is fenced off at once and cannot rejoin the ISR before it stops.
        let assignment = ReplicaAssignment {
            replicas: target.to_vec(),
            ..ReplicaAssignment::default()
        };
        self.set_replicas(key, assignment).await?;
        let live = self.eligible();
        let target_owned = target.to_vec();
        self.bump_epoch(key, move |state| {
            let leader = if target_owned.contains(&state.leader) {
                state.leader
            } else {
                target_owned
                    .iter()
                    .copied()
                    .find(|r| live.contains(r) && state.isr.contains(r))
                    .unwrap_or(state.leader)
            };
            LeaderAndIsr {
                leader,
                isr: state
                    .isr
                    .iter()
                    .copied()
                    .filter(|r| target_owned.contains(r))
                    .collect(),
                ..state.clone()
            }
        })
        .await?;
        // The dropped replicas stop and delete their copy.
        let dropped: Vec<i32> = before
            .iter()
            .copied()
            .filter(|r| !target.contains(r))
            .collect();
        self.stop_replicas_on(std::slice::from_ref(key), &dropped);
        tracing::info!(topic = %key.0, partition = key.1, replicas = ?target,
            "reassignment completed");
        Ok(())
    }

    /// Writes a partition's replicas to its topic's znode and the context.
    async fn set_replicas(
        &mut self,
        key: &(String, i32),
        assignment: ReplicaAssignment,
    ) -> Result<(), ZkError> {
        let replicas = assignment.replicas.clone();
        self.zk
            .set_partition_replicas(&key.0, key.1, assignment, &self.fence)
            .await?;
        self.ctx
            .assignments
            .entry(key.0.clone())
            .or_default()
            .insert(key.1, replicas);
        Ok(())
    }

    /// Writes `change(state)` with the leader epoch bumped, and tells the partition's replicas.
    async fn bump_epoch(
        &mut self,
        key: &(String, i32),
        change: impl Fn(&LeaderAndIsr) -> LeaderAndIsr,
    ) -> Result<(), ZkError> {
        let Some(mut at) = self.ctx.states.get(key).cloned() else {
            return Ok(());
        };
        let epoch = self.fence.epoch;
        let written = self
            .write_decided(key, &mut at, |state| {
                let mut next = change(state);
                next.leader_epoch = state.leader_epoch + 1;
                next.controller_epoch = epoch;
                Some(next)
            })
            .await?;
        if let Some(written) = written {
            self.ctx.states.insert(key.clone(), written);
            self.announce(std::slice::from_ref(key));
        }
        Ok(())
    }
}

/// Why `target` cannot be a partition's replica list, if it cannot: empty, a broker twice, or a
/// broker that is not registered.
fn invalid_target(target: &[i32], registered: impl Fn(i32) -> bool) -> Option<String> {
    if target.is_empty() {
        return Some("the replica list is empty".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(twice) = target.iter().find(|id| !seen.insert(**id)) {
        return Some(format!("broker {twice} is listed twice"));
    }
    let unknown: Vec<String> = target
        .iter()
        .filter(|id| !registered(**id))
        .map(ToString::to_string)
        .collect();
    (!unknown.is_empty()).then(|| {
        format!(
            "The proposed assignment contains non-existent brokerIDs: {}",
            unknown.join(",")
        )
    })
}

/// `from` without what `other` holds, in `from`'s order.
fn without(from: &[i32], other: &[i32]) -> Vec<i32> {
    from.iter()
        .copied()
        .filter(|r| !other.contains(r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_empty_repeated_and_unknown_replicas() {
        let registered = |id: i32| (1..=3).contains(&id);
        assert_eq!(invalid_target(&[1, 2, 3], registered), None);
        assert!(invalid_target(&[], registered).is_some());
        assert_eq!(
            invalid_target(&[1, 1], registered).as_deref(),
            Some("broker 1 is listed twice")
        );
        assert_eq!(
            invalid_target(&[1, 4, 5], registered).as_deref(),
            Some("The proposed assignment contains non-existent brokerIDs: 4,5")
        );
    }

    #[test]
    fn lists_what_is_added_and_removed() {
        assert_eq!(without(&[2, 3, 4], &[1, 2, 3]), vec![4]);
        assert_eq!(without(&[1, 2, 3], &[2, 3, 4]), vec![1]);
    }
}
