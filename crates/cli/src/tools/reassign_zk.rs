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

use super::reassign_json::{Assignment, TopicPartition};
use super::reassign_report::{
    check_proposal, print_clearing_throttles, print_rollback, started_line, status_line, topics_of,
    EXISTING_REASSIGNMENT, TOPIC_THROTTLES,
};

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
