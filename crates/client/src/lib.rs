//! # ferry-kafka-client: a small async Kafka client
//!
//! Built on tokio and ferry-kafka-protocol for Ferry's tools (and later inter-broker use).
//!
//! | module | concept |
//! |---|---|
//! | `connection` | one pipelined TCP connection, ApiVersions negotiation, timeouts |
//! | `client` | bootstrap, metadata, a connection per broker, leaders, controller |
//! | `produce`, `fetch`, `offsets` | records in and out of partitions; ListOffsets |
//! | `admin`, `reassignments` | topics, partitions, configs, cluster; partition reassignments |
//! | `group`, `group_lag`, `member`, `consumer_protocol` | group admin, offsets and lag; membership; range assignor |
//!
//! Every network wait is bounded by [`ClientConfig`]'s timeouts; errors returned by the broker
//! carry Kafka's error name and the operation they came from.

mod admin;
mod client;
mod connection;
pub mod consumer_protocol;
mod error;
mod fetch;
mod group;
mod group_lag;
mod member;
mod offsets;
mod produce;
mod reassignments;

pub use admin::{Cluster, ConfigOp, ConfigValue, NewTopic, ResourceType};
pub use client::{Client, PartitionInfo, TopicInfo};
pub use connection::{ClientConfig, Connection, PendingResponse};
pub use error::{check, ClientError, Result};
pub use ferry_kafka_protocol::Request;
pub use ferry_log::Compression;
pub use fetch::{decode_records, fetch, ConsumerRecord, FetchResult};
pub use group::{commit_offsets, fetch_offsets, ListedGroup, Offsets};
pub use group_lag::{GroupPartition, PartitionOwner};
pub use member::{GroupMember, GroupTimeouts};
pub use offsets::{EARLIEST, LATEST};
pub use produce::{
    base_offset, build_batch, murmur2, parse_compression, partition_for_key, produce,
    produce_request, ProducerRecord,
};
pub use reassignments::{OngoingReassignment, PartitionKey, RefusedChange};
