//! Replica placement for new partitions, as Kafka's `AdminUtils.assignReplicasToBrokers`
//! (rack-unaware form): the first replica of partition p goes round-robin from a random
//! broker, the followers at an offset from it that shifts every time the partitions wrap
//! around the brokers, so that leaders and followers both spread evenly.

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
    if replication_factor < 1 {
        return Err(AssignmentError::InvalidReplicationFactor);
    }
    let rf = replication_factor as usize;
    if rf > brokers.len() {
        return Err(AssignmentError::TooFewBrokers {
            replication_factor,
            brokers: brokers.len(),
        });
    }
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

fn follower_index(lead: usize, shift: usize, j: usize, n: usize) -> usize {
    let offset = 1 + (shift + j) % (n - 1);
    (lead + offset) % n
}

/// [`assign`] with Kafka's random start and shift.
pub fn assign_randomly(
    first: i32,
    count: i32,
    replication_factor: i32,
    brokers: &[i32],
) -> Result<BTreeMap<i32, Vec<i32>>, AssignmentError> {
    let n = brokers.len().max(1);
    let start = rand::random::<u32>() as usize % n;
    let shift = rand::random::<u32>() as usize % n;
    assign(first, count, replication_factor, brokers, start, shift)
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
        assert_eq!(assign_randomly(0, 4, 2, &[1, 2]).unwrap().len(), 4);
    }
}
