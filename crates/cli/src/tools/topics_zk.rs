//! `ferry topics --zookeeper`: kafka-topics.sh as Kafka 2.x ran it, writing the znodes itself
//! (`/brokers/topics/<t>`, `/config/topics/<t>`, `/admin/delete_topics/<t>`) through
//! ferry-broker's `KafkaZk`. Brokers pick the changes up from their watches; partition state
//! (leader, ISR) is written by the controller, as in Kafka.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use ferry_broker::zk::{KafkaZk, TopicAssignment, ZkError};

use super::common::{properties, topic_id};
use super::topics::{print_partition, print_topic, Action, TopicsArgs};
use super::topics_filter::PartitionFilter;

const SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on connecting: the ZooKeeper client retries unreachable servers on its own.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

pub async fn run(
    args: TopicsArgs,
    action: Action,
    filter: PartitionFilter,
) -> anyhow::Result<ExitCode> {
    let connect = args.zookeeper.clone().unwrap_or_default();
    let zk = connect_zk(&connect).await?;
    let result = act(&zk, &args, action, filter).await;
    zk.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

/// A session on the ZooKeeper at `connect` (host:port[,...][/chroot]), for the tools that
/// work on Kafka's znodes directly; bounded, as the client itself retries unreachable servers.
pub async fn connect_zk(connect: &str) -> anyhow::Result<KafkaZk> {
    let (zk, _events) =
        tokio::time::timeout(CONNECT_TIMEOUT, KafkaZk::connect(connect, SESSION_TIMEOUT))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "timed out after {CONNECT_TIMEOUT:?} connecting to ZooKeeper at {connect}"
                )
            })?
            .with_context(|| format!("cannot connect to ZooKeeper at {connect}"))?;
    Ok(zk)
}

async fn act(
    zk: &KafkaZk,
    args: &TopicsArgs,
    action: Action,
    filter: PartitionFilter,
) -> anyhow::Result<()> {
    match action {
        Action::Create => {
            let topic = args.required_topic()?;
            let Some(partitions) = args.partitions else {
                bail!("Missing required argument \"[partitions]\"");
            };
            let Some(rf) = args.replication_factor else {
                bail!("Missing required argument \"[replication-factor]\"");
            };
            let brokers = zk.broker_ids().await?;
            let replicas = assign_replicas(&brokers, partitions, rf, 0)?;
            let config = properties(&args.config, false)?;
            match zk
                .create_topic(topic, &TopicAssignment::new(replicas), &config)
                .await
            {
                Ok(()) => println!("Created topic {topic}."),
                Err(ZkError::TopicExists { .. }) if args.if_not_exists => {}
                Err(e) => return Err(e.into()),
            }
        }
        Action::List => {
            let pending = zk.topics_pending_deletion().await?;
            for t in zk.list_topics().await? {
                if pending.contains(&t) {
                    println!("{t} - marked for deletion");
                } else {
                    println!("{t}");
                }
            }
        }
        Action::Describe => {
            let topics = match &args.topic {
                Some(t) => vec![t.clone()],
                None => zk.list_topics().await?,
            };
            let live = zk.broker_ids().await?;
            for t in topics {
                describe(zk, &t, args.if_exists, filter, &live).await?;
            }
        }
        Action::Alter => {
            let topic = args.required_topic()?;
            let Some(count) = args.partitions else {
                bail!("--alter needs --partitions");
            };
            let Some(current) = zk.get_topic_assignment(topic).await? else {
                bail!("Topic '{topic}' does not exist as expected");
            };
            let existing = current.value.partitions.len() as i32;
            let rf = current
                .value
                .partitions
                .values()
                .next()
                .map_or(1, |a| a.replicas.len()) as i16;
            let brokers = zk.broker_ids().await?;
            let added: BTreeMap<i32, Vec<i32>> = if count > existing {
                assign_replicas(&brokers, count - existing, rf, existing)?
                    .into_iter()
                    .map(|(p, r)| (p + existing, r))
                    .collect()
            } else {
                BTreeMap::new()
            };
            println!("WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering of the messages will be affected");
            zk.add_partitions(topic, &current, &added).await?;
            println!("Adding partitions succeeded!");
        }
        Action::Delete => {
            let topic = args.required_topic()?;
            if !zk.topic_exists(topic).await? {
                if args.if_exists {
                    return Ok(());
                }
                bail!("Topic '{topic}' does not exist as expected");
            }
            zk.mark_topic_for_deletion(topic).await?;
            println!("Topic {topic} is marked for deletion.");
            println!("Note: This will have no impact if delete.topic.enable is not set to true.");
        }
    }
    Ok(())
}

async fn describe(
    zk: &KafkaZk,
    topic: &str,
    if_exists: bool,
    filter: PartitionFilter,
    live: &[i32],
) -> anyhow::Result<()> {
    let Some(assignment) = zk.get_topic_assignment(topic).await? else {
        if if_exists {
            return Ok(());
        }
        bail!("Topic '{topic}' does not exist as expected");
    };
    let partitions = &assignment.value.partitions;
    if filter.describes_topics() {
        print_topic_line(zk, topic, &assignment.value).await?;
    }
    for (p, a) in partitions {
        let state = zk.get_partition_state(topic, *p).await?;
        let (leader, isr) = state.map_or((-1, Vec::new()), |s| (s.value.leader, s.value.isr));
        if filter.shows(leader, &a.replicas, &isr, live) {
            print_partition(topic, *p, leader, &a.replicas, &isr);
        }
    }
    Ok(())
}

async fn print_topic_line(
    zk: &KafkaZk,
    topic: &str,
    assignment: &TopicAssignment,
) -> anyhow::Result<()> {
    let config = zk
        .get_topic_config(topic)
        .await?
        .map(|c| c.value)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let partitions = &assignment.partitions;
    let rf = partitions.values().next().map_or(0, |a| a.replicas.len());
    let id = assignment
        .topic_id
        .clone()
        .unwrap_or_else(|| topic_id(&[0; 16]));
    print_topic(topic, &id, partitions.len(), rf, &config);
    Ok(())
}

/// Kafka's rack-unaware assignment, without the random start: partition `p`'s first replica
/// on broker `(start + p) % n`, followers after it.
pub fn assign_replicas(
    brokers: &[i32],
    partitions: i32,
    rf: i16,
    start: i32,
) -> anyhow::Result<BTreeMap<i32, Vec<i32>>> {
    if partitions < 1 {
        bail!("The partitions must be greater than 0");
    }
    if rf < 1 {
        bail!("Replication factor must be larger than 0.");
    }
    if rf as usize > brokers.len() {
        bail!(
            "Replication factor: {rf} larger than available brokers: {}.",
            brokers.len()
        );
    }
    let n = brokers.len() as i32;
    Ok((0..partitions)
        .map(|p| {
            let first = (start + p) % n;
            let replicas = (0..i32::from(rf))
                .map(|i| brokers[((first + i) % n) as usize])
                .collect();
            (p, replicas)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_rotate_over_brokers() {
        let a = assign_replicas(&[1, 2, 3], 4, 2, 0).unwrap();
        assert_eq!(a[&0], vec![1, 2]);
        assert_eq!(a[&2], vec![3, 1]);
        assert_eq!(a[&3], vec![1, 2]);
        assert!(assign_replicas(&[1], 1, 2, 0).is_err());
    }
}
