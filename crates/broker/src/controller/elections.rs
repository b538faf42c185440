//! Elections asked for rather than forced by a failure:
//! - ElectLeaders (kafka-leader-election.sh, `ferry leader-election`): preferred (the first
//!   replica leads again, if it is alive and in the ISR) or unclean (a leaderless partition
//!   gets any live replica);
//! - `/admin/preferred_replica_election` (the ZooKeeper-era tool): preferred, then the node
//!   is deleted;
//! - the automatic leader rebalance (`auto.leader.rebalance.enable`): every
//!   `leader.imbalance.check.interval.seconds`, brokers leading fewer than
//!   `100 - leader.imbalance.per.broker.percentage` percent of the partitions they prefer get
//!   them back.

use std::time::Duration;

use ferry_kafka_protocol::ErrorCode;

use super::context::{elect, imbalanced, preferred, Decision, NotElected, NO_LEADER};
use super::mailbox::{ElectionOutcome, ElectionType};
use super::Active;
use crate::zk::{ElectionPartition, LeaderAndIsr, ZkError};

impl Active {
    pub(super) fn rebalance_interval(&self) -> Duration {
        self.broker.upgrade().map_or(Duration::from_secs(300), |b| {
            b.config.replication.leader_imbalance_check_interval
        })
    }

    /// Runs the requested elections; one outcome per partition.
    pub(super) async fn elect_leaders(
        &mut self,
        partitions: Option<Vec<(String, i32)>>,
        election: ElectionType,
    ) -> Result<Vec<ElectionOutcome>, ZkError> {
        // Asked for every partition, Kafka answers only for those an election was due for.
        let everything = partitions.is_none();
        let partitions = partitions.unwrap_or_else(|| self.ctx.partitions());
        let mut outcomes = Vec::with_capacity(partitions.len());
        let mut changed = Vec::new();
        for key in partitions {
            let outcome = self.elect_one(&key, election).await?;
            if outcome.is_ok() {
                changed.push(key.clone());
            }
            let not_needed =
                matches!(&outcome, Err((code, _)) if *code == ErrorCode::ElectionNotNeeded);
            if !(everything && not_needed) {
                outcomes.push((key, outcome));
            }
        }
        self.announce(&changed);
        Ok(outcomes)
    }

    async fn elect_one(
        &mut self,
        key: &(String, i32),
        election: ElectionType,
    ) -> Result<Result<(), (ErrorCode, String)>, ZkError> {
        let Some(mut at) = self.ctx.states.get(key).cloned() else {
            return Ok(Err((
                ErrorCode::UnknownTopicOrPartition,
                format!("{}-{} is not a known partition", key.0, key.1),
            )));
        };
        let replicas = self.ctx.replicas(&key.0, key.1).to_vec();
        let live = self.eligible();
        let epoch = self.fence.epoch;
        let decide = |state: &LeaderAndIsr| -> Result<LeaderAndIsr, NotElected> {
            match election {
                ElectionType::Preferred => preferred(state, &replicas, &live, epoch),
                ElectionType::Unclean if state.leader != NO_LEADER => Err(NotElected::NotNeeded),
                ElectionType::Unclean => match elect(state, &replicas, &live, true, epoch) {
                    Decision::Write(next) if next.leader != NO_LEADER => Ok(next),
                    _ => Err(NotElected::NotAvailable),
                },
            }
        };
        if let Err(why) = decide(&at.state) {
            return Ok(Err(refused(election, why)));
        }
        match self.write_decided(key, &mut at, |s| decide(s).ok()).await? {
            Some(written) => {
                self.ctx.states.insert(key.clone(), written);
                Ok(Ok(()))
            }
            // The state changed under the write so that no election is due any more.
            None => Ok(Err(refused(election, NotElected::NotNeeded))),
        }
    }

    /// `/admin/preferred_replica_election` appeared (or changed): elect, then remove it.
    pub(super) async fn preferred_requested(
        &mut self,
        request: Option<Vec<ElectionPartition>>,
    ) -> Result<(), ZkError> {
        let Some(partitions) = request else {
            return Ok(());
        };
        let keys = partitions
            .into_iter()
            .map(|p| (p.topic, p.partition))
            .collect();
        let outcomes = self
            .elect_leaders(Some(keys), ElectionType::Preferred)
            .await?;
        let elected = outcomes.iter().filter(|(_, o)| o.is_ok()).count();
        tracing::info!(
            requested = outcomes.len(),
            elected,
            "preferred replica election done"
        );
        self.zk.delete_preferred_election(&self.fence).await
    }

    /// The periodic automatic rebalance.
    pub(super) async fn rebalance_leaders(&mut self) -> Result<(), ZkError> {
        let Some(b) = self.broker.upgrade() else {
            return Ok(());
        };
        let settings = &b.config.replication;
        if !settings.auto_leader_rebalance {
            return Ok(());
        }
        let moved = imbalanced(&self.ctx, settings.leader_imbalance_per_broker_percentage);
        drop(b);
        if moved.is_empty() {
            return Ok(());
        }
        tracing::info!(
            partitions = moved.len(),
            "leader imbalance: electing preferred leaders"
        );
        self.elect_leaders(Some(moved), ElectionType::Preferred)
            .await
            .map(drop)
    }
}

fn refused(election: ElectionType, why: NotElected) -> (ErrorCode, String) {
    match (election, why) {
        (_, NotElected::NotNeeded) => (
            ErrorCode::ElectionNotNeeded,
            "Leader election not needed for topic partition".to_string(),
        ),
        (ElectionType::Preferred, NotElected::NotAvailable) => (
            ErrorCode::PreferredLeaderNotAvailable,
            "Failed to elect leader for partition under strategy PreferredReplicaPartitionLeaderElectionStrategy".to_string(),
        ),
        (ElectionType::Unclean, NotElected::NotAvailable) => (
            ErrorCode::EligibleLeadersNotAvailable,
            "Failed to elect leader for partition under strategy OfflinePartitionLeaderElectionStrategy".to_string(),
        ),
    }
}
