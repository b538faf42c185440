//! Replica placement for new partitions, as Kafka's `AdminUtils.assignReplicasToBrokers`:
//! the first replica of partition p goes round-robin from a random broker, the followers at
//! an offset from it that shifts every time the partitions wrap around the brokers, so that
//! leaders and followers both spread evenly. When every broker has a `broker.rack`, the
//! brokers are first ordered alternating between racks, and a follower is skipped while its
//! rack (or itself) already has a replica and another rack (or broker) has none, so each
//! partition's replicas spread over as many racks as possible.

use std::collections::BTreeMap;

/// Why replicas cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    #[error("Replication factor: {replication_factor} larger than available brokers: {brokers}.")]
    TooFewBrokers {
        replication_factor: i32,
        brokers: usize,
    },
    #[error("Replication factor must be larger than 0.")]
    InvalidReplicationFactor,
}

/// Replicas for partitions `first..first + count` over `brokers`, with `start` and `shift`
/// the random choices Kafka makes (passed in for tests).
pub fn assign(
    first: i32,
    count: i32,
    replication_factor: i32,
    brokers: &[i32],
    start: usize,
    shift: usize,
) -> Result<BTreeMap<i32, Vec<i32>>, AssignmentError> {
    let rf = checked_factor(replication_factor, brokers.len())?;
    let mut sorted = brokers.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let mut shift = shift % n.max(1);
    let mut out = BTreeMap::new();
    for i in 0..count.max(0) as usize {
        if i > 0 && i % n == 0 {
            shift += 1;
        }
        let lead = (i + start) % n;
        let mut replicas = vec![sorted[lead]];
        for j in 0..rf - 1 {
            replicas.push(sorted[follower_index(lead, shift, j, n)]);
        }
        out.insert(first + i as i32, replicas);
    }
    Ok(out)
}

/// The replication factor, if `brokers` can hold that many replicas.
fn checked_factor(replication_factor: i32, brokers: usize) -> Result<usize, AssignmentError> {
    let rf = usize::try_from(replication_factor)
        .ok()
        .filter(|rf| *rf >= 1)
        .ok_or(AssignmentError::InvalidReplicationFactor)?;
    if rf > brokers {
        return Err(AssignmentError::TooFewBrokers {
            replication_factor,
            brokers,
        });
    }
    Ok(rf)
}

fn follower_index(lead: usize, shift: usize, j: usize, n: usize) -> usize {
    let offset = 1 + (shift + j) % (n - 1);
    (lead + offset) % n
}

/// A broker and its `broker.rack`.
pub type RackedBroker = (i32, Option<String>);

/// Placement with Kafka's random start and shift: rack-aware when every broker has a rack.
pub fn assign_randomly(
    first: i32,
    count: i32,
    replication_factor: i32,
    brokers: &[RackedBroker],
) -> Result<BTreeMap<i32, Vec<i32>>, AssignmentError> {
    let n = brokers.len().max(1);
    let start = rand::random::<u32>() as usize % n;
    let shift = rand::random::<u32>() as usize % n;
    let racks: Option<BTreeMap<i32, String>> = brokers
        .iter()
        .map(|(id, rack)| rack.clone().map(|r| (*id, r)))
        .collect();
    match racks {
        Some(racks) if !racks.is_empty() => {
            assign_rack_aware(first, count, replication_factor, &racks, start, shift)
        }
        _ => {
            if brokers.iter().any(|(_, rack)| rack.is_some()) {
                tracing::warn!("not every broker has broker.rack: placing replicas rack-unaware");
            }
            let ids: Vec<i32> = brokers.iter().map(|(id, _)| *id).collect();
            assign(first, count, replication_factor, &ids, start, shift)
        }
    }
}

