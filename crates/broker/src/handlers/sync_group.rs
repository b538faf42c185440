//! SyncGroup: the leader hands in the assignment; every member waits for its own share.

use ferry_kafka_protocol::messages::sync_group::{SyncGroupRequest, SyncGroupResponse};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::groups::SyncRequest;

pub async fn handle(broker: &Broker, request: SyncGroupRequest) -> SyncGroupResponse {
    if request.group_id.is_empty() {
        return refuse(ErrorCode::InvalidGroupId);
    }
    let group_id = request.group_id;
    let sync = SyncRequest {
        member_id: request.member_id,
        instance_id: request.group_instance_id,
        generation: request.generation_id,
        protocol_type: request.protocol_type,
        protocol_name: request.protocol_name,
        assignments: request
            .assignments
            .into_iter()
            .map(|a| (a.member_id, a.assignment))
            .collect(),
    };
    match broker.groups.sync(broker, &group_id, sync).await {
        Ok(assignment) => {
            let (protocol_type, protocol_name) = broker.groups.protocol_of(broker, &group_id);
            SyncGroupResponse {
                protocol_type,
                protocol_name,
                assignment,
                ..Default::default()
            }
        }
        Err(error) => refuse(error),
    }
}

fn refuse(error: ErrorCode) -> SyncGroupResponse {
    SyncGroupResponse {
        error_code: error.code(),
        ..Default::default()
    }
}
