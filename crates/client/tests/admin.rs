//! Admin and offset calls against a fake broker: request shapes that change with the
//! negotiated version, and the AlterConfigs fallback for brokers without incremental alter.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use std::sync::{Arc, Mutex};

use ferry_kafka_client::{Client, ClientConfig, ConfigOp, ResourceType};
use ferry_kafka_protocol::messages::describe_configs::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use ferry_kafka_protocol::messages::metadata::MetadataResponseBroker;
use ferry_kafka_protocol::messages::offset_fetch::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use ferry_kafka_protocol::messages::*;
use ferry_kafka_protocol::{ApiKey, RequestBody, ResponseBody};
use support::{api_versions, start, Fake, Reply};

/// A fake that serves `apis` (capped by `max`), answers Metadata with itself as broker 0 and
/// the controller, and hands every other request to `answer`, recording it.
async fn fake(
    apis: &[ApiKey],
    max: &[(ApiKey, i16)],
    answer: impl Fn(&RequestBody) -> ResponseBody + Send + Sync + 'static,
) -> (Fake, Arc<Mutex<Vec<(i16, RequestBody)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let port = Arc::new(Mutex::new(0));
    let versions = api_versions(apis, max);
    let (s, p) = (seen.clone(), port.clone());
    let fake = start(move |header, body| {
        let reply = match &body {
            RequestBody::ApiVersions(_) => versions.clone(),
            RequestBody::Metadata(_) => MetadataResponse {
                brokers: vec![MetadataResponseBroker {
                    node_id: 0,
                    host: "127.0.0.1".into(),
                    port: *p.lock().unwrap(),
                    ..Default::default()
                }],
                controller_id: 0,
                ..Default::default()
            }
            .into(),
            other => answer(other),
        };
        s.lock().unwrap().push((header.api_version, body));
        Reply::Now(reply)
    })
    .await;
    *port.lock().unwrap() = fake.addr.rsplit(':').next().unwrap().parse().unwrap();
    (fake, seen)
}

fn last<T>(
    seen: &Mutex<Vec<(i16, RequestBody)>>,
    pick: impl Fn(&RequestBody) -> Option<T>,
) -> (i16, T) {
    seen.lock()
        .unwrap()
        .iter()
        .rev()
        .find_map(|(v, b)| pick(b).map(|t| (*v, t)))
        .expect("request seen")
}

#[tokio::test]
async fn delete_topics_names_topics_as_the_version_requires() {
    for (max, by_state) in [(5, false), (6, true)] {
        let apis = [ApiKey::ApiVersions, ApiKey::Metadata, ApiKey::DeleteTopics];
        let (fake, seen) = fake(&apis, &[(ApiKey::DeleteTopics, max)], |_| {
            DeleteTopicsResponse::default().into()
        })
        .await;
        let client = Client::connect(&fake.addr, ClientConfig::default())
            .await
            .unwrap();
        client.delete_topics(&["a".into()]).await.unwrap();
        let (version, request) = last(&seen, |b| match b {
            RequestBody::DeleteTopics(r) => Some(r.clone()),
            _ => None,
        });
        assert_eq!(version, max);
        if by_state {
            assert_eq!(request.topics[0].name.as_deref(), Some("a"));
        } else {
            assert_eq!(request.topic_names, vec!["a".to_string()]);
        }
    }
}

