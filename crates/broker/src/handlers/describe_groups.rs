//! DescribeGroups: state, protocol and members of each group. An unknown group is described
//! as Dead without error, as Kafka does, and one this broker does not coordinate as Dead with
//! NOT_COORDINATOR (or COORDINATOR_LOAD_IN_PROGRESS); member metadata and assignments are only
//! shown once the group is Stable (before that they belong to no settled generation).

use ferry_kafka_protocol::messages::describe_groups::{
    DescribeGroupsRequest, DescribeGroupsResponse, DescribedGroup, DescribedGroupMember,
};
use ferry_kafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::groups::GroupState;

pub fn handle(broker: &Broker, request: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let groups = request
        .groups
        .into_iter()
        .map(|id| describe(broker, id))
        .collect();
    DescribeGroupsResponse {
        groups,
        ..Default::default()
    }
}

fn describe(broker: &Broker, group_id: String) -> DescribedGroup {
    let group = match broker.groups.snapshot(broker, &group_id) {
        Ok(Some(group)) => group,
        Ok(None) => return dead(group_id, ErrorCode::None),
        Err(error) => return dead(group_id, error),
    };
    let stable = group.state() == GroupState::Stable;
    let protocol = group.protocol().unwrap_or_default().to_string();
    DescribedGroup {
        group_id,
        group_state: group.state().name().to_string(),
        protocol_type: group.protocol_type().unwrap_or_default().to_string(),
        protocol_data: if stable {
            protocol.clone()
        } else {
            String::new()
        },
        members: group
            .members()
            .iter()
            .map(|m| DescribedGroupMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                member_metadata: if stable {
                    m.metadata(&protocol)
                } else {
                    Default::default()
                },
                member_assignment: if stable {
                    m.assignment.clone()
                } else {
                    Default::default()
                },
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn dead(group_id: String, error: ErrorCode) -> DescribedGroup {
    DescribedGroup {
        error_code: error.code(),
        group_id,
        group_state: GroupState::Dead.name().to_string(),
        ..Default::default()
    }
}
