//! The controller's requests, as a broker answers them: LeaderAndIsr (lead or follow these
//! partitions in these epochs), UpdateMetadata (the cluster as the controller sees it) and
//! StopReplica (stop hosting, maybe delete). The controller's own broker gets the same calls
//! in-process (`crate::controller::channel`).
//!
//! A request from a controller epoch older than one already heard is refused with
//! STALE_CONTROLLER_EPOCH and changes nothing: a deposed controller cannot undo its
//! successor's decisions.

use std::sync::Arc;

use ferry_kafka_protocol::messages::leader_and_isr::{
    LeaderAndIsrPartitionError, LeaderAndIsrPartitionState, LeaderAndIsrRequest,
    LeaderAndIsrResponse,
};
use ferry_kafka_protocol::messages::stop_replica::{
    StopReplicaPartitionError, StopReplicaRequest, StopReplicaResponse,
};
use ferry_kafka_protocol::messages::update_metadata::{
    UpdateMetadataRequest, UpdateMetadataResponse,
};
use ferry_kafka_protocol::ErrorCode;
use ferry_log::TopicPartition;

use crate::broker::Broker;
use crate::metadata_cache::{LiveBroker, PartitionInfo, PartitionUpdate};
use crate::replica::{Assigned, PartitionOrder};

pub async fn leader_and_isr(
    broker: &Arc<Broker>,
    request: LeaderAndIsrRequest,
    _version: i16,
) -> LeaderAndIsrResponse {
    let manager = &broker.replica_manager;
    if let Err(stale) = manager.check_controller_epoch(request.controller_epoch) {
        tracing::info!(%stale, "LeaderAndIsr from a deposed controller refused");
        return LeaderAndIsrResponse {
            error_code: ErrorCode::StaleControllerEpoch.code(),
            ..Default::default()
        };
    }
    for leader in &request.live_leaders {
        manager.fetchers.set_leader_address(
            leader.broker_id,
            format!("{}:{}", leader.host_name, leader.port),
        );
    }
    let grouped = request.topic_states.into_iter().flat_map(|t| {
        let topic = t.topic_name;
        t.partition_states
            .into_iter()
            .map(move |p| (topic.clone(), p))
    });
    let ungrouped = request
        .ungrouped_partition_states
        .into_iter()
        .map(|p| (p.topic_name.clone(), p));
    let orders: Vec<PartitionOrder> = grouped.chain(ungrouped).map(order).collect();
    // Opening a log may recover it from disk.
    let b = Arc::clone(broker);
    let applied = tokio::task::spawn_blocking(move || b.replica_manager.apply(&b, orders)).await;
    let partition_errors = match applied {
        Ok(results) => results
            .into_iter()
            .map(|(o, code)| LeaderAndIsrPartitionError {
                topic_name: o.topic,
                partition_index: o.partition,
                error_code: code.code(),
                ..Default::default()
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "applying LeaderAndIsr failed");
            return LeaderAndIsrResponse {
                error_code: ErrorCode::UnknownServerError.code(),
                ..Default::default()
            };
        }
    };
    LeaderAndIsrResponse {
        partition_errors,
        ..Default::default()
    }
}

fn order((topic, p): (String, LeaderAndIsrPartitionState)) -> PartitionOrder {
    PartitionOrder {
        topic,
        partition: p.partition_index,
        assigned: Assigned {
            leader: p.leader,
            leader_epoch: p.leader_epoch,
            isr: p.isr,
            replicas: p.replicas,
            zk_version: p.partition_epoch,
            controller_epoch: p.controller_epoch,
        },
    }
}

pub fn update_metadata(broker: &Broker, request: UpdateMetadataRequest) -> UpdateMetadataResponse {
    let brokers = request
        .live_brokers
        .into_iter()
        .filter_map(|b| {
            let (host, port) = match b.endpoints.into_iter().next() {
                Some(e) => (e.host, e.port),
                None if !b.v0_host.is_empty() => (b.v0_host, b.v0_port),
                None => return None,
            };
            Some(LiveBroker {
                id: b.id,
                host,
                port,
                rack: b.rack.filter(|r| !r.is_empty()),
            })
        })
        .collect();
    let grouped = request.topic_states.into_iter().flat_map(|t| {
        let topic = t.topic_name;
        t.partition_states
            .into_iter()
            .map(move |p| (topic.clone(), p))
    });
    let ungrouped = request
        .ungrouped_partition_states
        .into_iter()
        .map(|p| (p.topic_name.clone(), p));
    let partitions = grouped
        .chain(ungrouped)
        .map(|(topic, p)| PartitionUpdate {
            topic,
            partition: p.partition_index,
            info: PartitionInfo {
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                isr: p.isr,
                replicas: p.replicas,
                offline_replicas: p.offline_replicas,
            },
        })
        .collect();
    let result = broker.metadata.update(
        request.controller_id,
        request.controller_epoch,
        brokers,
        partitions,
    );
    match result {
        Ok(()) => {
            broker.set_controller_id(request.controller_id);
            UpdateMetadataResponse::default()
        }
        Err(stale) => {
            tracing::info!(%stale, "UpdateMetadata from a deposed controller refused");
            UpdateMetadataResponse {
                error_code: ErrorCode::StaleControllerEpoch.code(),
                ..Default::default()
            }
        }
    }
}

pub async fn stop_replica(
    broker: &Arc<Broker>,
    request: StopReplicaRequest,
) -> StopReplicaResponse {
    if let Err(stale) = broker
        .replica_manager
        .check_controller_epoch(request.controller_epoch)
    {
        tracing::info!(%stale, "StopReplica from a deposed controller refused");
        return StopReplicaResponse {
            error_code: ErrorCode::StaleControllerEpoch.code(),
            ..Default::default()
        };
    }
    let mut stops: Vec<(TopicPartition, bool)> = Vec::new();
    for t in request.topic_states {
        for p in t.partition_states {
            stops.push((
                TopicPartition::new(&t.topic_name, p.partition_index),
                p.delete_partition,
            ));
        }
    }
    for t in request.topics {
        for p in t.partition_indexes {
            stops.push((TopicPartition::new(&t.name, p), request.delete_partitions));
        }
    }
    for p in request.ungrouped_partitions {
        stops.push((
            TopicPartition::new(&p.topic_name, p.partition_index),
            request.delete_partitions,
        ));
    }
    let b = Arc::clone(broker);
    let done = tokio::task::spawn_blocking(move || {
        stops
            .into_iter()
            .map(|(tp, delete)| {
                b.replica_manager.stop(&tp);
                // A replica no longer hosted here coordinates no group any more.
                if tp.topic == crate::groups::OFFSETS_TOPIC {
                    b.groups
                        .partition_leadership_changed(&b, tp.partition, false);
                }
                let code = match b.replicas.stop_partition(&tp, delete) {
                    Ok(()) => ErrorCode::None,
                    Err(error) => {
                        tracing::warn!(partition = %tp.dir_name(), %error, "stopping replica");
                        ErrorCode::KafkaStorageError
                    }
                };
                (tp, code)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    StopReplicaResponse {
        partition_errors: done
            .into_iter()
            .map(|(tp, code)| StopReplicaPartitionError {
                topic_name: tp.topic,
                partition_index: tp.partition,
                error_code: code.code(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
