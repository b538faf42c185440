//! JoinGroup: enter (or re-enter) a group's rebalance; the answer waits until the join phase
//! ends (see `groups::group`).

use ferry_kafka_protocol::messages::join_group::{
    JoinGroupRequest, JoinGroupResponse, JoinGroupResponseMember,
};
use ferry_kafka_protocol::ErrorCode;

use super::ClientInfo;
use crate::broker::Broker;
use crate::groups::{JoinRequest, JoinResult};

pub async fn handle(
    broker: &Broker,
    request: JoinGroupRequest,
    version: i16,
    client: &ClientInfo,
) -> JoinGroupResponse {
    if request.group_id.is_empty() {
        let result = JoinResult::error(ErrorCode::InvalidGroupId, &request.member_id);
        return respond(result, version);
    }
    let join = JoinRequest {
        member_id: request.member_id,
        instance_id: request.group_instance_id,
        client_id: client.client_id.clone(),
        client_host: client.host.clone(),
        session_timeout_ms: request.session_timeout_ms,
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalance_timeout_ms: if version >= 1 {
            request.rebalance_timeout_ms
        } else {
            request.session_timeout_ms
        },
        protocol_type: request.protocol_type,
        protocols: request
            .protocols
            .into_iter()
            .map(|p| (p.name, p.metadata))
            .collect(),
        require_known_member_id: version >= 4,
        fresh_member_id: format!("{}-{}", client.client_id, random_uuid()),
    };
    let result = broker.groups.join(broker, &request.group_id, join).await;
    respond(result, version)
}

fn respond(result: JoinResult, version: i16) -> JoinGroupResponse {
    JoinGroupResponse {
        error_code: result.error.code(),
        generation_id: result.generation,
        protocol_type: result.protocol_type,
        // Before v7 the name is not nullable.
        protocol_name: match result.protocol {
            None if version < 7 => Some(String::new()),
            other => other,
        },
        leader: result.leader,
        member_id: result.member_id,
        members: result
            .members
            .into_iter()
            .map(
                |(member_id, group_instance_id, metadata)| JoinGroupResponseMember {
                    member_id,
                    group_instance_id,
                    metadata,
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}

/// A random UUID in Java's `UUID.toString()` form, as Kafka's member ids carry.
fn random_uuid() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
