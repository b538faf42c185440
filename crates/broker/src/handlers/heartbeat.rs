//! Heartbeat: keeps a member's session alive and tells it when to rejoin
//! (REBALANCE_IN_PROGRESS).

use ferry_kafka_protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;

pub fn handle(broker: &Broker, request: HeartbeatRequest) -> HeartbeatResponse {
    let error = if request.group_id.is_empty() {
        ErrorCode::InvalidGroupId
    } else {
        broker.groups.heartbeat(
            broker,
            &request.group_id,
            &request.member_id,
            request.group_instance_id.as_deref(),
            request.generation_id,
        )
    };
    HeartbeatResponse {
        error_code: error.code(),
        ..Default::default()
    }
}
