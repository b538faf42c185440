//! ControlledShutdown: a stopping broker asks the controller to move its leaderships away
//! (see `crate::controller`'s shutdown). Answered by the controller only: another broker
//! says NOT_CONTROLLER and the asker looks the controller up again.

use ferry_kafka_protocol::messages::controlled_shutdown::{
    ControlledShutdownRequest, ControlledShutdownResponse, RemainingPartition,
};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::controller::ControllerCommand;

pub async fn handle(
    broker: &Broker,
    request: ControlledShutdownRequest,
) -> ControlledShutdownResponse {
    let broker_id = request.broker_id;
    let asked = broker
        .controller_mailbox
        .ask(|reply| ControllerCommand::ControlledShutdown { broker_id, reply })
        .await;
    match asked {
        Ok(remaining) => ControlledShutdownResponse {
            remaining_partitions: remaining
                .into_iter()
                .map(|(topic_name, partition_index)| RemainingPartition {
                    topic_name,
                    partition_index,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
        // Not the controller, or its run ended while it worked on it.
        Err(_) => ControlledShutdownResponse {
            error_code: ErrorCode::NotController.code(),
            ..Default::default()
        },
    }
}
