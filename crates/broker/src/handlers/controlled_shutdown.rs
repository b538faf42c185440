//! ControlledShutdown: a stopping broker asks the controller to move its leaderships away
//! (see `crate::controller`'s shutdown). Answered by the controller only: another broker
//! says NOT_CONTROLLER and the asker looks the controller up again.

use ferry_kafka_protocol::messages::controlled_shutdown::{
    ControlledShutdownRequest, ControlledShutdownResponse, RemainingPartition,
};
use ferry_kafka_protocol::ErrorCode;
use tokio::sync::oneshot;

use crate::broker::Broker;
use crate::controller::ControllerCommand;

pub async fn handle(
    broker: &Broker,
    request: ControlledShutdownRequest,
) -> ControlledShutdownResponse {
    let (reply, answer) = oneshot::channel();
    let command = ControllerCommand::ControlledShutdown {
        broker_id: request.broker_id,
        reply,
    };
    let failed = |code: ErrorCode| ControlledShutdownResponse {
        error_code: code.code(),
        ..Default::default()
    };
    if broker.controller_mailbox.send(command).is_err() {
        return failed(ErrorCode::NotController);
    }
    match answer.await {
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
        // The controller's run ended while it worked on it.
        Err(_) => failed(ErrorCode::NotController),
    }
}
