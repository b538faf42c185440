//! Brokers, the controller and topics: what Metadata, ListOffsets and DescribeConfigs say, and
//! topic creation and deletion through CreateTopics and DeleteTopics (so the controller places
//! replicas and the cluster's policies apply exactly as for any admin client).

use std::collections::{BTreeMap, BTreeSet};

use ferry_kafka_client::{
    Client, NewTopic, PartitionInfo, ResourceType, TopicInfo, EARLIEST, LATEST,
};
use ferry_net::http::Request;
use serde_json::{json, Map, Value};

use crate::api::{json_body, required_param, ApiError, ApiResult};

/// GET /cluster.
pub async fn cluster(kafka: &Client) -> ApiResult {
    let metadata = kafka.metadata(Some(&[]), false).await?;
    let mut brokers: Vec<Value> = metadata
        .brokers
        .iter()
        .map(|b| {
            json!({
                "id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack,
                "controller": b.node_id == metadata.controller_id,
            })
        })
        .collect();
    brokers.sort_by_key(|b| b["id"].as_i64());
    Ok(json!({
        "cluster_id": metadata.cluster_id,
        "controller": (metadata.controller_id >= 0).then_some(metadata.controller_id),
        "brokers": brokers,
    }))
}

/// GET /topics: one line per topic.
pub async fn list(kafka: &Client) -> ApiResult {
    let mut topics = kafka.topics(None).await?;
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    let sizes = leader_log_sizes(kafka, &topics).await;
    let mut out = Vec::new();
    for topic in &topics {
        let offsets = offsets(kafka, topic).await;
        let size: Option<i64> = topic
            .partitions
            .iter()
            .map(|p| sizes.get(&(topic.name.clone(), p.partition)).copied())
            .sum();
        let messages: i64 = offsets.values().flatten().map(|(s, e)| e - s).sum();
        out.push(json!({
            "name": topic.name,
            "internal": topic.is_internal,
            "partitions": topic.partitions.len(),
            "replication_factor": topic.partitions.iter().map(|p| p.replicas.len()).max().unwrap_or(0),
            "under_replicated": topic.partitions.iter().filter(|p| under_replicated(p)).count(),
            "offline": topic.partitions.iter().filter(|p| p.leader < 0).count(),
            "messages": messages,
            "size_bytes": size,
        }));
    }
    Ok(json!({ "topics": out }))
}

/// GET /topic?name=: partitions with their replicas and offsets, and the topic's configs.
pub async fn describe(kafka: &Client, request: &Request) -> ApiResult {
    let name = required_param(&request.query, "name")?;
    let topic = kafka.topic(&name, false).await?;
    let offsets = offsets(kafka, &topic).await;
    let sizes = leader_log_sizes(kafka, std::slice::from_ref(&topic)).await;
    let partitions: Vec<Value> = topic
        .partitions
        .iter()
        .map(|p| {
            let range = offsets.get(&p.partition).copied().flatten();
            json!({
                "partition": p.partition, "leader": p.leader, "replicas": p.replicas,
                "isr": p.isr, "offline": p.offline,
                "start_offset": range.map(|r| r.0), "end_offset": range.map(|r| r.1),
                "size_bytes": sizes.get(&(topic.name.clone(), p.partition)),
            })
        })
        .collect();
    let mut configs: Vec<Value> = kafka
        .describe_configs(ResourceType::Topic, &name)
        .await?
        .into_iter()
        .map(|c| {
            let value = if c.is_sensitive { None } else { c.value };
            json!({ "name": c.name, "value": value, "default": c.is_default })
        })
        .collect();
    // What was set for this topic first, then alphabetically.
    configs.sort_by_key(|c| {
        (
            c["default"].as_bool(),
            c["name"].as_str().map(str::to_string),
        )
    });
    Ok(json!({
        "name": topic.name, "internal": topic.is_internal,
        "partitions": partitions, "configs": configs,
    }))
}

/// POST /topics.
pub async fn create(kafka: &Client, request: &Request) -> ApiResult {
    let body = json_body(&request.body)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("the topic needs a name"))?
        .to_string();
    let number = |key: &str| -> ApiResult<i64> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(-1),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(-1),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map_err(|_| ApiError::bad_request(format!("{key} must be a number"))),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| ApiError::bad_request(format!("{key} must be a number"))),
        }
    };
    let partitions = i32::try_from(number("partitions")?)
        .map_err(|_| ApiError::bad_request("partitions is out of range"))?;
    let replication_factor = i16::try_from(number("replication_factor")?)
        .map_err(|_| ApiError::bad_request("replication_factor is out of range"))?;
    let topic = NewTopic {
        name: name.clone(),
        partitions,
        replication_factor,
        configs: string_map(body.get("configs"))?,
    };
    kafka.create_topics(&[topic], false).await?;
    Ok(json!({ "created": name }))
}

/// DELETE /topic?name=.
pub async fn delete(kafka: &Client, request: &Request) -> ApiResult {
    let name = required_param(&request.query, "name")?;
    kafka.delete_topics(std::slice::from_ref(&name)).await?;
    Ok(json!({ "deleted": name }))
}

/// Each partition's log size on its leader (DescribeLogDirs of every broker that leads one of
/// `topics`); a partition whose leader did not answer has none.
async fn leader_log_sizes(kafka: &Client, topics: &[TopicInfo]) -> BTreeMap<(String, i32), i64> {
    let leaders: BTreeSet<i32> = topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.leader))
        .filter(|leader| *leader >= 0)
        .collect();
    let mut sizes = BTreeMap::new();
    for broker in leaders {
        let Ok(held) = kafka.log_sizes(broker).await else {
            continue;
        };
        for topic in topics {
            for p in topic.partitions.iter().filter(|p| p.leader == broker) {
                let key = (topic.name.clone(), p.partition);
                if let Some(size) = held.get(&key) {
                    sizes.insert(key, *size);
                }
            }
        }
    }
    sizes
}

fn under_replicated(partition: &PartitionInfo) -> bool {
    partition.isr.len() < partition.replicas.len()
}

/// Each partition's (log start, log end), or None for a partition whose leader did not answer.
async fn offsets(kafka: &Client, topic: &TopicInfo) -> BTreeMap<i32, Option<(i64, i64)>> {
    let mut out = BTreeMap::new();
    for p in &topic.partitions {
        let one = [p.partition];
        let range = match (
            kafka.list_offsets(topic, &one, EARLIEST).await,
            kafka.list_offsets(topic, &one, LATEST).await,
        ) {
            (Ok(start), Ok(end)) => start
                .get(&p.partition)
                .zip(end.get(&p.partition))
                .map(|(s, e)| (*s, *e)),
            _ => None,
        };
        out.insert(p.partition, range);
    }
    out
}

fn string_map(value: Option<&Value>) -> ApiResult<BTreeMap<String, String>> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(BTreeMap::new());
    };
    let object: &Map<String, Value> = value
        .as_object()
        .ok_or_else(|| ApiError::bad_request("configs must be an object of names to values"))?;
    object
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Number(n) => Ok((k.clone(), n.to_string())),
            Value::Bool(b) => Ok((k.clone(), b.to_string())),
            _ => Err(ApiError::bad_request(format!(
                "config {k} must be a text value"
            ))),
        })
        .collect()
}
