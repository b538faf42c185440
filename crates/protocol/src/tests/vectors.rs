//! Byte-exact vectors: frames as real clients (librdkafka, sarama) write
//! them, and the header rules.

use bytes::Bytes;

use crate::body::{RequestBody, ResponseBody};
use crate::messages::metadata::MetadataRequestTopic;
use crate::messages::produce::{PartitionProduceData, TopicProduceData};
use crate::messages::*;
use crate::primitives::Reader;
use crate::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn api_versions_v3_request_as_librdkafka_sends_it() {
    let frame = hex("0012 0003 00000001 0007 72646b61666b61 00
         0b 6c696272646b61666b61 06 322e302e32 00");
    let (h, body) = decode_request(&frame).unwrap();
    assert_eq!((h.api_key, h.api_version, h.correlation_id), (18, 3, 1));
    assert_eq!(h.client_id.as_deref(), Some("rdkafka"));
    let RequestBody::ApiVersions(req) = &body else {
        panic!("{body:?}")
    };
    assert_eq!(req.client_software_name, "librdkafka");
    assert_eq!(req.client_software_version, "2.0.2");
    assert_eq!(&encode_request(&h, &body).unwrap()[..], &frame[..]);
}

#[test]
fn metadata_v1_request_bytes() {
    let req = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some("test".into()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let header = RequestHeader {
        api_version: 1,
        correlation_id: 2,
        client_id: Some("c".into()),
        ..Default::default()
    };
    let frame = encode_request(&header, &req.into()).unwrap();
    assert_eq!(
        &frame[..],
        &hex("0003 0001 00000002 0001 63 00000001 0004 74657374")[..]
    );
    // null topic list (all topics) in v1
    let all = MetadataRequest {
        topics: None,
        ..Default::default()
    };
    let frame = encode_request(&header, &all.clone().into()).unwrap();
    assert_eq!(&frame[11..], &hex("ffffffff")[..]);
    assert_eq!(
        decode_request(&frame).unwrap().1,
        RequestBody::Metadata(all.clone())
    );
    // but not in v0
    let v0 = RequestHeader {
        api_version: 0,
        ..header
    };
    assert!(matches!(
        encode_request(&v0, &all.into()),
        Err(ProtocolError::NullNotAllowed { .. })
    ));
}

/// An acks=all Produce of `records` to partition 0 of topic `t`.
fn produce_to_t0(records: Bytes) -> ProduceRequest {
    ProduceRequest {
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![TopicProduceData {
            name: "t".into(),
            partition_data: vec![PartitionProduceData {
                index: 0,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn produce_v3_request_keeps_records_untouched() {
    let records = Bytes::from_static(b"\x00\x00\x00\x00\x00\x00\x00\x00opaque batch");
    let req = produce_to_t0(records.clone());
    let header = RequestHeader {
        api_version: 3,
        correlation_id: 5,
        client_id: Some("p".into()),
        ..Default::default()
    };
    let frame = encode_request(&header, &req.clone().into()).unwrap();
    let mut expected = hex(
        "0000 0003 00000005 0001 70 ffff ffff 00007530 00000001 0001 74 00000001 00000000 00000014",
    );
    expected.extend_from_slice(&records);
    assert_eq!(&frame[..], &expected[..]);
    let (h, body) = decode_request_bytes(frame.freeze()).unwrap();
    assert_eq!(
        h,
        RequestHeader {
            api_key: 0,
            ..header
        }
    );
    assert_eq!(body, RequestBody::Produce(req));
}

#[test]
fn api_versions_v3_response_uses_header_v0_and_omits_default_tags() {
    let resp = ApiVersionsResponse {
        api_keys: vec![api_versions::ApiVersion {
            api_key: 18,
            min_version: 0,
            max_version: 3,
            ..Default::default()
        }],
        ..Default::default()
    };
    let frame = encode_response(7, 3, &resp.into()).unwrap();
    // corr id, error 0, compact array of 1, (18, 0, 3, no tags), throttle 0, no tags
    assert_eq!(
        frame.to_vec().unwrap(),
        hex("00000007 0000 02 0012 0000 0003 00 00000000 00")
    );
}

#[test]
fn unsupported_versions_and_keys_are_distinct_errors() {
    let frame = hex("0012 0063 0000002a 0000");
    assert_eq!(
        decode_request(&frame).unwrap_err(),
        ProtocolError::UnsupportedVersion {
            api_key: 18,
            api_version: 99,
            correlation_id: 42
        }
    );
    let frame = hex("0fff 0000 0000002a 0000");
    assert_eq!(
        decode_request(&frame).unwrap_err(),
        ProtocolError::UnsupportedApiKey {
            api_key: 0x0fff,
            correlation_id: 42
        }
    );
    let fallback = api_versions_fallback(42).unwrap();
    let fallback = Bytes::from(fallback.to_vec().unwrap());
    assert_eq!(&fallback[..6], &hex("0000002a 0023")[..]);
    let (_, body) = decode_response(ApiKey::ApiVersions, 0, fallback).unwrap();
    let ResponseBody::ApiVersions(r) = body else {
        panic!()
    };
    assert_eq!(r.api_keys.len(), ApiKey::ALL.len());
}

#[test]
fn unknown_tagged_fields_survive() {
    // ApiVersions v3 request body with an unknown tag 7 = [0xaa]
    let frame = hex("0012 0003 00000001 ffff 00 02 61 02 62 01 07 01 aa");
    let (h, body) = decode_request(&frame).unwrap();
    let RequestBody::ApiVersions(req) = &body else {
        panic!()
    };
    assert_eq!(req.unknown_tagged_fields.len(), 1);
    assert_eq!(&encode_request(&h, &body).unwrap()[..], &frame[..]);
}

#[test]
fn fetch_v12_known_tagged_field_is_decoded() {
    let mut resp = FetchResponse::default();
    resp.responses.push(fetch::FetchableTopicResponse {
        topic: "t".into(),
        partitions: vec![fetch::FetchPartitionData {
            diverging_epoch: fetch::EpochEndOffset {
                epoch: 3,
                end_offset: 10,
                ..Default::default()
            },
            ..Default::default()
        }],
        ..Default::default()
    });
    let frame = encode_response(1, 12, &resp.clone().into()).unwrap();
    let (_, body) = decode_response(ApiKey::Fetch, 12, frame.to_vec().unwrap().into()).unwrap();
    assert_eq!(body, ResponseBody::Fetch(resp));
}

#[test]
fn join_group_v5_request_as_sarama_writes_it() {
    let body = hex("0009 546573744772 6f7570 00000064 000000c8
         000b 4f6e6550726f746f636f6c 0003 676964
         0008 636f6e73756d6572 00000001 0003 6f6e65 00000003 010203");
    let req = JoinGroupRequest::decode(&mut Reader::new(Bytes::from(body.clone())), 5).unwrap();
    assert_eq!(req.group_id, "TestGroup");
    assert_eq!(
        (req.session_timeout_ms, req.rebalance_timeout_ms),
        (100, 200)
    );
    assert_eq!(req.member_id, "OneProtocol");
    assert_eq!(req.group_instance_id.as_deref(), Some("gid"));
    assert_eq!(req.protocols[0].name, "one");
    assert_eq!(&req.protocols[0].metadata[..], &[1, 2, 3]);
    let mut out = Out::contiguous();
    req.encode(5, &mut out).unwrap();
    assert_eq!(&out[..], &body[..]);
}

#[test]
fn fetch_v4_response_as_sarama_reads_it() {
    let message_set = hex("0000000000550000 00000010 23964af7 00 00 ffffffff 00000002 00ee");
    let mut body = hex("00000000 00000001 0005 746f706963 00000001 00000005 0001
         0000000010101010 0000000010101010 00000000 0000001c");
    body.extend_from_slice(&message_set);
    let resp = FetchResponse::decode(&mut Reader::new(Bytes::from(body.clone())), 4).unwrap();
    let p = &resp.responses[0].partitions[0];
    assert_eq!(
        (p.partition_index, p.error_code),
        (5, ErrorCode::OffsetOutOfRange.code())
    );
    assert_eq!(
        (p.high_watermark, p.last_stable_offset),
        (0x1010_1010, 0x1010_1010)
    );
    assert_eq!(p.aborted_transactions, Some(vec![]));
    assert_eq!(p.record_bytes(), &message_set[..]);
    let mut out = Out::contiguous();
    resp.encode(4, &mut out).unwrap();
    assert_eq!(&out[..], &body[..]);
}

#[test]
fn metadata_v10_flexible_request_as_sarama_writes_it() {
    let uuid0 = "00000000000000000000000000000000";
    let body = hex(&format!(
        "03 {uuid0} 07 746f70696331 00 {uuid0} 07 746f70696332 00 01 01 01 00"
    ));
    let req = MetadataRequest::decode(&mut Reader::new(Bytes::from(body.clone())), 10).unwrap();
    let names: Vec<_> = req
        .topics
        .iter()
        .flatten()
        .map(|t| t.name.as_deref())
        .collect();
    assert_eq!(names, [Some("topic1"), Some("topic2")]);
    assert!(req.allow_auto_topic_creation);
    assert!(req.include_cluster_authorized_operations && req.include_topic_authorized_operations);
    let mut out = Out::contiguous();
    req.encode(10, &mut out).unwrap();
    assert_eq!(&out[..], &body[..]);
    // v11 dropped include_cluster_authorized_operations
    let mut v11 = Out::contiguous();
    req.encode(11, &mut v11).unwrap();
    assert_eq!(v11.len(), body.len() - 1);
}

/// ElectLeaders as the Java admin client sends it for kafka-leader-election.sh (written from
/// Kafka's schema): v2 is flexible; a v0 request with null partitions means every partition;
/// a v1 response carries a top-level error code and per-partition messages.
#[test]
fn elect_leaders_request_and_response_bytes() {
    let frame = hex("002b 0002 00000007 0001 63 00
         00 02 02 74 03 00000000 00000001 00 0000ea60 00");
    let (h, body) = decode_request(&frame).unwrap();
    assert_eq!((h.api_key, h.api_version, h.correlation_id), (43, 2, 7));
    let RequestBody::ElectLeaders(req) = &body else {
        panic!("{body:?}")
    };
    assert_eq!((req.election_type, req.timeout_ms), (0, 60000));
    let topics = req.topic_partitions.as_deref().unwrap();
    assert_eq!(
        (topics[0].topic.as_str(), &topics[0].partition_id[..]),
        ("t", &[0, 1][..])
    );
    assert_eq!(&encode_request(&h, &body).unwrap()[..], &frame[..]);

    let all = hex("ffffffff 0000ea60");
    let req = ElectLeadersRequest::decode(&mut Reader::new(Bytes::from(all.clone())), 0).unwrap();
    assert_eq!(req.topic_partitions, None);
    let mut out = Out::contiguous();
    req.encode(0, &mut out).unwrap();
    assert_eq!(&out[..], &all[..]);

    let answer = hex("00000000 0000 00000001 0001 74 00000002
         00000000 0000 ffff  00000001 0054 0001 78");
    let resp =
        ElectLeadersResponse::decode(&mut Reader::new(Bytes::from(answer.clone())), 1).unwrap();
    let results = &resp.replica_election_results[0].partition_result;
    assert_eq!(
        (results[0].error_code, results[0].error_message.as_deref()),
        (0, None)
    );
    assert_eq!(
        ErrorCode::from_code(results[1].error_code),
        Some(ErrorCode::ElectionNotNeeded)
    );
    assert_eq!(results[1].error_message.as_deref(), Some("x"));
    let mut out = Out::contiguous();
    resp.encode(1, &mut out).unwrap();
    assert_eq!(&out[..], &answer[..]);
}

/// DescribeLogDirs as kafka-log-dirs.sh sends it (written from Kafka's schema): v2 is flexible;
/// v0 with null topics means every partition; v4's answer carries the directory's total and
/// usable bytes (-1: unknown).
#[test]
fn describe_log_dirs_request_and_response_bytes() {
    let frame = hex("0023 0002 00000007 0001 63 00
         02 02 74 02 00000000 00 00");
    let (h, body) = decode_request(&frame).unwrap();
    assert_eq!((h.api_key, h.api_version, h.correlation_id), (35, 2, 7));
    let RequestBody::DescribeLogDirs(req) = &body else {
        panic!("{body:?}")
    };
    let topics = req.topics.as_deref().unwrap();
    assert_eq!(
        (topics[0].topic.as_str(), &topics[0].partitions[..]),
        ("t", &[0][..])
    );
    assert_eq!(&encode_request(&h, &body).unwrap()[..], &frame[..]);

    let all = hex("ffffffff");
    let req =
        DescribeLogDirsRequest::decode(&mut Reader::new(Bytes::from(all.clone())), 0).unwrap();
    assert_eq!(req.topics, None);

    let answer = hex("00000000 0000 02
         0000 03 2f64 02 02 74 02 00000000 0000000000000064 0000000000000000 00 00 00
         ffffffffffffffff ffffffffffffffff 00 00");
    let resp =
        DescribeLogDirsResponse::decode(&mut Reader::new(Bytes::from(answer.clone())), 4).unwrap();
    let dir = &resp.results[0];
    assert_eq!((dir.log_dir.as_str(), dir.total_bytes), ("/d", -1));
    assert_eq!(dir.topics[0].partitions[0].partition_size, 100);
    let mut out = Out::contiguous();
    resp.encode(4, &mut out).unwrap();
    assert_eq!(&out[..], &answer[..]);
}

/// AlterPartitionReassignments and ListPartitionReassignments as kafka-reassign-partitions.sh
/// sends them (written from Kafka's schemas, KIP-455): v0 is flexible; a null replica list
/// cancels a partition's reassignment; the list answer has the replicas being added and
/// removed.
#[test]
fn partition_reassignments_bytes() {
    let frame = hex("002d 0000 00000009 0001 63 00
         0000ea60 02 02 74 03
         00000000 04 00000001 00000002 00000003 00
         00000001 00 00
         00 00");
    let (h, body) = decode_request(&frame).unwrap();
    assert_eq!((h.api_key, h.api_version, h.correlation_id), (45, 0, 9));
    let RequestBody::AlterPartitionReassignments(req) = &body else {
        panic!("{body:?}")
    };
    let partitions = &req.topics[0].partitions;
    assert_eq!(partitions[0].replicas.as_deref(), Some(&[1, 2, 3][..]));
    assert_eq!(
        (partitions[1].partition_index, &partitions[1].replicas),
        (1, &None)
    );
    assert_eq!(&encode_request(&h, &body).unwrap()[..], &frame[..]);

    let answer = hex("00000000 0000 00 02 02 74 02
         00000000 05 00000001 00000002 00000003 00000004 02 00000004 02 00000001 00
         00 00");
    let resp = ListPartitionReassignmentsResponse::decode(
        &mut Reader::new(Bytes::from(answer.clone())),
        0,
    )
    .unwrap();
    let ongoing = &resp.topics[0].partitions[0];
    assert_eq!(ongoing.replicas, vec![1, 2, 3, 4]);
    assert_eq!(
        (&ongoing.adding_replicas[..], &ongoing.removing_replicas[..]),
        (&[4][..], &[1][..])
    );
    let mut out = Out::contiguous();
    resp.encode(0, &mut out).unwrap();
    assert_eq!(&out[..], &answer[..]);
}

#[test]
fn a_produce_request_in_parts_is_the_same_frame_with_its_records_not_copied() {
    let records = Bytes::from(vec![0x5a; 10_000]);
    let req = produce_to_t0(records.clone());
    let header = RequestHeader {
        api_version: 9,
        correlation_id: 5,
        client_id: Some("c".into()),
        ..Default::default()
    };
    let body: RequestBody = req.into();
    let parts = encode_request_parts(&header, &body).unwrap();
    assert_eq!(
        parts.to_vec().unwrap(),
        &encode_request(&header, &body).unwrap()[..]
    );
    assert!(
        parts.parts().contains(&Part::Bytes(records)),
        "{:?}",
        parts.parts()
    );
    let framed = parts.clone().framed();
    assert_eq!(
        framed[0],
        Part::Bytes(Bytes::from((parts.len() as u32).to_be_bytes().to_vec()))
    );
}
