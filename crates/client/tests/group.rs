//! Group membership against a fake coordinator: the MEMBER_ID_REQUIRED round, the leader's
//! range assignment sent in SyncGroup, heartbeats that report a rebalance, commits and leave.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use std::sync::{Arc, Mutex};

use ferry_kafka_client::consumer_protocol::{decode_assignment, decode_subscription};
use ferry_kafka_client::{Client, ClientConfig, GroupMember, GroupTimeouts};
use ferry_kafka_protocol::messages::join_group::JoinGroupResponseMember;
use ferry_kafka_protocol::messages::metadata::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use ferry_kafka_protocol::messages::*;
use ferry_kafka_protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};
use support::{api_versions, start, Reply};

#[derive(Default)]
struct Seen {
    joins: Vec<String>,
    synced: Vec<(String, bytes::Bytes)>,
    committed: Vec<(String, i32, i64, i32)>,
    left: Vec<String>,
}

#[tokio::test]
async fn joins_leads_assigns_heartbeats_commits_and_leaves() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let port = Arc::new(Mutex::new(0));
    let (s, p) = (seen.clone(), port.clone());
    let fake = start(move |_, body| {
        let mut seen = s.lock().unwrap();
        let reply: ResponseBody = match body {
            RequestBody::ApiVersions(_) => api_versions(ApiKey::ALL, &[]),
            RequestBody::Metadata(_) => MetadataResponse {
                brokers: vec![MetadataResponseBroker {
                    node_id: 0,
                    host: "127.0.0.1".into(),
                    port: *p.lock().unwrap(),
                    ..Default::default()
                }],
                topics: vec![MetadataResponseTopic {
                    name: Some("t".into()),
                    partitions: (0..3)
                        .map(|i| MetadataResponsePartition {
                            partition_index: i,
                            replica_nodes: vec![0],
                            isr_nodes: vec![0],
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }
            .into(),
            RequestBody::FindCoordinator(r) => {
                assert_eq!(r.coordinator_keys, vec!["g".to_string()]);
                FindCoordinatorResponse {
                    coordinators: vec![find_coordinator::Coordinator {
                        key: "g".into(),
                        node_id: 0,
                        host: "127.0.0.1".into(),
                        port: *p.lock().unwrap(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }
                .into()
            }
            RequestBody::JoinGroup(r) => {
                seen.joins.push(r.member_id.clone());
                assert_eq!(r.protocol_type, "consumer");
                assert_eq!(
                    decode_subscription(&r.protocols[0].metadata).unwrap(),
                    vec!["t".to_string()]
                );
                if r.member_id.is_empty() {
                    JoinGroupResponse {
                        error_code: ErrorCode::MemberIdRequired.code(),
                        member_id: "m-1".into(),
                        ..Default::default()
                    }
                    .into()
                } else {
                    // This member leads a group of two; the other subscribes to "t" too.
                    JoinGroupResponse {
                        generation_id: 7,
                        protocol_name: Some("range".into()),
                        leader: "m-1".into(),
                        member_id: "m-1".into(),
                        members: vec![
                            JoinGroupResponseMember {
                                member_id: "m-1".into(),
                                metadata: r.protocols[0].metadata.clone(),
                                ..Default::default()
                            },
                            JoinGroupResponseMember {
                                member_id: "m-2".into(),
                                metadata: r.protocols[0].metadata.clone(),
                                ..Default::default()
                            },
                        ],
                        ..Default::default()
                    }
                    .into()
                }
            }
            RequestBody::SyncGroup(r) => {
                assert_eq!(r.generation_id, 7);
                seen.synced = r
                    .assignments
                    .iter()
                    .map(|a| (a.member_id.clone(), a.assignment.clone()))
                    .collect();
                let mine = r
                    .assignments
                    .iter()
                    .find(|a| a.member_id == "m-1")
                    .unwrap()
                    .assignment
                    .clone();
                SyncGroupResponse {
                    assignment: mine,
                    ..Default::default()
                }
                .into()
            }
            RequestBody::Heartbeat(_) => HeartbeatResponse {
                error_code: ErrorCode::RebalanceInProgress.code(),
                ..Default::default()
            }
            .into(),
            RequestBody::OffsetCommit(r) => {
                for t in &r.topics {
                    for p in &t.partitions {
                        seen.committed.push((
                            t.name.clone(),
                            p.partition_index,
                            p.committed_offset,
                            r.generation_id_or_member_epoch,
                        ));
                    }
                }
                OffsetCommitResponse::default().into()
            }
            RequestBody::LeaveGroup(r) => {
                seen.left = r.members.iter().map(|m| m.member_id.clone()).collect();
                LeaveGroupResponse::default().into()
            }
            _ => return Reply::Close,
        };
        Reply::Now(reply)
    })
    .await;
    *port.lock().unwrap() = fake.addr.rsplit(':').next().unwrap().parse().unwrap();

    let client = Client::connect(&fake.addr, ClientConfig::default())
        .await
        .expect("connects");
    let member = GroupMember::join(&client, "g", vec!["t".into()], GroupTimeouts::default())
        .await
        .expect("joins");
    assert_eq!(member.member_id(), "m-1");
    assert_eq!(member.generation(), 7);
    assert_eq!(
        member.assignment()["t"],
        vec![0, 1],
        "range: the first member gets the extra partition"
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.joins, vec!["".to_string(), "m-1".to_string()]);
        let other = seen.synced.iter().find(|(m, _)| m == "m-2").unwrap();
        assert_eq!(decode_assignment(&other.1).unwrap()["t"], vec![2]);
    }
    assert!(
        !member.heartbeat().await.expect("answered"),
        "a rebalance asks for a rejoin"
    );
    let offsets = [(("t".to_string(), 1), 42)].into_iter().collect();
    member.commit(&offsets).await.expect("commits");
    assert_eq!(
        seen.lock().unwrap().committed,
        vec![("t".to_string(), 1, 42, 7)]
    );
    member.leave().await.expect("leaves");
    assert_eq!(seen.lock().unwrap().left, vec!["m-1".to_string()]);
}
