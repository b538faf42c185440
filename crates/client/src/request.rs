//! Ties each request type to its response type, so that a call returns the typed response.

use ferry_kafka_protocol::messages::*;
use ferry_kafka_protocol::{Message, RequestBody, ResponseBody};

/// A request message and the response it gets.
pub trait Request: Message + Into<RequestBody> {
    type Response: Message;
    /// The typed response out of a decoded body, `None` if it is another API's.
    fn response(body: ResponseBody) -> Option<Self::Response>;
}

macro_rules! requests {
    ($($api:ident => $req:ident, $resp:ident;)*) => {
        $(
            impl Request for $req {
                type Response = $resp;
                fn response(body: ResponseBody) -> Option<$resp> {
                    match body {
                        ResponseBody::$api(r) => Some(r),
                        _ => None,
                    }
                }
            }
        )*
    };
}

requests! {
    Produce => ProduceRequest, ProduceResponse;
    Fetch => FetchRequest, FetchResponse;
    ListOffsets => ListOffsetsRequest, ListOffsetsResponse;
    Metadata => MetadataRequest, MetadataResponse;
    OffsetCommit => OffsetCommitRequest, OffsetCommitResponse;
    OffsetFetch => OffsetFetchRequest, OffsetFetchResponse;
    FindCoordinator => FindCoordinatorRequest, FindCoordinatorResponse;
    JoinGroup => JoinGroupRequest, JoinGroupResponse;
    Heartbeat => HeartbeatRequest, HeartbeatResponse;
    LeaveGroup => LeaveGroupRequest, LeaveGroupResponse;
    SyncGroup => SyncGroupRequest, SyncGroupResponse;
    DescribeGroups => DescribeGroupsRequest, DescribeGroupsResponse;
    ListGroups => ListGroupsRequest, ListGroupsResponse;
    ApiVersions => ApiVersionsRequest, ApiVersionsResponse;
    CreateTopics => CreateTopicsRequest, CreateTopicsResponse;
    DeleteTopics => DeleteTopicsRequest, DeleteTopicsResponse;
    InitProducerId => InitProducerIdRequest, InitProducerIdResponse;
    DescribeConfigs => DescribeConfigsRequest, DescribeConfigsResponse;
    AlterConfigs => AlterConfigsRequest, AlterConfigsResponse;
    CreatePartitions => CreatePartitionsRequest, CreatePartitionsResponse;
    DeleteGroups => DeleteGroupsRequest, DeleteGroupsResponse;
    IncrementalAlterConfigs => IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse;
    DescribeCluster => DescribeClusterRequest, DescribeClusterResponse;
}
