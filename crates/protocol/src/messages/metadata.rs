//! Metadata (key 3), versions 0-12, flexible from 9.

use crate::message::message;
use crate::wire::Uuid;

message! {
    /// Asks for brokers and topic partition leadership.
    pub struct MetadataRequest {
        /// Topics to describe; null (v1+) means all, empty means none
        /// (v0: empty means all).
        topics: Option<Vec<MetadataRequestTopic>> [nullable 1..] = Some(Vec::new()),
        allow_auto_topic_creation: bool [versions 4..] = true,
        include_cluster_authorized_operations: bool [versions 8..=10],
        include_topic_authorized_operations: bool [versions 8..],
    }

    /// One requested topic.
    pub struct MetadataRequestTopic {
        topic_id: Uuid [versions 10..],
        name: Option<String> [nullable 10..] = Some(String::new()),
    }

    /// Brokers, controller and topic partitions.
    pub struct MetadataResponse {
        throttle_time_ms: i32 [versions 3..],
        brokers: Vec<MetadataResponseBroker>,
        cluster_id: Option<String> [versions 2.., nullable 2..],
        controller_id: i32 [versions 1..] = -1,
        topics: Vec<MetadataResponseTopic>,
        cluster_authorized_operations: i32 [versions 8..=10] = i32::MIN,
    }

    /// One broker.
    pub struct MetadataResponseBroker {
        node_id: i32,
        host: String,
        port: i32,
        rack: Option<String> [versions 1.., nullable 1..],
    }

    /// One topic.
    pub struct MetadataResponseTopic {
        error_code: i16,
        name: Option<String> [nullable 12..] = Some(String::new()),
        topic_id: Uuid [versions 10..],
        is_internal: bool [versions 1..],
        partitions: Vec<MetadataResponsePartition>,
        topic_authorized_operations: i32 [versions 8..] = i32::MIN,
    }

    /// One partition.
    pub struct MetadataResponsePartition {
        error_code: i16,
        partition_index: i32,
        leader_id: i32,
        leader_epoch: i32 [versions 7..] = -1,
        replica_nodes: Vec<i32>,
        isr_nodes: Vec<i32>,
        offline_replicas: Vec<i32> [versions 5..],
    }
}
