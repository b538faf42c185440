//! `ferry reassign-partitions --zookeeper`: the tool's side of a Kafka 2.x reassignment, on
//! the znodes. `--execute` writes `/admin/reassign_partitions`
//! (`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}`) once the
//! partitions and brokers are checked to exist; the controller copies the data to the new
//! replicas, drops the old ones and deletes the node when done. `--verify` compares each
//! partition's replicas in `/brokers/topics/<t>` with the target and looks whether the node
//! still lists it. The messages are `ReassignPartitionsCommand`'s.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;
use ferry_broker::zk::{KafkaZk, Reassignment, ZkError};

use super::reassign_json::{format_reassignment, partition_list, Assignment, TopicPartition};

/// Topic configs that throttle a reassignment's replication, cleared by `--verify` once no
/// reassignment is left (ferry's brokers keep no broker-level throttles to clear).
pub(super) const TOPIC_THROTTLES: [&str; 2] = [
    "leader.replication.throttled.replicas",
    "follower.replication.throttled.replicas",
];

pub(super) const EXISTING_REASSIGNMENT: &str =
    "Cannot execute because there is an existing partition \
    assignment.  Use --additional to override this and create a new partition assignment in \
    addition to the existing one. The --additional flag can also be used to change the \
    throttle by resubmitting the current reassignment.";

/// The current replicas of every partition of `topics` (a topic that does not exist has none).
pub async fn current_assignment(zk: &KafkaZk, topics: &[String]) -> anyhow::Result<Assignment> {
    let mut out = Assignment::new();
    for topic in topics {
        let Some(assignment) = zk.get_topic_assignment(topic).await? else {
            continue;
        };
        for (partition, replicas) in assignment.value.replicas() {
            let tp = TopicPartition {
                topic: topic.clone(),
                partition,
            };
            out.insert(tp, replicas);
        }
    }
    Ok(out)
}

/// The reassignments `/admin/reassign_partitions` lists now (none without the node).
async fn pending(zk: &KafkaZk) -> anyhow::Result<BTreeSet<TopicPartition>> {
    let listed = zk.watch_reassignments().await?.value.unwrap_or_default();
    Ok(listed
        .into_iter()
        .map(|r| TopicPartition {
            topic: r.topic,
            partition: r.partition,
        })
        .collect())
}

pub(super) fn topics_of(assignment: &Assignment) -> Vec<String> {
    let topics: BTreeSet<&String> = assignment.keys().map(|tp| &tp.topic).collect();
    topics.into_iter().cloned().collect()
}

/// `--execute`: checks, prints the current assignment (for a rollback) and starts it.
pub async fn execute(zk: &KafkaZk, proposed: &Assignment) -> anyhow::Result<()> {
    let current = current_assignment(zk, &topics_of(proposed)).await?;
    check_proposal(proposed, &current, &zk.broker_ids().await?)?;
    if !pending(zk).await?.is_empty() {
        bail!("{EXISTING_REASSIGNMENT}");
    }
    print_rollback(&current, proposed);
    let request: Vec<Reassignment> = proposed
        .iter()
        .map(|(tp, replicas)| Reassignment {
            topic: tp.topic.clone(),
            partition: tp.partition,
            replicas: replicas.clone(),
        })
        .collect();
    match zk.create_reassignments(&request).await {
        Ok(()) => {}
        Err(ZkError::NodeExists { .. }) => bail!("{EXISTING_REASSIGNMENT}"),
        Err(error) => return Err(error.into()),
    }
    println!("{}", started_line(proposed));
    Ok(())
}

/// Refuses a proposal naming partitions that do not exist or brokers not registered, with
/// Kafka's messages.
pub(super) fn check_proposal(
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
pub(super) fn print_rollback(current: &Assignment, proposed: &Assignment) {
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

pub(super) fn started_line(proposed: &Assignment) -> String {
    format!(
        "Successfully started partition reassignment{} for {}",
        if proposed.len() == 1 { "" } else { "s" },
        partition_list(proposed.keys())
    )
}

/// `--verify`: the state of each partition of `targets`; once no reassignment is pending,
/// clears the reassignment throttles.
pub async fn verify(zk: &KafkaZk, targets: &Assignment) -> anyhow::Result<()> {
    let pending = pending(zk).await?;
    let current = current_assignment(zk, &topics_of(targets)).await?;
    println!("Status of partition reassignment:");
    for (tp, target) in targets {
        let now = current.get(tp).cloned().unwrap_or_default();
        println!("{}", status_line(tp, &now, target, pending.contains(tp)));
    }
    if pending.is_empty() {
        clear_throttles(zk, targets).await?;
    }
    Ok(())
}

/// Kafka's `partitionReassignmentStatesToString` line for one partition.
pub(super) fn status_line(
    tp: &TopicPartition,
    current: &[i32],
    target: &[i32],
    pending: bool,
) -> String {
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

async fn clear_throttles(zk: &KafkaZk, targets: &Assignment) -> anyhow::Result<()> {
    print_clearing_throttles(&zk.broker_ids().await?, targets);
    for topic in &topics_of(targets) {
        let Some(config) = zk.get_topic_config(topic).await? else {
            continue;
        };
        let mut kept: BTreeMap<String, String> = config.value.clone();
        kept.retain(|key, _| !TOPIC_THROTTLES.contains(&key.as_str()));
        if kept.len() != config.value.len() {
            zk.set_topic_config(topic, &kept, Some(config.zk_version))
                .await?;
        }
    }
    Ok(())
}

/// What `--verify` prints when it clears the throttles (ferry's brokers keep no broker-level
/// throttles; the line is Kafka's).
pub(super) fn print_clearing_throttles(registered: &[i32], targets: &Assignment) {
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
