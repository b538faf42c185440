//! AlterPartitionReassignments and ListPartitionReassignments (KIP-455;
//! kafka-reassign-partitions.sh's `--bootstrap-server` form): carried out by the controller
//! (see `crate::controller`'s reassignment). Only the controller answers; another broker says
//! NOT_CONTROLLER for the whole request and the client finds the controller in Metadata.

use std::collections::BTreeMap;

use ferry_kafka_protocol::messages::partition_reassignments::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
    OngoingPartitionReassignment, OngoingTopicReassignment, ReassignablePartitionResponse,
    ReassignableTopicResponse,
};
use ferry_kafka_protocol::ErrorCode;

use super::partition_outcomes;
use crate::broker::Broker;
use crate::controller::ControllerCommand;

pub async fn alter(
    broker: &Broker,
    request: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let changes = request
        .topics
        .into_iter()
        .flat_map(|t| {
            let topic = t.name;
            t.partitions
                .into_iter()
                .map(move |p| ((topic.clone(), p.partition_index), p.replicas))
        })
        .collect();
    let asked = broker
        .controller_mailbox
        .ask(|reply| ControllerCommand::AlterReassignments { changes, reply });
    let Ok(outcomes) = asked.await else {
        return AlterPartitionReassignmentsResponse {
            error_code: ErrorCode::NotController.code(),
            ..Default::default()
        };
    };
    AlterPartitionReassignmentsResponse {
        responses: partition_outcomes::by_topic(outcomes)
            .into_iter()
            .map(|(name, answers)| ReassignableTopicResponse {
                name,
                partitions: answers
                    .into_iter()
                    .map(|a| ReassignablePartitionResponse {
                        partition_index: a.partition,
                        error_code: a.error_code,
                        error_message: a.error_message,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

pub async fn list(
    broker: &Broker,
    request: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let partitions = request.topics.map(|topics| {
        topics
            .into_iter()
            .flat_map(|t| {
                let topic = t.name;
                t.partition_indexes
                    .into_iter()
                    .map(move |p| (topic.clone(), p))
            })
            .collect()
    });
    let asked = broker
        .controller_mailbox
        .ask(|reply| ControllerCommand::ListReassignments { partitions, reply });
    let Ok(ongoing) = asked.await else {
        return ListPartitionReassignmentsResponse {
            error_code: ErrorCode::NotController.code(),
            ..Default::default()
        };
    };
    let mut by_topic: BTreeMap<String, Vec<OngoingPartitionReassignment>> = BTreeMap::new();
    for r in ongoing {
        by_topic
            .entry(r.partition.0)
            .or_default()
            .push(OngoingPartitionReassignment {
                partition_index: r.partition.1,
                replicas: r.replicas,
                adding_replicas: r.adding,
                removing_replicas: r.removing,
                ..Default::default()
            });
    }
    ListPartitionReassignmentsResponse {
        topics: by_topic
            .into_iter()
            .map(|(name, partitions)| OngoingTopicReassignment {
                name,
                partitions,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
