//! The controller's picture of the cluster (Kafka's `ControllerContext`): live brokers, each
//! topic's replica assignment and each partition's state, loaded from ZooKeeper when this
//! broker becomes controller and kept current by its event loop. Pure data and decisions; the
//! event loop does the I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::zk::{BrokerInfo, LeaderAndIsr};

/// A partition's state and the version of its znode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateAt {
    pub state: LeaderAndIsr,
    pub zk_version: i32,
}

/// Kafka's `LeaderAndIsr.NoLeader`.
pub const NO_LEADER: i32 = -1;

#[derive(Debug, Default)]
pub struct ControllerContext {
    pub live: BTreeMap<i32, BrokerInfo>,
    /// Topic -> partition -> replicas, from `/brokers/topics/<t>`.
    pub assignments: BTreeMap<String, BTreeMap<i32, Vec<i32>>>,
    /// (topic, partition) -> state, from `.../partitions/<p>/state`.
    pub states: BTreeMap<(String, i32), StateAt>,
}

impl ControllerContext {
    pub fn live_ids(&self) -> BTreeSet<i32> {
        self.live.keys().copied().collect()
    }

    pub fn replicas(&self, topic: &str, partition: i32) -> &[i32] {
        self.assignments
            .get(topic)
            .and_then(|t| t.get(&partition))
            .map_or(&[], Vec::as_slice)
    }

    /// Every assigned partition, in order.
    pub fn partitions(&self) -> Vec<(String, i32)> {
        self.assignments
            .iter()
            .flat_map(|(t, parts)| parts.keys().map(move |p| (t.clone(), *p)))
            .collect()
    }

    /// The partitions with a replica on `broker`.
    pub fn partitions_on(&self, broker: i32) -> Vec<(String, i32)> {
        self.partitions()
            .into_iter()
            .filter(|(t, p)| self.replicas(t, *p).contains(&broker))
            .collect()
    }

    /// The replicas not alive now.
    pub fn offline_replicas(&self, topic: &str, partition: i32) -> Vec<i32> {
        self.replicas(topic, partition)
            .iter()
            .copied()
            .filter(|r| !self.live.contains_key(r))
            .collect()
    }
}

/// What an election decided for a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to change.
    Keep,
    /// Write this state (leader epoch already bumped).
    Write(LeaderAndIsr),
}

/// The first state of a new partition: the first live replica leads, the live replicas form
/// the ISR. `None` while no replica is alive.
pub fn initial_state(
    replicas: &[i32],
    live: &BTreeSet<i32>,
    controller_epoch: i32,
) -> Option<LeaderAndIsr> {
    let isr: Vec<i32> = replicas
        .iter()
        .copied()
        .filter(|r| live.contains(r))
        .collect();
    let leader = *isr.first()?;
    Some(LeaderAndIsr {
        leader,
        leader_epoch: 0,
        isr,
        controller_epoch,
    })
}

/// Kafka's offline-partition election and replica removal in one rule, applied whenever the
/// live brokers change: dead brokers leave the ISR (but the last ISR member stays, so that it
/// can lead again when it returns), and a partition whose leader is dead (or that has none)
/// gets the first live ISR member in assignment order, or, with `unclean`, the first live
/// replica. Any change bumps the leader epoch.
pub fn elect(
    current: &LeaderAndIsr,
    replicas: &[i32],
    live: &BTreeSet<i32>,
    unclean: bool,
    controller_epoch: i32,
) -> Decision {
    let live_isr: Vec<i32> = current
        .isr
        .iter()
        .copied()
        .filter(|r| live.contains(r))
        .collect();
    let leader_alive = current.leader != NO_LEADER && live.contains(&current.leader);
    let (leader, isr) = if leader_alive {
        (current.leader, live_isr)
    } else if let Some(leader) = replicas.iter().copied().find(|r| live_isr.contains(r)) {
        (leader, live_isr)
    } else if let Some(leader) = unclean
        .then(|| replicas.iter().copied().find(|r| live.contains(r)))
        .flatten()
    {
        tracing::warn!(
            leader,
            "unclean leader election: records only the ISR had are lost"
        );
        (leader, vec![leader])
    } else {
        // No eligible leader: offline. The ISR keeps its last member(s) so that they, and
        // only they, can lead when they return.
        let isr = if live_isr.is_empty() {
            current.isr.clone()
        } else {
            live_isr
        };
        (NO_LEADER, isr)
    };
    if leader == current.leader && isr == current.isr {
        return Decision::Keep;
    }
    Decision::Write(LeaderAndIsr {
        leader,
        leader_epoch: current.leader_epoch + 1,
        isr,
        controller_epoch,
    })
}

/// Why a requested election did not change the leader (Kafka's ElectLeaders errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotElected {
    /// The wanted leader leads already (ELECTION_NOT_NEEDED).
    NotNeeded,
    /// The preferred replica is not alive or not in the ISR (PREFERRED_LEADER_NOT_AVAILABLE);
    /// no live replica at all for an unclean election (ELIGIBLE_LEADERS_NOT_AVAILABLE).
    NotAvailable,
}

/// Preferred-leader election: the first assigned replica leads, if it is alive and in the ISR.
pub fn preferred(
    current: &LeaderAndIsr,
    replicas: &[i32],
    live: &BTreeSet<i32>,
    controller_epoch: i32,
) -> Result<LeaderAndIsr, NotElected> {
    let Some(&wanted) = replicas.first() else {
        return Err(NotElected::NotAvailable);
    };
    if current.leader == wanted {
        return Err(NotElected::NotNeeded);
    }
    if !live.contains(&wanted) || !current.isr.contains(&wanted) {
        return Err(NotElected::NotAvailable);
    }
    Ok(LeaderAndIsr {
        leader: wanted,
        leader_epoch: current.leader_epoch + 1,
        isr: current.isr.clone(),
        controller_epoch,
    })
}

