//! Controlled shutdown (Kafka's `KafkaController.doControlledShutdown`): a broker about to
//! stop asks the controller first, which moves the leadership of every partition it leads to
//! another ISR member and takes it out of the ISR of the partitions it follows, so that
//! clients switch leaders before the broker goes instead of after its session expires.
//! Partitions with nobody else in the ISR stay where they are and are reported back (as in
//! Kafka, partitions with a single replica are left out: nobody could take them over).
//!
//! The same moves serve a broker whose process is gone before its session expired (see
//! `liveness`) and a broker that restarted under a new registration.

use super::context::{elect, Decision, NO_LEADER};
use super::Active;
use crate::zk::ZkError;

impl Active {
    /// Moves `broker`'s leaderships away (`why` says why, for the log); returns the
    /// partitions it still leads.
    pub(super) async fn move_leaderships_off(
        &mut self,
        broker: i32,
        why: &'static str,
    ) -> Result<Vec<(String, i32)>, ZkError> {
        if !self.ctx.live.contains_key(&broker) {
            return Ok(Vec::new());
        }
        tracing::info!(broker, why, "moving leaderships off a broker");
        self.shutting_down.insert(broker);
        let eligible = self.eligible();
        let (unclean, epoch) = (false, self.fence.epoch);
        let mut changed = Vec::new();
        let mut remaining = Vec::new();
        for key in self.ctx.partitions_on(broker) {
            let Some(current) = self.ctx.states.get(&key).cloned() else {
                continue;
            };
            let replicas = self.ctx.replicas(&key.0, key.1).to_vec();
            if replicas.len() < 2 {
                continue;
            }
            let mut at = current;
            let written = self
                .write_decided(&key, &mut at, |state| {
                    if !state.isr.contains(&broker) {
                        return None;
                    }
                    match elect(state, &replicas, &eligible, unclean, epoch) {
                        // Nobody else can lead: leave the partition led by the stopping
                        // broker rather than offline while it still runs.
                        Decision::Write(next) if next.leader == NO_LEADER => None,
                        Decision::Write(next) => Some(next),
                        Decision::Keep => None,
                    }
                })
                .await?;
            match written {
                Some(state) => {
                    self.ctx.states.insert(key.clone(), state);
                    changed.push(key);
                }
                None => {
                    if at.state.leader == broker {
                        remaining.push(key);
                    }
                }
            }
        }
        self.announce(&changed);
        tracing::info!(
            broker,
            moved = changed.len(),
            remaining = remaining.len(),
            why,
            "leaderships moved off a broker"
        );
        Ok(remaining)
    }
}