#[tokio::test]
async fn committed_offsets_read_the_group_form_from_v8() {
    for max in [7, 8] {
        let apis = [
            ApiKey::ApiVersions,
            ApiKey::Metadata,
            ApiKey::FindCoordinator,
            ApiKey::OffsetFetch,
        ];
        let (fake, _) = fake(&apis, &[(ApiKey::OffsetFetch, max)], move |b| match b {
            RequestBody::FindCoordinator(_) => FindCoordinatorResponse {
                coordinators: vec![find_coordinator::Coordinator {
                    key: "g".into(),
                    node_id: 0,
                    ..Default::default()
                }],
                ..Default::default()
            }
            .into(),
            RequestBody::OffsetFetch(r) => {
                let topics = vec![OffsetFetchResponseTopic {
                    name: "t".into(),
                    partitions: vec![OffsetFetchResponsePartition {
                        partition_index: 2,
                        committed_offset: 9,
                        ..Default::default()
                    }],
                    ..Default::default()
                }];
                if max >= 8 {
                    assert_eq!(r.groups[0].group_id, "g");
                    OffsetFetchResponse {
                        groups: vec![OffsetFetchResponseGroup {
                            group_id: "g".into(),
                            topics,
                            ..Default::default()
                        }],
                        ..Default::default()
                    }
                    .into()
                } else {
                    assert_eq!(r.group_id, "g");
                    OffsetFetchResponse {
                        topics,
                        ..Default::default()
                    }
                    .into()
                }
            }
            _ => panic!("unexpected request"),
        })
        .await;
        let client = Client::connect(&fake.addr, ClientConfig::default())
            .await
            .unwrap();
        let offsets = client.committed_offsets("g").await.unwrap();
        assert_eq!(offsets.get(&("t".to_string(), 2)), Some(&9), "at v{max}");
    }
}

#[tokio::test]
async fn alter_configs_without_incremental_merges_the_current_overrides() {
    let apis = [
        ApiKey::ApiVersions,
        ApiKey::Metadata,
        ApiKey::DescribeConfigs,
        ApiKey::AlterConfigs,
    ];
    let (fake, seen) = fake(&apis, &[], |b| match b {
        RequestBody::DescribeConfigs(_) => DescribeConfigsResponse {
            results: vec![DescribeConfigsResult {
                resource_type: 2,
                resource_name: "t".into(),
                configs: vec![
                    DescribeConfigsResourceResult {
                        name: "retention.ms".into(),
                        value: Some("5".into()),
                        config_source: 1,
                        ..Default::default()
                    },
                    DescribeConfigsResourceResult {
                        name: "segment.bytes".into(),
                        value: Some("9".into()),
                        config_source: 1,
                        ..Default::default()
                    },
                    DescribeConfigsResourceResult {
                        name: "flush.ms".into(),
                        value: Some("1".into()),
                        config_source: 5,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }
        .into(),
        RequestBody::AlterConfigs(_) => AlterConfigsResponse::default().into(),
        _ => panic!("unexpected request"),
    })
    .await;
    let client = Client::connect(&fake.addr, ClientConfig::default())
        .await
        .unwrap();
    let ops = [
        ConfigOp::Set("cleanup.policy".into(), "compact".into()),
        ConfigOp::Delete("segment.bytes".into()),
    ];
    client
        .alter_configs(ResourceType::Topic, "t", &ops)
        .await
        .unwrap();
    let (_, request) = last(&seen, |b| match b {
        RequestBody::AlterConfigs(r) => Some(r.clone()),
        _ => None,
    });
    let sent: Vec<(String, Option<String>)> = request.resources[0]
        .configs
        .iter()
        .map(|c| (c.name.clone(), c.value.clone()))
        .collect();
    assert_eq!(
        sent,
        vec![
            ("cleanup.policy".into(), Some("compact".into())),
            ("retention.ms".into(), Some("5".into()))
        ]
    );
}

#[tokio::test]
async fn alter_configs_prefers_incremental() {
    let apis = [
        ApiKey::ApiVersions,
        ApiKey::Metadata,
        ApiKey::IncrementalAlterConfigs,
    ];
    let (fake, seen) = fake(&apis, &[], |_| {
        IncrementalAlterConfigsResponse::default().into()
    })
    .await;
    let client = Client::connect(&fake.addr, ClientConfig::default())
        .await
        .unwrap();
    let ops = [
        ConfigOp::Set("a".into(), "1".into()),
        ConfigOp::Delete("b".into()),
    ];
    client
        .alter_configs(ResourceType::Topic, "t", &ops)
        .await
        .unwrap();
    let (_, request) = last(&seen, |b| match b {
        RequestBody::IncrementalAlterConfigs(r) => Some(r.clone()),
        _ => None,
    });
    let sent: Vec<(String, i8, Option<String>)> = request.resources[0]
        .configs
        .iter()
        .map(|c| (c.name.clone(), c.config_operation, c.value.clone()))
        .collect();
    assert_eq!(
        sent,
        vec![("a".into(), 0, Some("1".into())), ("b".into(), 1, None)]
    );
}
