//! `ferry reassign-partitions --bootstrap-server`: the tool's side of a reassignment through
//! the controller's AlterPartitionReassignments and ListPartitionReassignments, as Kafka
//! 2.4+'s tool does it: `--execute` starts the moves, `--verify` reports them (and clears the
//! topics' reassignment throttles once none is left), `--cancel` returns partitions to the
//! replicas they had, `--list` shows what is moving. The messages are
//! `ReassignPartitionsCommand`'s.

use std::collections::BTreeSet;

use anyhow::bail;
use ferry_kafka_client::{Client, ConfigOp, ResourceType};

use super::reassign_json::{partition_list, Assignment, TopicPartition};
use super::reassign_report::{
    check_proposal, print_clearing_throttles, print_rollback, started_line, status_line, topics_of,
    EXISTING_REASSIGNMENT, TOPIC_THROTTLES,
};

/// The current replicas of every partition of `topics`, and the brokers registered now.
pub async fn cluster_view(
    client: &Client,
    topics: &[String],
) -> anyhow::Result<(Assignment, Vec<i32>)> {
    let mut current = Assignment::new();
    for topic in client.topics(Some(topics)).await? {
        for p in topic.partitions {
            let tp = TopicPartition {
                topic: topic.name.clone(),
                partition: p.partition,
            };
            current.insert(tp, p.replicas);
        }
    }
    let metadata = client.metadata(Some(&[]), false).await?;
    Ok((
        current,
        metadata.brokers.iter().map(|b| b.node_id).collect(),
    ))
}

/// The partitions being moved now.
async fn moving(client: &Client) -> anyhow::Result<BTreeSet<TopicPartition>> {
    Ok(client
        .list_partition_reassignments(None)
        .await?
        .into_iter()
        .map(|r| TopicPartition {
            topic: r.partition.0,
            partition: r.partition.1,
        })
        .collect())
}

/// `--execute`.
pub async fn execute(client: &Client, proposed: &Assignment) -> anyhow::Result<()> {
    let (current, live) = cluster_view(client, &topics_of(proposed)).await?;
    check_proposal(proposed, &current, &live)?;
    if !moving(client).await?.is_empty() {
        bail!("{EXISTING_REASSIGNMENT}");
    }
    print_rollback(&current, proposed);
    let changes: Vec<_> = proposed
        .iter()
        .map(|(tp, replicas)| ((tp.topic.clone(), tp.partition), Some(replicas.clone())))
        .collect();
    refused(
        "Error reassigning partition",
        client.alter_partition_reassignments(&changes).await?,
    )?;
    println!("{}", started_line(proposed));
    Ok(())
}

/// `--verify`.
pub async fn verify(client: &Client, targets: &Assignment) -> anyhow::Result<()> {
    let moving = moving(client).await?;
    let (current, live) = cluster_view(client, &topics_of(targets)).await?;
    println!("Status of partition reassignment:");
    for (tp, target) in targets {
        let now = current.get(tp).cloned().unwrap_or_default();
        println!("{}", status_line(tp, &now, target, moving.contains(tp)));
    }
    if moving.is_disjoint(&targets.keys().cloned().collect()) {
        print_clearing_throttles(&live, targets);
        let ops: Vec<ConfigOp> = TOPIC_THROTTLES
            .iter()
            .map(|key| ConfigOp::Delete(key.to_string()))
            .collect();
        for topic in topics_of(targets) {
            client
                .alter_configs(ResourceType::Topic, &topic, &ops)
                .await?;
        }
    }
    Ok(())
}

/// `--cancel`: the partitions of the file that are moving go back to their replicas.
pub async fn cancel(client: &Client, targets: &Assignment) -> anyhow::Result<()> {
    let moving = moving(client).await?;
    let cancelled: Vec<&TopicPartition> = targets.keys().filter(|tp| moving.contains(tp)).collect();
    if cancelled.is_empty() {
        println!("None of the specified partition reassignments are active.");
        return Ok(());
    }
    let changes: Vec<_> = cancelled
        .iter()
        .map(|tp| ((tp.topic.clone(), tp.partition), None))
        .collect();
    refused(
        "Error cancelling partition reassignment",
        client.alter_partition_reassignments(&changes).await?,
    )?;
    println!(
        "Successfully cancelled partition reassignment{} for: {}",
        if cancelled.len() == 1 { "" } else { "s" },
        partition_list(cancelled.iter().copied())
    );
    Ok(())
}

/// `--list`.
pub async fn list(client: &Client) -> anyhow::Result<()> {
    let ongoing = client.list_partition_reassignments(None).await?;
    if ongoing.is_empty() {
        println!("No partition reassignments found.");
        return Ok(());
    }
    println!("Current partition reassignments:");
    let ids = |ids: &[i32]| super::common::join_ids(ids);
    for r in ongoing {
        println!(
            "{}-{}: replicas: {}. adding: {}. removing: {}.",
            r.partition.0,
            r.partition.1,
            ids(&r.replicas),
            ids(&r.adding),
            ids(&r.removing)
        );
    }
    Ok(())
}

/// Fails with Kafka's "Error ... partition(s) for:" and one `t-0: message` line per refusal.
fn refused(what: &str, refusals: Vec<ferry_kafka_client::RefusedChange>) -> anyhow::Result<()> {
    if refusals.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = refusals
        .iter()
        .map(|((topic, partition), _, message)| format!("{topic}-{partition}: {message}"))
        .collect();
    bail!(
        "{what}{} for:\n{}",
        if refusals.len() == 1 { "" } else { "s" },
        lines.join("\n")
    )
}
