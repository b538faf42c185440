//! What `ferry reassign-partitions` checks and prints whichever way it reaches the cluster
//! (`reassign_api` through the controller, `reassign_zk` on the znodes): the proposal's checks,
//! the rollback file, and the status and throttle lines, in `ReassignPartitionsCommand`'s words.

use std::collections::BTreeSet;

use anyhow::bail;

use super::reassign_json::{format_reassignment, partition_list, Assignment, TopicPartition};

/// Topic configs that throttle a reassignment's replication, cleared by `--verify` once no
/// reassignment is left (ferry's brokers keep no broker-level throttles to clear).
pub const TOPIC_THROTTLES: [&str; 2] = [
    "leader.replication.throttled.replicas",
    "follower.replication.throttled.replicas",
];

/// Why `--execute` refuses while another reassignment is in progress (Kafka's words).
pub const EXISTING_REASSIGNMENT: &str = "Cannot execute because there is an existing partition \
    assignment.  Use --additional to override this and create a new partition assignment in \
    addition to the existing one. The --additional flag can also be used to change the \
    throttle by resubmitting the current reassignment.";

/// The topics an assignment names, each once, in order.
pub fn topics_of(assignment: &Assignment) -> Vec<String> {
    let topics: BTreeSet<&String> = assignment.keys().map(|tp| &tp.topic).collect();
    topics.into_iter().cloned().collect()
}

/// Refuses a proposal naming partitions that do not exist or brokers not registered, with
/// Kafka's messages.
pub fn check_proposal(
    proposed: &Assignment,
    current: &Assignment,
    live: &[i32],
) -> anyhow::Result<()> {
    let missing: Vec<String> = proposed
        .keys()
        .filter(|tp| !current.contains_key(tp))
        .map(ToString::to_string)
        .collect();
    if !missing.is_empty() {
        bail!(
            "The proposed assignment contains non-existent partitions: List({})",
            missing.join(", ")
        );
    }
    let unknown: BTreeSet<i32> = proposed
        .values()
        .flatten()
        .copied()
        .filter(|id| !live.contains(id))
        .collect();
    if !unknown.is_empty() {
        let ids: Vec<String> = unknown.iter().map(ToString::to_string).collect();
        bail!(
            "The proposed assignment contains non-existent brokerIDs: {}",
            ids.join(",")
        );
    }
    Ok(())
}

/// Prints the current replicas of the proposal's partitions, to keep for a rollback.
pub fn print_rollback(current: &Assignment, proposed: &Assignment) {
    let rollback: Assignment = current
        .iter()
        .filter(|(tp, _)| proposed.contains_key(tp))
        .map(|(tp, r)| (tp.clone(), r.clone()))
        .collect();
    println!(
        "Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback",
        format_reassignment(&rollback)
    );
}

/// The line `--execute` prints once the moves have started.
pub fn started_line(proposed: &Assignment) -> String {
    format!(
        "Successfully started partition reassignment{} for {}",
        if proposed.len() == 1 { "" } else { "s" },
        partition_list(proposed.keys())
    )
}

/// Kafka's `partitionReassignmentStatesToString` line for one partition.
pub fn status_line(tp: &TopicPartition, current: &[i32], target: &[i32], pending: bool) -> String {
    let ids = |ids: &[i32]| super::common::join_ids(ids);
    if pending {
        format!("Reassignment of partition {tp} is still in progress.")
    } else if current == target {
        format!("Reassignment of partition {tp} is complete.")
    } else {
        format!(
            "There is no active reassignment of partition {tp}, but replica set is {} rather than {}.",
            ids(current),
            ids(target)
        )
    }
}

/// What `--verify` prints when it clears the throttles (ferry's brokers keep no broker-level
/// throttles; the line is Kafka's).
pub fn print_clearing_throttles(registered: &[i32], targets: &Assignment) {
    let mut brokers: BTreeSet<i32> = registered.iter().copied().collect();
    brokers.extend(targets.values().flatten());
    let brokers: Vec<i32> = brokers.into_iter().collect();
    println!(
        "Clearing broker-level throttles on broker{} {}",
        if brokers.len() == 1 { "" } else { "s" },
        super::common::join_ids(&brokers)
    );
    let topics = topics_of(targets);
    println!(
        "Clearing topic-level throttles on topic{} {}",
        if topics.len() == 1 { "" } else { "s" },
        topics.join(",")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_kafkas() {
        let tp = TopicPartition {
            topic: "t".into(),
            partition: 0,
        };
        assert_eq!(
            status_line(&tp, &[1, 2], &[1, 2, 3], true),
            "Reassignment of partition t-0 is still in progress."
        );
        assert_eq!(
            status_line(&tp, &[1, 2, 3], &[1, 2, 3], false),
            "Reassignment of partition t-0 is complete."
        );
        assert_eq!(
            status_line(&tp, &[1, 2], &[1, 2, 3], false),
            "There is no active reassignment of partition t-0, but replica set is 1,2 rather than 1,2,3."
        );
    }
}
