//! DescribeCluster: the cluster id, the controller and the live brokers (Admin
//! `describe_cluster`).
//!
//! Brokers are read from their registrations under `/brokers/ids`, with the endpoint of the
//! listener this broker serves on and their rack, so the answer covers every live broker, not
//! only this one. Should ZooKeeper not answer, this broker alone is listed (it is certainly
//! alive), as Metadata lists it.
//!
//! There is no authorizer: with `include_cluster_authorized_operations` the answer holds every
//! operation a cluster supports, as Kafka answers without an authorizer; without it, Kafka's
//! "not asked" value `i32::MIN`.

use ferry_kafka_protocol::messages::describe_cluster::{
    DescribeClusterBroker, DescribeClusterRequest, DescribeClusterResponse,
};

use crate::broker::Broker;
use crate::zk::{BrokerInfo, ZkError};

/// Kafka's `AclOperation` codes of the operations on a cluster (CREATE 5, ALTER 7, DESCRIBE 8,
/// CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12), as the bit
/// set the protocol carries.
const CLUSTER_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
/// "Authorized operations not requested".
const NOT_REQUESTED: i32 = i32::MIN;

pub async fn handle(broker: &Broker, request: DescribeClusterRequest) -> DescribeClusterResponse {
    let brokers = match registered_brokers(broker).await {
        Ok(brokers) if !brokers.is_empty() => brokers,
        Ok(_) => vec![this_broker(broker)],
        Err(error) => {
            tracing::warn!(%error, "reading broker registrations failed; listing this broker only");
            vec![this_broker(broker)]
        }
    };
    DescribeClusterResponse {
        cluster_id: broker.cluster_id.clone(),
        controller_id: broker.controller_id(),
        brokers,
        cluster_authorized_operations: cluster_authorized_operations(
            request.include_cluster_authorized_operations,
        ),
        ..Default::default()
    }
}

/// The cluster's authorized operations field, when `requested` (also Metadata v8-10's, which
/// librdkafka's `describe_cluster` uses instead of DescribeCluster).
pub(super) fn cluster_authorized_operations(requested: bool) -> i32 {
    if requested {
        CLUSTER_OPERATIONS
    } else {
        NOT_REQUESTED
    }
}

fn this_broker(broker: &Broker) -> DescribeClusterBroker {
    let adv = &broker.config.advertised;
    DescribeClusterBroker {
        broker_id: broker.id(),
        host: adv.host.clone(),
        port: i32::from(adv.port),
        rack: None,
        ..Default::default()
    }
}

async fn registered_brokers(broker: &Broker) -> Result<Vec<DescribeClusterBroker>, ZkError> {
    let zk = broker.zk.get();
    let mut brokers = Vec::new();
    for id in zk.broker_ids().await? {
        // A broker that left between the listing and the read is simply not listed.
        if let Some(info) = zk.get_broker(id).await? {
            brokers.extend(describe(&info));
        }
    }
    Ok(brokers)
}

/// The PLAINTEXT endpoint of a registration (the listener clients use here); none if it has
/// no such listener.
fn describe(info: &BrokerInfo) -> Option<DescribeClusterBroker> {
    let endpoint = info
        .endpoints
        .iter()
        .find(|e| e.security_protocol == "PLAINTEXT")?;
    Some(DescribeClusterBroker {
        broker_id: info.id,
        host: endpoint.host.clone(),
        port: endpoint.port,
        rack: info.rack.clone(),
        ..Default::default()
    })
}
