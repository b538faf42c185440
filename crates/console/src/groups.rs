//! Consumer groups: ListGroups, DescribeGroups and each group's committed offsets against the
//! partitions' log ends (the lag operators watch).

use ferry_kafka_client::consumer_protocol::decode_assignment;
use ferry_kafka_client::Client;
use ferry_net::http::Request;
use serde_json::{json, Value};

use crate::api::{required_param, ApiResult};

/// GET /groups.
pub async fn list(kafka: &Client) -> ApiResult {
    let mut out = Vec::new();
    for listed in kafka.list_groups().await? {
        let described = kafka.describe_group(&listed.group_id).await;
        let (state, members, lag) = match &described {
            Ok(group) => {
                let lag = kafka
                    .group_partitions(&listed.group_id, group)
                    .await
                    .ok()
                    .map(|partitions| partitions.iter().filter_map(|p| p.lag()).sum::<i64>());
                (
                    json!(group.group_state),
                    json!(group.members.len()),
                    json!(lag),
                )
            }
            Err(_) => (Value::Null, Value::Null, Value::Null),
        };
        out.push(json!({
            "group_id": listed.group_id, "protocol_type": listed.protocol_type,
            "state": state, "members": members, "lag": lag,
        }));
    }
    Ok(json!({ "groups": out }))
}

/// GET /group?id=: members, their assignments, and offsets with lag per partition.
pub async fn describe(kafka: &Client, request: &Request) -> ApiResult {
    let id = required_param(&request.query, "id")?;
    let group = kafka.describe_group(&id).await?;
    let partitions = kafka.group_partitions(&id, &group).await?;
    let members: Vec<Value> = group
        .members
        .iter()
        .map(|m| {
            let assignment: Vec<Value> = decode_assignment(&m.member_assignment)
                .unwrap_or_default()
                .into_iter()
                .map(|(topic, partitions)| json!({ "topic": topic, "partitions": partitions }))
                .collect();
            json!({
                "member_id": m.member_id, "client_id": m.client_id, "host": m.client_host,
                "assignment": assignment,
            })
        })
        .collect();
    let offsets: Vec<Value> = partitions
        .iter()
        .map(|p| {
            json!({
                "topic": p.topic, "partition": p.partition, "committed": p.committed,
                "end": p.end, "lag": p.lag(),
                "member_id": p.owner.as_ref().map(|o| o.member_id.clone()),
            })
        })
        .collect();
    Ok(json!({
        "group_id": id, "state": group.group_state, "protocol_type": group.protocol_type,
        "protocol": group.protocol_data, "members": members, "offsets": offsets,
    }))
}
