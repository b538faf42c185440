//! DeleteGroups: removes groups without members (NON_EMPTY_GROUP otherwise), writing
//! tombstones for their offsets and metadata.

use ferry_kafka_protocol::messages::delete_groups::{
    DeletableGroupResult, DeleteGroupsRequest, DeleteGroupsResponse,
};

use crate::broker::Broker;

pub fn handle(broker: &Broker, request: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let results = request
        .groups_names
        .into_iter()
        .map(|group_id| DeletableGroupResult {
            error_code: broker.groups.delete_group(broker, &group_id).code(),
            group_id,
            ..Default::default()
        })
        .collect();
    DeleteGroupsResponse {
        results,
        ..Default::default()
    }
}
