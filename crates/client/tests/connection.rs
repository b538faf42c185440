//! The connection against an in-process fake broker: version negotiation, pipelining with
//! out-of-order answers, timeouts, disconnects.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use std::time::{Duration, Instant};

use ferry_kafka_client::{ClientConfig, ClientError, Connection};
use ferry_kafka_protocol::messages::{MetadataRequest, MetadataResponse};
use ferry_kafka_protocol::{ApiKey, RequestBody, ResponseBody};
use support::{api_versions, start, Reply};

fn config() -> ClientConfig {
    ClientConfig {
        request_timeout: Duration::from_millis(500),
        ..ClientConfig::default()
    }
}

/// A Metadata request carrying `cluster` as its only topic name, answered with that cluster id,
/// so a test can tell which response answered which request.
fn tagged_metadata(tag: &str) -> MetadataRequest {
    MetadataRequest {
        topics: Some(vec![
            ferry_kafka_protocol::messages::metadata::MetadataRequestTopic {
                name: Some(tag.to_string()),
                ..Default::default()
            },
        ]),
        ..Default::default()
    }
}

fn tag_of(body: &RequestBody) -> String {
    match body {
        RequestBody::Metadata(m) => m
            .topics
            .as_ref()
            .and_then(|t| t[0].name.clone())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn answer(tag: String) -> ResponseBody {
    MetadataResponse {
        cluster_id: Some(tag),
        ..Default::default()
    }
    .into()
}

#[tokio::test]
async fn negotiates_the_highest_common_version() {
    let fake = start(|header, body| match body {
        RequestBody::ApiVersions(_) => {
            assert_eq!(
                header.api_version, 3,
                "asks at the newest ApiVersions first"
            );
            Reply::Now(api_versions(
                &[ApiKey::ApiVersions, ApiKey::Metadata],
                &[(ApiKey::Metadata, 5)],
            ))
        }
        RequestBody::Metadata(_) => {
            assert_eq!(header.api_version, 5);
            Reply::Now(answer("ok".into()))
        }
        _ => Reply::Close,
    })
    .await;
    let conn = Connection::connect(&fake.addr, config())
        .await
        .expect("connects");
    assert_eq!(conn.version(ApiKey::Metadata).unwrap(), 5);
    assert!(matches!(
        conn.version(ApiKey::Produce),
        Err(ClientError::Unsupported { .. })
    ));
    let response = conn.call(tagged_metadata("x")).await.expect("answered");
    assert_eq!(response.cluster_id.as_deref(), Some("ok"));
}

#[tokio::test]
async fn pipelined_requests_get_their_own_responses_in_any_order() {
    let fake = start(|_, body| match body {
        RequestBody::ApiVersions(_) => Reply::Now(api_versions(ApiKey::ALL, &[])),
        body => {
            let tag = tag_of(&body);
            // The last of five is answered first, then the held ones in reverse.
            if tag == "4" {
                Reply::Now(answer(tag))
            } else {
                Reply::Hold(answer(tag))
            }
        }
    })
    .await;
    let conn = Connection::connect(&fake.addr, config())
        .await
        .expect("connects");
    let pending: Vec<_> = (0..5)
        .map(|i| conn.send(tagged_metadata(&i.to_string())).expect("queued"))
        .collect();
    for (i, p) in pending.into_iter().enumerate() {
        let response = p.wait().await.expect("answered");
        assert_eq!(response.cluster_id, Some(i.to_string()));
    }
}

#[tokio::test]
async fn an_unanswered_request_times_out() {
    let fake = start(|_, body| match body {
        RequestBody::ApiVersions(_) => Reply::Now(api_versions(ApiKey::ALL, &[])),
        _ => Reply::Never,
    })
    .await;
    let conn = Connection::connect(&fake.addr, config())
        .await
        .expect("connects");
    let start = Instant::now();
    let error = conn
        .call(tagged_metadata("x"))
        .await
        .expect_err("no answer");
    assert!(matches!(error, ClientError::Timeout { .. }), "{error}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_closed_connection_fails_waiting_and_later_requests() {
    let fake = start(|_, body| match body {
        RequestBody::ApiVersions(_) => Reply::Now(api_versions(ApiKey::ALL, &[])),
        _ => Reply::Close,
    })
    .await;
    let conn = Connection::connect(&fake.addr, config())
        .await
        .expect("connects");
    let error = conn.call(tagged_metadata("x")).await.expect_err("closed");
    assert!(matches!(error, ClientError::Disconnected { .. }), "{error}");
    assert!(conn.is_closed());
    assert!(conn.send(tagged_metadata("y")).is_err());
}

#[tokio::test]
async fn an_older_broker_gets_api_versions_v0() {
    let fake = start(|header, body| match body {
        RequestBody::ApiVersions(_) if header.api_version > 0 => {
            // What an old broker answers: UNSUPPORTED_VERSION (35), at v0.
            let mut r = api_versions(&[ApiKey::ApiVersions], &[]);
            if let ResponseBody::ApiVersions(v) = &mut r {
                v.error_code = 35;
            }
            Reply::Now(r)
        }
        RequestBody::ApiVersions(_) => Reply::Now(api_versions(
            &[ApiKey::ApiVersions, ApiKey::Metadata],
            &[(ApiKey::Metadata, 1)],
        )),
        _ => Reply::Close,
    })
    .await;
    let conn = Connection::connect(&fake.addr, config())
        .await
        .expect("connects");
    assert_eq!(conn.version(ApiKey::Metadata).unwrap(), 1);
}

#[tokio::test]
async fn connecting_to_nothing_fails_fast() {
    let error = Connection::connect("127.0.0.1:1", config())
        .await
        .err()
        .expect("refused");
    assert!(matches!(error, ClientError::Connect { .. }), "{error}");
}