/// Kafka's `assignReplicasToBrokersRackAware`, with the random choices passed in.
pub fn assign_rack_aware(
    first: i32,
    count: i32,
    replication_factor: i32,
    racks: &BTreeMap<i32, String>,
    start: usize,
    shift: usize,
) -> Result<BTreeMap<i32, Vec<i32>>, AssignmentError> {
    let arranged = rack_alternated(racks);
    let n = arranged.len();
    let rf = checked_factor(replication_factor, n)?;
    let rack_count = racks
        .values()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let mut shift = shift % n;
    let mut out = BTreeMap::new();
    for i in 0..count.max(0) as usize {
        if i > 0 && i % n == 0 {
            shift += 1;
        }
        let lead_index = (i + start) % n;
        let leader = arranged[lead_index];
        let mut replicas = vec![leader];
        let mut used_racks = std::collections::BTreeSet::from([&racks[&leader]]);
        let mut k = 0;
        while replicas.len() < rf {
            let broker = arranged[follower_index(lead_index, shift * rack_count, k, n)];
            let rack = &racks[&broker];
            let rack_ok = !used_racks.contains(rack) || used_racks.len() == rack_count;
            let broker_ok = !replicas.contains(&broker) || replicas.len() == n;
            if rack_ok && broker_ok {
                replicas.push(broker);
                used_racks.insert(rack);
            }
            k += 1;
        }
        out.insert(first + i as i32, replicas);
    }
    Ok(out)
}

/// Brokers ordered alternating between racks (Kafka's `getRackAlternatedBrokerList`): the
/// first broker of each rack in rack order, then the second of each, ...
fn rack_alternated(racks: &BTreeMap<i32, String>) -> Vec<i32> {
    let mut by_rack: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (id, rack) in racks {
        by_rack.entry(rack.as_str()).or_default().push(*id);
    }
    let longest = by_rack.values().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| by_rack.values().filter_map(move |ids| ids.get(i).copied()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaders_and_followers_spread_as_kafka_places_them() {
        let a = assign(0, 6, 3, &[3, 1, 2], 0, 0).unwrap();
        assert_eq!(a[&0], vec![1, 2, 3]);
        assert_eq!(a[&1], vec![2, 3, 1]);
        assert_eq!(a[&2], vec![3, 1, 2]);
        // Wrapped around: followers shift.
        assert_eq!(a[&3], vec![1, 3, 2]);
        for replicas in a.values() {
            let mut unique = replicas.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 3, "{replicas:?}");
        }
        let leaders: Vec<i32> = a.values().map(|r| r[0]).collect();
        assert_eq!(leaders, vec![1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn replicas_spread_over_racks() {
        let racks = BTreeMap::from([
            (1, "a".to_string()),
            (2, "a".to_string()),
            (3, "b".to_string()),
            (4, "b".to_string()),
        ]);
        assert_eq!(rack_alternated(&racks), vec![1, 3, 2, 4]);
        for start in 0..4 {
            for shift in 0..4 {
                let a = assign_rack_aware(0, 8, 2, &racks, start, shift).unwrap();
                for replicas in a.values() {
                    let used: std::collections::BTreeSet<&String> =
                        replicas.iter().map(|r| &racks[r]).collect();
                    assert_eq!(used.len(), 2, "{replicas:?} on one rack");
                }
            }
        }
        // More replicas than racks: every rack first, then doubled up.
        let a = assign_rack_aware(0, 4, 3, &racks, 0, 0).unwrap();
        for replicas in a.values() {
            let mut unique = replicas.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 3);
        }
        let mixed = [(1, Some("a".to_string())), (2, None)];
        assert_eq!(assign_randomly(0, 2, 2, &mixed).unwrap().len(), 2);
    }

    #[test]
    fn one_broker_and_bad_factors() {
        assert_eq!(assign(2, 2, 1, &[7], 0, 0).unwrap()[&3], vec![7]);
        assert_eq!(
            assign(0, 1, 2, &[7], 0, 0),
            Err(AssignmentError::TooFewBrokers {
                replication_factor: 2,
                brokers: 1
            })
        );
        assert_eq!(
            assign(0, 1, 0, &[7], 0, 0),
            Err(AssignmentError::InvalidReplicationFactor)
        );
        assert_eq!(
            assign_randomly(0, 4, 2, &[(1, None), (2, None)])
                .unwrap()
                .len(),
            4
        );
    }
}
