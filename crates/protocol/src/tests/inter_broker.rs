//! Byte-exact vectors for the inter-broker APIs (LeaderAndIsr, StopReplica,
//! UpdateMetadata, ControlledShutdown), written by hand from Kafka's JSON
//! schemas: each decodes to the expected fields and re-encodes to the same
//! bytes.

use bytes::Bytes;

use crate::body::{Message, RequestBody, ResponseBody};
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

const TOPIC_ID: &str = "000102030405060708090a0b0c0d0e0f";

fn topic_id() -> Uuid {
    Uuid(core::array::from_fn(|i| i as u8))
}

/// Decodes `frame` as a request, checks it re-encodes to the same bytes
/// and returns the body.
fn request(frame: &[u8]) -> (RequestHeader, RequestBody) {
    let (h, body) = decode_request(frame).unwrap();
    assert_eq!(&encode_request(&h, &body).unwrap()[..], frame);
    (h, body)
}

/// Decodes a body at `version`, checks every byte is read and that it
/// re-encodes to the same bytes.
fn body<M: Message>(bytes: &[u8], version: i16) -> M {
    let mut r = Reader::new(Bytes::copy_from_slice(bytes));
    let m = M::decode(&mut r, version).unwrap();
    assert_eq!(r.remaining(), 0, "trailing bytes");
    let mut out = Out::contiguous();
    m.encode(version, &mut out).unwrap();
    assert_eq!(&out.into_contiguous()[..], bytes);
    m
}

