//! Idempotent producers and the smaller APIs beside them (OffsetForLeaderEpoch,
//! DeleteRecords, SaslHandshake, DescribeCluster), over TCP on the harness of `broker.rs`.

use ferry_kafka_protocol::messages::{
    delete_records, offset_for_leader_epoch, DeleteRecordsRequest, DescribeClusterRequest,
    InitProducerIdRequest, InitProducerIdResponse, OffsetForLeaderEpochRequest,
    SaslHandshakeRequest,
};

use super::*;

async fn init_producer_id(
    conn: &mut Conn,
    version: i16,
    transactional_id: Option<&str>,
    current: (i64, i16),
) -> InitProducerIdResponse {
    let request = InitProducerIdRequest {
        transactional_id: transactional_id.map(str::to_string),
        transaction_timeout_ms: 60_000,
        producer_id: current.0,
        producer_epoch: current.1,
        ..Default::default()
    };
    match conn.call(version, request.into()).await {
        ResponseBody::InitProducerId(r) => r,
        other => panic!("unexpected {other:?}"),
    }
}

fn idempotent_batch(producer_id: i64, epoch: i16, base_sequence: i32, values: &[&str]) -> Vec<u8> {
    let mut b = BatchBuilder::new(1_700_000_000_000).producer(producer_id, epoch, base_sequence);
    for v in values {
        b.append(Some(b"k"), Some(v.as_bytes()), 1_700_000_000_000);
    }
    b.build()
}

#[tokio::test]
async fn idempotent_retries_are_written_once_and_gaps_refused() {
    let (addr, _dir) = start().await;
    let mut conn = Conn::open(&addr).await;
    create_topic(&mut conn, "idem").await;

    let first = init_producer_id(&mut conn, 1, None, (-1, -1)).await;
    assert_eq!(first.error_code, 0);
    assert!(first.producer_id >= 0);
    assert_eq!(first.producer_epoch, 0);
    let second = init_producer_id(&mut conn, 4, None, (-1, -1)).await;
    assert_eq!(second.error_code, 0);
    assert_ne!(
        second.producer_id, first.producer_id,
        "ids are never reused"
    );

    let pid = first.producer_id;
    let sent = idempotent_batch(pid, 0, 0, &["a", "b", "c"]);
    let answer = produce(&mut conn, "idem", sent.clone()).await;
    assert_eq!((answer.error_code, answer.base_offset), (0, 0));
    produce(&mut conn, "idem", batch(&["plain"])).await; // offset 3, not idempotent
                                                         // The retry (a lost response) gets the original offset and is not written again.
    let retry = produce(&mut conn, "idem", sent).await;
    assert_eq!((retry.error_code, retry.base_offset), (0, 0));
    let next = produce(&mut conn, "idem", idempotent_batch(pid, 0, 3, &["d"])).await;
    assert_eq!((next.error_code, next.base_offset), (0, 4));
    let data = fetch(&mut conn, "idem", 0, 0).await;
    assert_eq!(data.high_watermark, 5);
    assert_eq!(summarize(data.record_bytes()), (0, 5));

    let gap = produce(&mut conn, "idem", idempotent_batch(pid, 0, 7, &["x"])).await;
    assert_eq!(gap.error_code, ErrorCode::OutOfOrderSequenceNumber.code());
    assert_eq!(gap.base_offset, -1);

    // v3+: re-init with the current id and epoch bumps the epoch; the old epoch is fenced.
    let bumped = init_producer_id(&mut conn, 3, None, (pid, 0)).await;
    assert_eq!(
        (bumped.error_code, bumped.producer_id, bumped.producer_epoch),
        (0, pid, 1)
    );
    let restarted = produce(&mut conn, "idem", idempotent_batch(pid, 1, 0, &["e"])).await;
    assert_eq!((restarted.error_code, restarted.base_offset), (0, 5));
    let zombie = produce(&mut conn, "idem", idempotent_batch(pid, 0, 4, &["z"])).await;
    assert_eq!(zombie.error_code, ErrorCode::InvalidProducerEpoch.code());
    assert_eq!(fetch(&mut conn, "idem", 0, 0).await.high_watermark, 6);

    // No transaction coordinator: transactional producers are refused with a fatal error.
    let txn = init_producer_id(&mut conn, 1, Some("my-txn"), (-1, -1)).await;
    assert_eq!(
        txn.error_code,
        ErrorCode::TransactionalIdAuthorizationFailed.code()
    );
    assert_eq!(txn.producer_id, -1);
}

