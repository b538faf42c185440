//! DescribeLogDirs: the size of each partition log this broker holds, in its log directory
//! (kafka-log-dirs.sh, the consoles' topic sizes). Every replica counts, leader or follower, as
//! in Kafka: a topic's size on disk is the sum over the brokers.

use std::collections::BTreeMap;

use ferry_kafka_protocol::messages::describe_log_dirs::{
    DescribeLogDirsPartition, DescribeLogDirsRequest, DescribeLogDirsResponse,
    DescribeLogDirsResult, DescribeLogDirsTopic,
};

use crate::broker::Broker;

pub fn handle(broker: &Broker, request: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    // None: every partition; else topic -> the partitions asked for.
    let wanted: Option<BTreeMap<String, Vec<i32>>> = request.topics.map(|topics| {
        topics
            .into_iter()
            .map(|t| (t.topic, t.partitions))
            .collect()
    });
    let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for partition in broker.replica_manager.all() {
        let tp = &partition.tp;
        let asked = match &wanted {
            None => true,
            Some(wanted) => wanted
                .get(&tp.topic)
                .is_some_and(|partitions| partitions.contains(&tp.partition)),
        };
        if asked {
            topics
                .entry(tp.topic.clone())
                .or_default()
                .push(DescribeLogDirsPartition {
                    partition_index: tp.partition,
                    partition_size: i64::try_from(partition.log.size_bytes()).unwrap_or(i64::MAX),
                    offset_lag: 0,
                    is_future_key: false,
                    ..Default::default()
                });
        }
    }
    let log_dir = broker
        .config
        .log_dirs
        .first()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    DescribeLogDirsResponse {
        results: vec![DescribeLogDirsResult {
            log_dir,
            topics: topics
                .into_iter()
                .map(|(name, mut partitions)| {
                    partitions.sort_by_key(|p| p.partition_index);
                    DescribeLogDirsTopic {
                        name,
                        partitions,
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}
