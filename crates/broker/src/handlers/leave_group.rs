//! LeaveGroup: one member (v0-2) or a batch identified by member or instance id (v3+).

use ferry_kafka_protocol::messages::leave_group::{
    LeaveGroupRequest, LeaveGroupResponse, MemberResponse,
};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;

pub fn handle(broker: &Broker, request: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let leaving: Vec<(String, Option<String>)> = if version >= 3 {
        request
            .members
            .into_iter()
            .map(|m| (m.member_id, m.group_instance_id))
            .collect()
    } else {
        vec![(request.member_id, None)]
    };
    if request.group_id.is_empty() {
        return LeaveGroupResponse {
            error_code: ErrorCode::InvalidGroupId.code(),
            ..Default::default()
        };
    }
    let errors = match broker.groups.leave(broker, &request.group_id, &leaving) {
        Ok(errors) => errors,
        Err(error) => {
            return LeaveGroupResponse {
                error_code: error.code(),
                ..Default::default()
            }
        }
    };
    if version < 3 {
        let error = errors.first().copied().unwrap_or(ErrorCode::None);
        return LeaveGroupResponse {
            error_code: error.code(),
            ..Default::default()
        };
    }
    LeaveGroupResponse {
        members: leaving
            .into_iter()
            .zip(errors)
            .map(|((member_id, group_instance_id), error)| MemberResponse {
                member_id,
                group_instance_id,
                error_code: error.code(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