async fn end_offset(
    conn: &mut Conn,
    version: i16,
    topic: &str,
    current_leader_epoch: i32,
    leader_epoch: i32,
) -> offset_for_leader_epoch::EpochEndOffsetResult {
    let request = OffsetForLeaderEpochRequest {
        replica_id: -1,
        topics: vec![offset_for_leader_epoch::OffsetForLeaderTopic {
            topic: topic.to_string(),
            partitions: vec![offset_for_leader_epoch::OffsetForLeaderPartition {
                partition: 0,
                current_leader_epoch,
                leader_epoch,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    match conn.call(version, request.into()).await {
        ResponseBody::OffsetForLeaderEpoch(mut r) => r.topics.remove(0).partitions.remove(0),
        other => panic!("unexpected {other:?}"),
    }
}

async fn delete_records(
    conn: &mut Conn,
    topic: &str,
    offset: i64,
) -> delete_records::DeleteRecordsPartitionResult {
    let request = DeleteRecordsRequest {
        topics: vec![delete_records::DeleteRecordsTopic {
            name: topic.to_string(),
            partitions: vec![delete_records::DeleteRecordsPartition {
                partition_index: 0,
                offset,
                ..Default::default()
            }],
            ..Default::default()
        }],
        timeout_ms: 1000,
        ..Default::default()
    };
    match conn.call(2, request.into()).await {
        ResponseBody::DeleteRecords(mut r) => r.topics.remove(0).partitions.remove(0),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn offset_for_leader_epoch_and_delete_records() {
    let (addr, _dir) = start().await;
    let mut conn = Conn::open(&addr).await;
    create_topic(&mut conn, "epochs").await;

    // A new leader records its epoch's start at once (Kafka's makeLeader), so even an empty
    // log knows epoch 0, ending at its log end.
    let empty = end_offset(&mut conn, 3, "epochs", -1, 0).await;
    assert_eq!(
        (empty.error_code, empty.leader_epoch, empty.end_offset),
        (0, 0, 0)
    );

    produce(&mut conn, "epochs", batch(&["a", "b"])).await;
    produce(&mut conn, "epochs", batch(&["c", "d", "e"])).await;
    for version in 0..=4 {
        let r = end_offset(&mut conn, version, "epochs", -1, 0).await;
        assert_eq!(r.error_code, 0, "v{version}");
        assert_eq!(r.end_offset, 5, "v{version}");
        if version >= 1 {
            assert_eq!(r.leader_epoch, 0);
        }
    }
    let current = end_offset(&mut conn, 3, "epochs", 0, 0).await;
    assert_eq!((current.error_code, current.end_offset), (0, 5));
    let newer = end_offset(&mut conn, 3, "epochs", -1, 7).await;
    assert_eq!((newer.leader_epoch, newer.end_offset), (-1, -1));
    let ahead = end_offset(&mut conn, 3, "epochs", 1, 0).await;
    assert_eq!(ahead.error_code, ErrorCode::UnknownLeaderEpoch.code());
    let stale = end_offset(&mut conn, 3, "epochs", -2, 0).await;
    assert_eq!(stale.error_code, ErrorCode::FencedLeaderEpoch.code());
    let unknown = end_offset(&mut conn, 3, "no-such-topic", -1, 0).await;
    assert_eq!(
        unknown.error_code,
        ErrorCode::UnknownTopicOrPartition.code()
    );

    let deleted = delete_records(&mut conn, "epochs", 2).await;
    assert_eq!((deleted.error_code, deleted.low_watermark), (0, 2));
    let beyond = delete_records(&mut conn, "epochs", 6).await;
    assert_eq!(beyond.error_code, ErrorCode::OffsetOutOfRange.code());
    let backwards = delete_records(&mut conn, "epochs", 1).await;
    assert_eq!((backwards.error_code, backwards.low_watermark), (0, 2));
    let below = fetch(&mut conn, "epochs", 0, 0).await;
    assert_eq!(below.error_code, ErrorCode::OffsetOutOfRange.code());
    let from_start = fetch(&mut conn, "epochs", 2, 0).await;
    assert_eq!(from_start.log_start_offset, 2);
    let all = delete_records(&mut conn, "epochs", -1).await;
    assert_eq!((all.error_code, all.low_watermark), (0, 5));
    let after = fetch(&mut conn, "epochs", 5, 0).await;
    assert_eq!((after.error_code, after.log_start_offset), (0, 5));
}

#[tokio::test]
async fn sasl_handshake_and_describe_cluster() {
    let started = start_full(false).await;
    let mut conn = Conn::open(&started.addr).await;

    let ResponseBody::ApiVersions(versions) =
        conn.call(3, ApiVersionsRequest::default().into()).await
    else {
        panic!("not ApiVersions")
    };
    let keys: Vec<i16> = versions.api_keys.iter().map(|k| k.api_key).collect();
    for api in [
        ApiKey::InitProducerId,
        ApiKey::OffsetForLeaderEpoch,
        ApiKey::DeleteRecords,
        ApiKey::SaslHandshake,
        ApiKey::DescribeCluster,
    ] {
        assert!(keys.contains(&api.key()), "{api:?} advertised");
    }

    for version in 0..=1 {
        let request = SaslHandshakeRequest {
            mechanism: "PLAIN".to_string(),
            ..Default::default()
        };
        match conn.call(version, request.into()).await {
            ResponseBody::SaslHandshake(r) => {
                assert_eq!(r.error_code, ErrorCode::UnsupportedSaslMechanism.code());
                assert!(r.mechanisms.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The connection is still usable.
    let md = create_topic(&mut conn, "after-sasl").await;
    assert_eq!(md.topics[0].error_code, 0);

    for include in [false, true] {
        let request = DescribeClusterRequest {
            include_cluster_authorized_operations: include,
            ..Default::default()
        };
        let ResponseBody::DescribeCluster(cluster) = conn.call(0, request.into()).await else {
            panic!("not DescribeCluster")
        };
        assert_eq!(cluster.error_code, 0);
        assert_eq!(cluster.cluster_id, started.broker.cluster_id);
        assert_eq!(Some(cluster.cluster_id.clone()), md.cluster_id);
        assert_eq!(cluster.controller_id, started.broker.id());
        assert_eq!(cluster.brokers.len(), 1);
        let me = &cluster.brokers[0];
        assert_eq!(me.broker_id, started.broker.id());
        assert_eq!(format!("{}:{}", me.host, me.port), started.addr);
        assert_eq!(me.rack, None);
        if include {
            // Every cluster operation (no authorizer): DESCRIBE (8) among them.
            assert_ne!(cluster.cluster_authorized_operations & (1 << 8), 0);
        } else {
            assert_eq!(cluster.cluster_authorized_operations, i32::MIN);
        }
    }
}

#[tokio::test]
async fn a_new_broker_on_the_same_logs_still_recognises_retries() {
    let started = start_full(false).await;
    let mut conn = Conn::open(&started.addr).await;
    create_topic(&mut conn, "rebuilt").await;
    let pid = init_producer_id(&mut conn, 1, None, (-1, -1))
        .await
        .producer_id;
    let first = idempotent_batch(pid, 0, 0, &["a", "b"]);
    let second = idempotent_batch(pid, 0, 2, &["c"]);
    assert_eq!(
        produce(&mut conn, "rebuilt", first.clone())
            .await
            .base_offset,
        0
    );
    assert_eq!(
        produce(&mut conn, "rebuilt", second.clone())
            .await
            .base_offset,
        2
    );

    // The broker goes away without closing its logs, as after a kill -9; only its ZooKeeper
    // session is closed, so that the next one registers at once.
    started.broker.zk.close().await;
    let (_broker, addr) = serve_broker(started.dir.path(), &started.zk).await;
    let mut conn = Conn::open(&addr.to_string()).await;
    let retried = produce(&mut conn, "rebuilt", second).await;
    assert_eq!((retried.error_code, retried.base_offset), (0, 2));
    let retried = produce(&mut conn, "rebuilt", first).await;
    assert_eq!((retried.error_code, retried.base_offset), (0, 0));
    let gap = produce(&mut conn, "rebuilt", idempotent_batch(pid, 0, 5, &["x"])).await;
    assert_eq!(gap.error_code, ErrorCode::OutOfOrderSequenceNumber.code());
    let next = produce(&mut conn, "rebuilt", idempotent_batch(pid, 0, 3, &["d"])).await;
    assert_eq!((next.error_code, next.base_offset), (0, 3));
    let data = fetch(&mut conn, "rebuilt", 0, 0).await;
    assert_eq!(summarize(data.record_bytes()), (0, 4));
}
