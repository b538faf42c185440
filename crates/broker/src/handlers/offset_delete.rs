//! OffsetDelete: drops a group's committed offsets for topics it no longer consumes
//! (GROUP_SUBSCRIBED_TO_TOPIC for the ones it does).

use ferry_kafka_protocol::messages::offset_delete::{OffsetDeleteRequest, OffsetDeleteResponse};
use ferry_kafka_protocol::ErrorCode;

use super::topic_partition_errors;
use crate::broker::Broker;

pub fn handle(broker: &Broker, request: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let partitions: Vec<(String, i32)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.name.clone(), p.partition_index))
        })
        .collect();
    match broker
        .groups
        .delete_offsets(broker, &request.group_id, &partitions)
    {
        Err(error) => OffsetDeleteResponse {
            error_code: error.code(),
            ..Default::default()
        },
        Ok(errors) => {
            let topics = topic_partition_errors(
                partitions
                    .into_iter()
                    .zip(errors)
                    .map(|((name, partition), error)| (name, partition, error)),
            );
            OffsetDeleteResponse {
                error_code: ErrorCode::None.code(),
                topics,
                ..Default::default()
            }
        }
    }
}