/// Kafka's automatic leader rebalance trigger: for each broker, the share of the partitions
/// it is the preferred leader of that another broker leads; the partitions to move back for
/// brokers above `max_percent`.
pub fn imbalanced(ctx: &ControllerContext, max_percent: u32) -> Vec<(String, i32)> {
    let mut preferred_of: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
    for (topic, p) in ctx.partitions() {
        if let Some(&first) = ctx.replicas(&topic, p).first() {
            preferred_of.entry(first).or_default().push((topic, p));
        }
    }
    let mut out = Vec::new();
    for (broker, partitions) in preferred_of {
        if !ctx.live.contains_key(&broker) {
            continue;
        }
        let elsewhere: Vec<(String, i32)> = partitions
            .iter()
            .filter(|k| ctx.states.get(*k).is_some_and(|s| s.state.leader != broker))
            .cloned()
            .collect();
        let percent = elsewhere.len() * 100 / partitions.len().max(1);
        if percent > max_percent as usize {
            out.extend(elsewhere);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(leader: i32, epoch: i32, isr: &[i32]) -> LeaderAndIsr {
        LeaderAndIsr {
            leader,
            leader_epoch: epoch,
            isr: isr.to_vec(),
            controller_epoch: 1,
        }
    }

    fn live(ids: &[i32]) -> BTreeSet<i32> {
        ids.iter().copied().collect()
    }

    #[test]
    fn new_partitions_are_led_by_the_first_live_replica() {
        let s = initial_state(&[2, 3, 1], &live(&[1, 3]), 4).unwrap();
        assert_eq!((s.leader, s.isr, s.controller_epoch), (3, vec![3, 1], 4));
        assert_eq!(initial_state(&[2], &live(&[1]), 4), None);
    }

    #[test]
    fn a_dead_leader_is_replaced_by_the_first_live_isr_member_in_assignment_order() {
        let d = elect(
            &state(1, 5, &[1, 2, 3]),
            &[1, 3, 2],
            &live(&[2, 3]),
            false,
            2,
        );
        assert_eq!(d, Decision::Write(state_with(3, 6, &[2, 3], 2)));
        // A dead follower only leaves the ISR.
        let d = elect(
            &state(1, 5, &[1, 2, 3]),
            &[1, 2, 3],
            &live(&[1, 3]),
            false,
            2,
        );
        assert_eq!(d, Decision::Write(state_with(1, 6, &[1, 3], 2)));
        // Everyone alive: nothing to do.
        let d = elect(
            &state(1, 5, &[1, 2]),
            &[1, 2, 3],
            &live(&[1, 2, 3]),
            false,
            2,
        );
        assert_eq!(d, Decision::Keep);
    }

    #[test]
    fn without_a_live_isr_member_the_partition_goes_offline_unless_unclean() {
        let d = elect(&state(1, 5, &[1]), &[1, 2], &live(&[2]), false, 2);
        assert_eq!(d, Decision::Write(state_with(NO_LEADER, 6, &[1], 2)));
        // Offline already: nothing new.
        let offline = state(NO_LEADER, 6, &[1]);
        assert_eq!(
            elect(&offline, &[1, 2], &live(&[2]), false, 2),
            Decision::Keep
        );
        // The last ISR member returns and leads again.
        let d = elect(&offline, &[1, 2], &live(&[1, 2]), false, 2);
        assert_eq!(d, Decision::Write(state_with(1, 7, &[1], 2)));
        let d = elect(&offline, &[1, 2], &live(&[2]), true, 2);
        assert_eq!(d, Decision::Write(state_with(2, 7, &[2], 2)));
    }

    #[test]
    fn preferred_election_needs_the_first_replica_alive_and_in_sync() {
        let current = state(2, 3, &[2, 1]);
        let moved = preferred(&current, &[1, 2], &live(&[1, 2]), 5).unwrap();
        assert_eq!(moved, state_with(1, 4, &[2, 1], 5));
        assert_eq!(
            preferred(&state(1, 3, &[1]), &[1, 2], &live(&[1, 2]), 5),
            Err(NotElected::NotNeeded)
        );
        assert_eq!(
            preferred(&state(2, 3, &[2]), &[1, 2], &live(&[1, 2]), 5),
            Err(NotElected::NotAvailable)
        );
    }

    #[test]
    fn imbalance_lists_partitions_led_away_from_their_preferred_broker() {
        let mut ctx = ControllerContext::default();
        for id in [1, 2] {
            ctx.live.insert(id, crate::zk::BrokerInfo::new(id, vec![]));
        }
        let mut parts = BTreeMap::new();
        for p in 0..4 {
            parts.insert(p, if p % 2 == 0 { vec![1, 2] } else { vec![2, 1] });
            let leader = if p == 0 {
                2
            } else if p % 2 == 0 {
                1
            } else {
                2
            };
            ctx.states.insert(
                ("t".to_string(), p),
                StateAt {
                    state: state(leader, 1, &[1, 2]),
                    zk_version: 0,
                },
            );
        }
        ctx.assignments.insert("t".to_string(), parts);
        // Broker 1 prefers 0 and 2 and leads only 2: 50% elsewhere.
        assert_eq!(imbalanced(&ctx, 10), vec![("t".to_string(), 0)]);
        assert!(imbalanced(&ctx, 50).is_empty());
    }

    fn state_with(leader: i32, epoch: i32, isr: &[i32], controller_epoch: i32) -> LeaderAndIsr {
        LeaderAndIsr {
            controller_epoch,
            ..state(leader, epoch, isr)
        }
    }
}
