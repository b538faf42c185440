//! UpdateMetadata (key 6), versions 0-7, flexible from 6.
//!
//! Controller to broker: the cluster metadata (live brokers, partition
//! leadership) that the broker serves to clients. v0-4 list every partition
//! state with its topic name (`ungrouped_partition_states`); v5+ group them
//! by topic (`topic_states`), and v7 adds topic ids. A broker has one host
//! and port in v0 and a list of endpoints from v1.
//! Fields of a nested struct that exist exactly where the struct does are
//! not annotated again.

use crate::message::message;
use crate::wire::Uuid;

message! {
    /// Tells a broker the metadata of the cluster.
    pub struct UpdateMetadataRequest {
        controller_id: i32,
        controller_epoch: i32,
        broker_epoch: i64 [versions 5..] = -1,
        /// The partition states, each naming its topic (v0-4).
        ungrouped_partition_states: Vec<UpdateMetadataPartitionState> [versions 0..=4],
        /// The partition states grouped by topic (v5+).
        topic_states: Vec<UpdateMetadataTopicState> [versions 5..],
        live_brokers: Vec<UpdateMetadataBroker>,
    }

    /// The partition states of one topic (v5+).
    pub struct UpdateMetadataTopicState {
        topic_name: String,
        topic_id: Uuid [versions 7..],
        partition_states: Vec<UpdateMetadataPartitionState>,
    }

    /// A live broker and how to reach it.
    pub struct UpdateMetadataBroker {
        id: i32,
        /// The broker's single host (v0).
        v0_host: String [versions 0..=0],
        /// The broker's single port (v0).
        v0_port: i32 [versions 0..=0],
        /// The broker's endpoints (v1+).
        endpoints: Vec<UpdateMetadataEndpoint> [versions 1..],
        /// The broker's rack (v2+), null if it has none. The schema
        /// gives no default, so it is the empty string where absent.
        rack: Option<String> [versions 2.., nullable 0..] = Some(String::new()),
    }

    /// One listener of a broker (v1+).
    pub struct UpdateMetadataEndpoint {
        port: i32,
        host: String,
        listener: String [versions 3..],
        /// The security protocol id (0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL).
        security_protocol: i16,
    }

    /// One partition's leadership state.
    pub struct UpdateMetadataPartitionState {
        /// Only in v0-4, where partitions are not grouped by topic.
        topic_name: String [versions 0..=4],
        partition_index: i32,
        controller_epoch: i32,
        leader: i32,
        leader_epoch: i32,
        isr: Vec<i32>,
        zk_version: i32,
        replicas: Vec<i32>,
        offline_replicas: Vec<i32> [versions 4..],
    }

    /// The outcome of an UpdateMetadata request.
    pub struct UpdateMetadataResponse {
        error_code: i16,
    }
}
