//! ElectLeaders (kafka-leader-election.sh, `ferry leader-election`): preferred (type 0) or
//! unclean (type 1) elections, carried out by the controller (see `crate::controller`'s
//! elections). As in Kafka 2.x, only the controller answers; another broker says
//! NOT_CONTROLLER for the whole request and the client finds the controller in Metadata.

use ferry_kafka_protocol::messages::elect_leaders::{
    ElectLeadersPartitionResult, ElectLeadersRequest, ElectLeadersResponse, ReplicaElectionResult,
};
use ferry_kafka_protocol::ErrorCode;

use super::partition_outcomes;
use crate::broker::Broker;
use crate::controller::{ControllerCommand, ElectionType};

const PREFERRED: i8 = 0;
const UNCLEAN: i8 = 1;

pub async fn handle(broker: &Broker, request: ElectLeadersRequest) -> ElectLeadersResponse {
    let failed = |code: ErrorCode| ElectLeadersResponse {
        error_code: code.code(),
        ..Default::default()
    };
    let election = match request.election_type {
        PREFERRED => ElectionType::Preferred,
        UNCLEAN => ElectionType::Unclean,
        _ => return failed(ErrorCode::InvalidRequest),
    };
    // null: every partition.
    let partitions = request.topic_partitions.map(|topics| {
        topics
            .into_iter()
            .flat_map(|t| {
                let topic = t.topic;
                t.partition_id.into_iter().map(move |p| (topic.clone(), p))
            })
            .collect()
    });
    let asked = broker
        .controller_mailbox
        .ask(|reply| ControllerCommand::ElectLeaders {
            partitions,
            election,
            reply,
        });
    let Ok(outcomes) = asked.await else {
        return failed(ErrorCode::NotController);
    };
    ElectLeadersResponse {
        replica_election_results: partition_outcomes::by_topic(outcomes)
            .into_iter()
            .map(|(topic, answers)| ReplicaElectionResult {
                topic,
                partition_result: answers
                    .into_iter()
                    .map(|a| ElectLeadersPartitionResult {
                        partition_id: a.partition,
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
