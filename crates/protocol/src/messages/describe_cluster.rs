//! DescribeCluster (key 60), version 0, flexible from 0.

use crate::message::message;

message! {
    /// Describes the cluster (admin clients).
    pub struct DescribeClusterRequest {
        include_cluster_authorized_operations: bool,
    }

    /// Brokers, controller and cluster id.
    pub struct DescribeClusterResponse {
        throttle_time_ms: i32,
        error_code: i16,
        error_message: Option<String> [nullable 0..],
        cluster_id: String,
        controller_id: i32 = -1,
        brokers: Vec<DescribeClusterBroker>,
        cluster_authorized_operations: i32 = i32::MIN,
    }

    /// One broker.
    pub struct DescribeClusterBroker {
        broker_id: i32,
        host: String,
        port: i32,
        rack: Option<String> [nullable 0..],
    }
}
