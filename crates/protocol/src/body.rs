//! [`RequestBody`] and [`ResponseBody`]: every message, keyed by [`ApiKey`].
//!
//! The `bodies!` table below is the one place that ties an API key to its
//! request and response types; its matches are exhaustive over
//! [`ApiKey`], so an API cannot be listed without both messages.

use crate::error::{ProtocolError, Result};
use crate::messages::*;
use crate::out::Out;
use crate::primitives::Reader;
use crate::wire::{Ctx, Wire};
use crate::ApiKey;

/// A top-level request or response message of one API.
pub trait Message: Wire + Default + Clone + PartialEq + std::fmt::Debug {
    /// The API this message belongs to.
    const API_KEY: ApiKey;
    /// The message's name, for errors.
    const NAME: &'static str;

    /// Appends the body encoded at `version` (no header, no size prefix).
    fn encode(&self, version: i16, buf: &mut Out) -> Result<()> {
        self.write(buf, ctx(Self::API_KEY, version)?)
    }

    /// Reads a body encoded at `version`; trailing bytes are left in `r`.
    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        Self::read(r, ctx(Self::API_KEY, version)?).map_err(|e| ProtocolError::Message {
            message: Self::NAME,
            version,
            source: Box::new(e),
        })
    }
}

fn ctx(api: ApiKey, version: i16) -> Result<Ctx> {
    if !api.supports(version) {
        return Err(ProtocolError::UnsupportedVersion {
            api_key: api.key(),
            api_version: version,
            correlation_id: 0,
        });
    }
    Ok(Ctx {
        version,
        flexible: api.is_flexible(version),
    })
}

/// A request message and the response it gets, so that a client's call can return the typed
/// response.
pub trait Request: Message + Into<RequestBody> {
    /// The response message of this request's API.
    type Response: Message;
    /// The typed response out of a decoded body, `None` if it is another API's.
    fn response(body: ResponseBody) -> Option<Self::Response>;
}

macro_rules! bodies {
    ($($api:ident => $req:ident, $resp:ident;)*) => {
        $(
            impl Message for $req {
                const API_KEY: ApiKey = ApiKey::$api;
                const NAME: &'static str = stringify!($req);
            }
            impl Request for $req {
                type Response = $resp;
                fn response(body: ResponseBody) -> Option<$resp> {
                    match body {
                        ResponseBody::$api(r) => Some(r),
                        _ => None,
                    }
                }
            }
            impl Message for $resp {
                const API_KEY: ApiKey = ApiKey::$api;
                const NAME: &'static str = stringify!($resp);
            }
        )*

        /// Any request body.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(missing_docs)]
        pub enum RequestBody {
            $($api($req),)*
        }

        /// Any response body.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(missing_docs)]
        pub enum ResponseBody {
            $($api($resp),)*
        }

        bodies!(@impl RequestBody, $($api => $req),*);
        bodies!(@impl ResponseBody, $($api => $resp),*);
    };
    (@impl $enum:ident, $($api:ident => $ty:ident),*) => {
        impl $enum {
            /// The API of this body.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(Self::$api(_) => ApiKey::$api,)*
                }
            }

            /// Decodes the body of `api` at `version`.
            pub fn decode(api: ApiKey, r: &mut Reader, version: i16) -> Result<Self> {
                Ok(match api {
                    $(ApiKey::$api => Self::$api($ty::decode(r, version)?),)*
                })
            }

            /// An arbitrary body of `api` (tests).
            #[cfg(test)]
            pub(crate) fn sample(api: ApiKey, g: &mut crate::testing::Gen) -> Self {
                match api {
                    $(ApiKey::$api => Self::$api(crate::testing::Sample::sample(g)),)*
                }
            }

            /// Encodes the body at `version` (no header, no size prefix).
            pub fn encode(&self, version: i16, buf: &mut Out) -> Result<()> {
                match self {
                    $(Self::$api(m) => m.encode(version, buf),)*
                }
            }
        }

        $(
            impl From<$ty> for $enum {
                fn from(m: $ty) -> Self {
                    Self::$api(m)
                }
            }
        )*
    };
}

bodies! {
    Produce => ProduceRequest, ProduceResponse;
    Fetch => FetchRequest, FetchResponse;
    ListOffsets => ListOffsetsRequest, ListOffsetsResponse;
    Metadata => MetadataRequest, MetadataResponse;
    LeaderAndIsr => LeaderAndIsrRequest, LeaderAndIsrResponse;
    StopReplica => StopReplicaRequest, StopReplicaResponse;
    UpdateMetadata => UpdateMetadataRequest, UpdateMetadataResponse;
    ControlledShutdown => ControlledShutdownRequest, ControlledShutdownResponse;
    OffsetCommit => OffsetCommitRequest, OffsetCommitResponse;
    OffsetFetch => OffsetFetchRequest, OffsetFetchResponse;
    FindCoordinator => FindCoordinatorRequest, FindCoordinatorResponse;
    JoinGroup => JoinGroupRequest, JoinGroupResponse;
    Heartbeat => HeartbeatRequest, HeartbeatResponse;
    LeaveGroup => LeaveGroupRequest, LeaveGroupResponse;
    SyncGroup => SyncGroupRequest, SyncGroupResponse;
    DescribeGroups => DescribeGroupsRequest, DescribeGroupsResponse;
    ListGroups => ListGroupsRequest, ListGroupsResponse;
    SaslHandshake => SaslHandshakeRequest, SaslHandshakeResponse;
    ApiVersions => ApiVersionsRequest, ApiVersionsResponse;
    CreateTopics => CreateTopicsRequest, CreateTopicsResponse;
    DeleteTopics => DeleteTopicsRequest, DeleteTopicsResponse;
    DeleteRecords => DeleteRecordsRequest, DeleteRecordsResponse;
    InitProducerId => InitProducerIdRequest, InitProducerIdResponse;
    OffsetForLeaderEpoch => OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse;
    DescribeConfigs => DescribeConfigsRequest, DescribeConfigsResponse;
    AlterConfigs => AlterConfigsRequest, AlterConfigsResponse;
    DescribeLogDirs => DescribeLogDirsRequest, DescribeLogDirsResponse;
    CreatePartitions => CreatePartitionsRequest, CreatePartitionsResponse;
    DeleteGroups => DeleteGroupsRequest, DeleteGroupsResponse;
    ElectLeaders => ElectLeadersRequest, ElectLeadersResponse;
    IncrementalAlterConfigs => IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse;
    AlterPartitionReassignments => AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse;
    ListPartitionReassignments => ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse;
    OffsetDelete => OffsetDeleteRequest, OffsetDeleteResponse;
    DescribeCluster => DescribeClusterRequest, DescribeClusterResponse;
}
