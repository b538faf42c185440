//! Partition reassignment through `/admin/reassign_partitions`, as Kafka 2.x's controller
//! carries it out: data is copied before anything is removed.
//!
//! 1. Start: the partition's replicas become the old ones plus the new ones (recorded in the
//!    topic's znode with `adding_replicas`/`removing_replicas`), the leader epoch is bumped and
//!    every replica is told, so the new replicas start fetching from the leader.
//! 2. Wait until every target replica is in the ISR (checked on each ISR change notification
//!    and periodically).
//! 3. Finish: the leader moves to a target replica if it is not one, the ISR keeps only
//!    targets, the assignment becomes the targets, the dropped replicas get StopReplica with
//!    deletion, and the partition leaves `/admin/reassign_partitions` (deleted when empty).

use crate::zk::{LeaderAndIsr, Reassignment, ReplicaAssignment, ZkError};

use super::Active;

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
            self.start_reassignment(&key, &current, &r.replicas).await?;
            self.reassigning.insert(key, r.replicas);
        }
        self.advance_reassignments().await
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

    /// Finishes every reassignment whose targets are all in the ISR.
    pub(super) async fn advance_reassignments(&mut self) -> Result<(), ZkError> {
        let ready: Vec<((String, i32), Vec<i32>)> = self
            .reassigning
            .iter()
            .filter(|(key, target)| {
                self.ctx
                    .states
                    .get(*key)
                    .is_some_and(|at| target.iter().all(|r| at.state.isr.contains(r)))
            })
            .map(|(k, t)| (k.clone(), t.clone()))
            .collect();
        if ready.is_empty() {
            return Ok(());
        }
        for (key, target) in ready {
            self.finish_reassignment(&key, &target).await?;
            self.reassigning.remove(&key);
        }
        let left: Vec<Reassignment> = self
            .reassigning
            .iter()
            .map(|((topic, partition), replicas)| Reassignment {
                topic: topic.clone(),
                partition: *partition,
                replicas: replicas.clone(),
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
