//! ListGroups: every group this broker coordinates, filtered by state (v4);
//! COORDINATOR_LOAD_IN_PROGRESS beside them while an offsets partition is being loaded.

use ferry_kafka_protocol::messages::list_groups::{
    ListGroupsRequest, ListGroupsResponse, ListedGroup,
};

use crate::broker::Broker;

pub fn handle(broker: &Broker, request: ListGroupsRequest) -> ListGroupsResponse {
    let filter = &request.states_filter;
    let (error, listed) = broker.groups.list(broker);
    let groups = listed
        .into_iter()
        .filter(|g| filter.is_empty() || filter.iter().any(|f| g.state.matches(f)))
        .map(|g| ListedGroup {
            group_id: g.group_id,
            protocol_type: g.protocol_type,
            group_state: g.state.name().to_string(),
            ..Default::default()
        })
        .collect();
    ListGroupsResponse {
        error_code: error.code(),
        groups,
        ..Default::default()
    }
}
