//! The operator's Kafka tools, with the flags and output of Kafka's scripts, on
//! ferry-kafka-client (and, for `topics --zookeeper`, ferry-broker's ZooKeeper layer).

pub mod common;
pub mod configs;
pub mod console_consumer;
pub mod console_producer;
pub mod consumer_groups;
pub mod dump_log;
pub mod leader_election;
pub mod perf;
mod perf_consume;
mod perf_end_to_end;
mod perf_produce;
mod perf_stats;
mod reassign_api;
mod reassign_json;
pub mod reassign_partitions;
mod reassign_report;
mod reassign_zk;
pub mod topics;
mod topics_filter;
mod topics_zk;