#[test]
fn leader_and_isr_v5_request_frame() {
    let frame = hex(&format!(
        "0004 0005 00000001 0001 63 00
         00000001 00000002 0000000000000010 00
         02 02 74 {TOPIC_ID}
            02 00000000 00000002 00000001 00000005 03 00000001 00000002
               00000007 03 00000001 00000002 01 01 01 00
            00
         02 00000001 02 68 00002384 00
         00"
    ));
    let (h, body) = request(&frame);
    assert_eq!((h.api_key, h.api_version, h.correlation_id), (4, 5, 1));
    let RequestBody::LeaderAndIsr(req) = body else {
        panic!("{body:?}")
    };
    assert_eq!((req.controller_id, req.controller_epoch), (1, 2));
    assert_eq!((req.broker_epoch, req.r#type), (16, 0));
    assert!(req.ungrouped_partition_states.is_empty());
    let topic = &req.topic_states[0];
    assert_eq!(
        (topic.topic_name.as_str(), topic.topic_id),
        ("t", topic_id())
    );
    let p = &topic.partition_states[0];
    assert_eq!(p.topic_name, "", "no topic name per partition in v2+");
    assert_eq!(
        (
            p.partition_index,
            p.controller_epoch,
            p.leader,
            p.leader_epoch
        ),
        (0, 2, 1, 5)
    );
    assert_eq!((&p.isr[..], &p.replicas[..]), (&[1, 2][..], &[1, 2][..]));
    assert_eq!(p.partition_epoch, 7);
    assert!(p.adding_replicas.is_empty() && p.removing_replicas.is_empty());
    assert!(p.is_new);
    let leader = &req.live_leaders[0];
    assert_eq!(
        (leader.broker_id, leader.host_name.as_str(), leader.port),
        (1, "h", 9092)
    );
}

#[test]
fn leader_and_isr_v1_request_lists_partitions_ungrouped() {
    let bytes = hex("00000001 00000002
         00000001 0001 74 00000003 00000002 00000001 00000005
            00000001 00000001 00000007 00000001 00000001 01
         00000001 00000001 0001 68 00002384");
    let req: LeaderAndIsrRequest = body(&bytes, 1);
    assert_eq!(req.broker_epoch, -1, "default where absent");
    assert!(req.topic_states.is_empty());
    let p = &req.ungrouped_partition_states[0];
    assert_eq!((p.topic_name.as_str(), p.partition_index), ("t", 3));
    assert_eq!((&p.isr[..], p.partition_epoch), (&[1][..], 7));
    assert!(p.is_new);
    // v0 has no is_new.
    let mut v0 = Out::contiguous();
    req.encode(0, &mut v0).unwrap();
    assert_eq!(v0.len(), bytes.len() - 1);
}

#[test]
fn leader_and_isr_responses_group_by_topic_id_from_v5() {
    let v5 = hex(&format!("0000 02 {TOPIC_ID} 02 00000000 0000 00 00 00"));
    let resp: LeaderAndIsrResponse = body(&v5, 5);
    assert!(resp.partition_errors.is_empty());
    assert_eq!(resp.topics[0].topic_id, topic_id());
    assert_eq!(resp.topics[0].partition_errors[0].topic_name, "");
    let v4 = hex("0000 02 02 74 00000000 0000 00 00");
    let resp: LeaderAndIsrResponse = body(&v4, 4);
    assert!(resp.topics.is_empty());
    assert_eq!(resp.partition_errors[0].topic_name, "t");
    let v0 = hex("0000 00000001 0001 74 00000000 0000");
    let resp: LeaderAndIsrResponse = body(&v0, 0);
    assert_eq!(resp.partition_errors[0].topic_name, "t");
    // Response header v1 (tag section) from v4.
    let frame = encode_response(3, 4, &resp.into()).unwrap();
    assert_eq!(&frame.to_vec().unwrap()[..5], &hex("00000003 00")[..]);
}

#[test]
fn stop_replica_v3_request_frame() {
    let frame = hex("0005 0003 00000003 0001 63 00
         00000001 00000002 0000000000000010
         02 02 74 02 00000000 00000005 01 00 00
         00");
    let (h, body) = request(&frame);
    assert_eq!(h.client_id.as_deref(), Some("c"));
    let RequestBody::StopReplica(req) = body else {
        panic!("{body:?}")
    };
    assert_eq!(
        (req.controller_id, req.controller_epoch, req.broker_epoch),
        (1, 2, 16)
    );
    assert!(!req.delete_partitions, "absent in v3");
    let topic = &req.topic_states[0];
    assert_eq!(topic.topic_name, "t");
    let p = &topic.partition_states[0];
    assert_eq!(
        (p.partition_index, p.leader_epoch, p.delete_partition),
        (0, 5, true)
    );
}

#[test]
fn stop_replica_v0_to_v2_request_layouts() {
    let v0 = hex("00000001 00000002 01 00000001 0001 74 00000000");
    let req: StopReplicaRequest = body(&v0, 0);
    assert!(req.delete_partitions);
    assert_eq!(req.broker_epoch, -1);
    let p = &req.ungrouped_partitions[0];
    assert_eq!((p.topic_name.as_str(), p.partition_index), ("t", 0));

    let v1 = hex("00000001 00000002 0000000000000010 00
         00000001 0001 74 00000002 00000000 00000001");
    let req: StopReplicaRequest = body(&v1, 1);
    assert!(req.ungrouped_partitions.is_empty());
    assert_eq!(req.topics[0].name, "t");
    assert_eq!(req.topics[0].partition_indexes, [0, 1]);

    // v2: the same fields, flexible.
    let v2 = hex("00000001 00000002 0000000000000010 00 02 02 74 03 00000000 00000001 00 00");
    assert_eq!(body::<StopReplicaRequest>(&v2, 2), req);

    let resp = hex("0000 02 02 74 00000000 0000 00 00");
    let resp: StopReplicaResponse = body(&resp, 2);
    assert_eq!(resp.partition_errors[0].topic_name, "t");
}

#[test]
fn update_metadata_v7_request_frame() {
    let frame = hex(&format!(
        "0006 0007 00000002 0001 63 00
         00000001 00000002 0000000000000010
         02 02 74 {TOPIC_ID}
            02 00000000 00000002 00000001 00000005 02 00000001 00000007 02 00000001 01 00
            00
         02 00000001
            02 00002384 02 68 0a 504c41494e54455854 0000 00
            00 00
         00"
    ));
    let (h, body) = request(&frame);
    assert_eq!((h.api_key, h.api_version), (6, 7));
    let RequestBody::UpdateMetadata(req) = body else {
        panic!("{body:?}")
    };
    assert_eq!(
        (req.controller_id, req.controller_epoch, req.broker_epoch),
        (1, 2, 16)
    );
    assert!(req.ungrouped_partition_states.is_empty());
    let topic = &req.topic_states[0];
    assert_eq!(
        (topic.topic_name.as_str(), topic.topic_id),
        ("t", topic_id())
    );
    let p = &topic.partition_states[0];
    assert_eq!(p.topic_name, "");
    assert_eq!((p.leader, p.leader_epoch, p.zk_version), (1, 5, 7));
    assert_eq!((&p.isr[..], &p.replicas[..]), (&[1][..], &[1][..]));
    assert!(p.offline_replicas.is_empty());
    let broker = &req.live_brokers[0];
    assert_eq!(broker.id, 1);
    assert_eq!(broker.rack, None);
    let e = &broker.endpoints[0];
    assert_eq!(
        (
            e.port,
            e.host.as_str(),
            e.listener.as_str(),
            e.security_protocol
        ),
        (9092, "h", "PLAINTEXT", 0)
    );
}

#[test]
fn update_metadata_v0_request_has_one_host_per_broker() {
    let v0 = hex("00000001 00000002
         00000001 0001 74 00000000 00000002 00000001 00000005
            00000001 00000001 00000007 00000001 00000001
         00000001 00000001 0001 68 00002384");
    let req: UpdateMetadataRequest = body(&v0, 0);
    assert_eq!(req.ungrouped_partition_states[0].topic_name, "t");
    let broker = &req.live_brokers[0];
    assert_eq!((broker.v0_host.as_str(), broker.v0_port), ("h", 9092));
    assert!(broker.endpoints.is_empty());
    assert_eq!(
        broker.rack.as_deref(),
        Some(""),
        "schema default where absent"
    );

    // v2 adds the (nullable) rack after the endpoints.
    let v2 = hex("00000001 00000002 00000000
         00000001 00000001 00000001 00002384 0001 68 0000 ffff");
    let req: UpdateMetadataRequest = body(&v2, 2);
    assert_eq!(req.live_brokers[0].rack, None);
    assert_eq!(req.live_brokers[0].endpoints[0].listener, "");

    let resp: UpdateMetadataResponse = body(&hex("0000 00"), 7);
    assert_eq!(resp.error_code, 0);
}

#[test]
fn controlled_shutdown_request_frames() {
    let v3 = hex("0007 0003 00000004 0001 63 00 00000001 0000000000000010 00");
    let (_, body) = request(&v3);
    assert_eq!(
        body,
        RequestBody::ControlledShutdown(ControlledShutdownRequest {
            broker_id: 1,
            broker_epoch: 16,
            ..Default::default()
        })
    );
    let v1 = hex("0007 0001 00000004 0001 63 00000001");
    let (h, body) = request(&v1);
    assert_eq!(h.client_id.as_deref(), Some("c"));
    let RequestBody::ControlledShutdown(req) = body else {
        panic!("{body:?}")
    };
    assert_eq!((req.broker_id, req.broker_epoch), (1, -1));
    // v0's header has no client id: not supported.
    let v0 = hex("0007 0000 00000004 00000001");
    assert_eq!(
        decode_request(&v0).unwrap_err(),
        ProtocolError::UnsupportedVersion {
            api_key: 7,
            api_version: 0,
            correlation_id: 4
        }
    );
}

#[test]
fn controlled_shutdown_v3_response_frame() {
    let frame = hex("00000004 00 0000 02 02 74 00000001 00 00");
    let (h, body) =
        decode_response(ApiKey::ControlledShutdown, 3, Bytes::from(frame.clone())).unwrap();
    assert_eq!(h.correlation_id, 4);
    let ResponseBody::ControlledShutdown(resp) = &body else {
        panic!("{body:?}")
    };
    let p = &resp.remaining_partitions[0];
    assert_eq!((p.topic_name.as_str(), p.partition_index), ("t", 1));
    assert_eq!(
        encode_response(4, 3, &body).unwrap().to_vec().unwrap(),
        frame
    );
}
