//! The broker end to end over TCP: an in-process ferry keeper and broker on free loopback
//! ports, raw Kafka requests built with ferry-kafka-protocol.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferry_broker::config::parse_properties;
use ferry_broker::zk::{paths, KafkaZk, TopicAssignment};
use ferry_broker::{net, Broker, BrokerConfig};
use ferry_kafka_protocol::messages::{
    create_topics, fetch, list_offsets, metadata, produce, ApiVersionsRequest, CreateTopicsRequest,
    FetchRequest, ListOffsetsRequest, MetadataRequest, ProduceRequest,
};
use ferry_kafka_protocol::{
    decode_response, encode_request, ApiKey, ErrorCode, RequestBody, RequestHeader, ResponseBody,
};
use ferry_keeper::config::KeeperConfig;
use ferry_keeper::server::Keeper;
use ferry_log::{BatchBuilder, BatchIter};
use ferry_testkit::Proxy;
use ferry_zkclient::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Starts a keeper and a broker; returns the broker's address and the data directory guard.
async fn start() -> (String, tempfile::TempDir) {
    let started = start_full(false).await;
    (started.addr, started.dir)
}

/// A running keeper and broker.
struct Started {
    addr: String,
    dir: tempfile::TempDir,
    /// The keeper's `host:port`.
    zk: String,
    broker: Arc<Broker>,
    /// Between the broker and the keeper, when asked for.
    proxy: Option<Proxy>,
}

/// Starts a keeper and a broker, the broker talking to the keeper through a [`Proxy`] if
/// `proxied`.
async fn start_full(proxied: bool) -> Started {
    let dir = tempfile::tempdir().expect("temp dir");
    let keeper = Keeper::start(KeeperConfig::embedded(dir.path().join("keeper")))
        .await
        .expect("keeper starts");
    let zk_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let zk = zk_listener.local_addr().expect("addr").to_string();
    tokio::spawn(keeper.accept_loop(zk_listener));
    let proxy = if proxied {
        Some(Proxy::start(&zk).await)
    } else {
        None
    };
    let broker_zk = proxy.as_ref().map_or(zk.clone(), |p| p.hosts.clone());
    let (broker, addr) = serve_broker(dir.path(), &broker_zk).await;
    Started {
        addr: addr.to_string(),
        dir,
        zk,
        broker,
        proxy,
    }
}

/// Starts a broker on a free loopback port with its logs under `dir/kafka` and its metadata in
/// `zk`, serving connections; returns it and its address.
async fn serve_broker(dir: &std::path::Path, zk: &str) -> (Arc<Broker>, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let props = parse_properties(&format!(
        "listeners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={}\nzookeeper.connect={zk}\n\
         message.max.bytes=10000\nsocket.request.max.bytes=100000\n",
        dir.join("kafka").display(),
        port = addr.port()
    ));
    let config = BrokerConfig::from_properties(&props).expect("config");
    let broker = Broker::start(config).await.expect("broker starts");
    tokio::spawn(net::accept_loop(broker.clone(), listener));
    (broker, addr)
}

/// Polls `check` until it returns `Some`, failing the test after `within`.
async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls Metadata until `topic` is described as `expected` (error code, partition count).
async fn await_topic(conn: &mut Conn, topic: &str, expected: (i16, usize)) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let described = describe_topic(conn, topic).await;
        if described == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{topic}: still {described:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Metadata for `topic` without auto-creation: (error code, partition count).
async fn describe_topic(conn: &mut Conn, topic: &str) -> (i16, usize) {
    let request = MetadataRequest {
        topics: Some(vec![metadata::MetadataRequestTopic {
            name: Some(topic.to_string()),
            ..Default::default()
        }]),
        allow_auto_topic_creation: false,
        ..Default::default()
    };
    match conn.call(9, request.into()).await {
        ResponseBody::Metadata(md) => (md.topics[0].error_code, md.topics[0].partitions.len()),
        other => panic!("unexpected {other:?}"),
    }
}

struct Conn {
    stream: TcpStream,
    correlation_id: i32,
}

impl Conn {
    async fn open(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Conn {
            stream,
            correlation_id: 0,
        }
    }

    async fn send(&mut self, version: i16, body: RequestBody) {
        self.correlation_id += 1;
        let header = RequestHeader {
            api_version: version,
            correlation_id: self.correlation_id,
            client_id: Some("test".to_string()),
            ..Default::default()
        };
        let frame = encode_request(&header, &body).expect("encode");
        let size = u32::try_from(frame.len()).expect("small");
        self.stream.write_u32(size).await.expect("write");
        self.stream.write_all(&frame).await.expect("write");
    }

    async fn receive(&mut self, api: ApiKey, version: i16) -> ResponseBody {
        let len = self.stream.read_u32().await.expect("response size");
        let mut buf = vec![0; len as usize];
        self.stream.read_exact(&mut buf).await.expect("response");
        let (header, body) = decode_response(api, version, Bytes::from(buf)).expect("decode");
        assert_eq!(header.correlation_id, self.correlation_id);
        body
    }

    async fn call(&mut self, version: i16, body: RequestBody) -> ResponseBody {
        let api = body.api_key();
        self.send(version, body).await;
        self.receive(api, version).await
    }
}

fn batch(values: &[&str]) -> Vec<u8> {
    let mut b = BatchBuilder::new(1_700_000_000_000);
    for v in values {
        b.append(Some(b"k"), Some(v.as_bytes()), 1_700_000_000_000);
    }
    b.build()
}

fn produce_request(topic: &str, partition: i32, acks: i16, records: Vec<u8>) -> RequestBody {
    ProduceRequest {
        acks,
        timeout_ms: 1000,
        topic_data: vec![produce::TopicProduceData {
            name: topic.to_string(),
            partition_data: vec![produce::PartitionProduceData {
                index: partition,
                records: Some(records.into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
    .into()
}

async fn produce(
    conn: &mut Conn,
    topic: &str,
    records: Vec<u8>,
) -> produce::PartitionProduceResponse {
    match conn.call(7, produce_request(topic, 0, 1, records)).await {
        ResponseBody::Produce(mut r) => r.responses.remove(0).partition_responses.remove(0),
        other => panic!("unexpected {other:?}"),
    }
}

fn fetch_request(topic: &str, offset: i64, max_wait_ms: i32) -> RequestBody {
    FetchRequest {
        replica_id: -1,
        max_wait_ms,
        min_bytes: 1,
        topics: vec![fetch::FetchTopic {
            topic: topic.to_string(),
            partitions: vec![fetch::FetchPartition {
                fetch_offset: offset,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
    .into()
}

async fn fetch(conn: &mut Conn, topic: &str, offset: i64, wait: i32) -> fetch::FetchPartitionData {
    match conn.call(11, fetch_request(topic, offset, wait)).await {
        ResponseBody::Fetch(mut r) => {
            assert_eq!(r.session_id, 0, "sessionless");
            r.responses.remove(0).partitions.remove(0)
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Creates `topic` (one partition) through Metadata's auto-creation.
async fn create_topic(conn: &mut Conn, topic: &str) -> metadata::MetadataResponse {
    let request = MetadataRequest {
        topics: Some(vec![metadata::MetadataRequestTopic {
            name: Some(topic.to_string()),
            ..Default::default()
        }]),
        allow_auto_topic_creation: true,
        ..Default::default()
    };
    match conn.call(9, request.into()).await {
        ResponseBody::Metadata(md) => md,
        other => panic!("unexpected {other:?}"),
    }
}

/// (base offset of the first batch, records in all batches)
fn summarize(records: &[u8]) -> (i64, i64) {
    let batches: Vec<_> = BatchIter::new(records).collect();
    let first = batches.first().map_or(-1, |(h, _)| h.base_offset);
    (
        first,
        batches
            .iter()
            .map(|(h, _)| i64::from(h.records_count))
            .sum(),
    )
}

#[tokio::test]
async fn api_versions_metadata_produce_fetch() {
    let (addr, _dir) = start().await;
    let mut conn = Conn::open(&addr).await;

    let ResponseBody::ApiVersions(versions) =
        conn.call(3, ApiVersionsRequest::default().into()).await
    else {
        panic!("not ApiVersions")
    };
    let mut keys: Vec<i16> = versions.api_keys.iter().map(|k| k.api_key).collect();
    keys.sort_unstable();
    let mut every: Vec<i16> = ApiKey::ALL.iter().map(|k| k.key()).collect();
    every.sort_unstable();
    assert_eq!(keys, every, "every API the broker serves is advertised");
    const ADD_PARTITIONS_TO_TXN: i16 = 24;
    assert!(
        !keys.contains(&ADD_PARTITIONS_TO_TXN),
        "transactions are not advertised: there is no transaction coordinator"
    );

    let md = create_topic(&mut conn, "events").await;
    assert_eq!(md.brokers.len(), 1);
    assert_eq!(md.controller_id, md.brokers[0].node_id);
    assert_eq!(md.topics[0].error_code, ErrorCode::None.code());
    assert_eq!(md.topics[0].partitions[0].leader_id, md.brokers[0].node_id);

    let first = produce(&mut conn, "events", batch(&["a", "b", "c"])).await;
    assert_eq!((first.error_code, first.base_offset), (0, 0));
    let second = produce(&mut conn, "events", batch(&["d"])).await;
    assert_eq!((second.error_code, second.base_offset), (0, 3));

    let data = fetch(&mut conn, "events", 0, 0).await;
    assert_eq!(data.error_code, 0);
    assert_eq!(data.high_watermark, 4);
    assert_eq!(summarize(data.record_bytes()), (0, 4));

    let data = fetch(&mut conn, "events", 3, 0).await;
    assert_eq!(summarize(data.record_bytes()), (3, 1));
}

#[tokio::test]
async fn long_poll_fetch_wakes_on_append() {
    let (addr, _dir) = start().await;
    let mut producer = Conn::open(&addr).await;
    create_topic(&mut producer, "poll").await;
    produce(&mut producer, "poll", batch(&["x"])).await;
    let mut consumer = Conn::open(&addr).await;
    consumer.send(11, fetch_request("poll", 1, 20_000)).await;
    // Nothing at offset 1: the fetch is parked, not answered empty...
    let early = tokio::time::timeout(Duration::from_millis(300), consumer.stream.readable()).await;
    assert!(early.is_err(), "a fetch with min_bytes=1 waits for data");
    // ...until an append on another connection answers it, long before its 20 s wait.
    produce(&mut producer, "poll", batch(&["y"])).await;
    let answer = tokio::time::timeout(Duration::from_secs(10), consumer.receive(ApiKey::Fetch, 11))
        .await
        .expect("woken by the append");
    let ResponseBody::Fetch(mut r) = answer else {
        panic!("not Fetch")
    };
    let data = r.responses.remove(0).partitions.remove(0);
    assert_eq!(summarize(data.record_bytes()), (1, 1));
}

#[tokio::test]
async fn bad_input_gets_kafka_errors_and_closes_only_its_connection() {
    let (addr, _dir) = start().await;
    let mut conn = Conn::open(&addr).await;
    let unknown = produce(&mut conn, "bad", batch(&["x"])).await;
    assert_eq!(
        unknown.error_code,
        ErrorCode::UnknownTopicOrPartition.code()
    );
    create_topic(&mut conn, "bad").await;
    produce(&mut conn, "bad", batch(&["ok"])).await;

    let mut corrupt = batch(&["x"]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let r = produce(&mut conn, "bad", corrupt).await;
    assert_eq!(r.error_code, ErrorCode::CorruptMessage.code());

    let big = "x".repeat(20_000);
    let r = produce(&mut conn, "bad", batch(&[&big])).await;
    assert_eq!(r.error_code, ErrorCode::MessageTooLarge.code());

    let r = match conn
        .call(7, produce_request("bad", 5, 1, batch(&["x"])))
        .await
    {
        ResponseBody::Produce(mut r) => r.responses.remove(0).partition_responses.remove(0),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(r.error_code, ErrorCode::UnknownTopicOrPartition.code());

    // acks=0: no response; the next request's answer comes next.
    conn.send(7, produce_request("bad", 0, 0, batch(&["quiet"])))
        .await;
    let data = fetch(&mut conn, "bad", 0, 0).await;
    assert_eq!(
        data.high_watermark, 2,
        "the acks=0 batch was appended, nothing else"
    );

    // A frame over socket.request.max.bytes closes that connection only.
    let mut oversize = TcpStream::connect(&addr).await.expect("connect");
    oversize.write_u32(1_000_000).await.expect("write");
    let mut byte = [0u8; 1];
    let n = oversize.read(&mut byte).await.unwrap_or(0);
    assert_eq!(n, 0, "closed");
    let data = fetch(&mut conn, "bad", 0, 0).await;
    assert_eq!(data.error_code, 0);

    // Garbage closes its connection too.
    let mut garbage = TcpStream::connect(&addr).await.expect("connect");
    garbage
        .write_all(&[0, 0, 0, 3, 1, 2, 3])
        .await
        .expect("write");
    let n = garbage.read(&mut byte).await.unwrap_or(0);
    assert_eq!(n, 0, "closed");

    // acks=0 to an unknown partition: no response, the connection is closed instead.
    let mut quiet = Conn::open(&addr).await;
    quiet
        .send(7, produce_request("bad", 9, 0, batch(&["lost"])))
        .await;
    let n = quiet.stream.read(&mut byte).await.unwrap_or(0);
    assert_eq!(n, 0, "closed");
}

#[tokio::test]
async fn create_topics_and_list_offsets() {
    let (addr, _dir) = start().await;
    let mut conn = Conn::open(&addr).await;
    let topic = |name: &str, partitions: i32, rf: i16| create_topics::CreatableTopic {
        name: name.to_string(),
        num_partitions: partitions,
        replication_factor: rf,
        ..Default::default()
    };
    let request = CreateTopicsRequest {
        topics: vec![
            topic("three", 3, 1),
            topic("bad/name", 1, 1),
            topic("replicated", 1, 3),
            topic("zero", 0, 1),
        ],
        ..Default::default()
    };
    let ResponseBody::CreateTopics(r) = conn.call(5, request.into()).await else {
        panic!("not CreateTopics")
    };
    let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
    let expected = [
        ErrorCode::None,
        ErrorCode::InvalidTopicException,
        ErrorCode::InvalidReplicationFactor,
        ErrorCode::InvalidPartitions,
    ];
    assert_eq!(codes, expected.map(ErrorCode::code));
    let again = CreateTopicsRequest {
        topics: vec![topic("three", 3, 1)],
        ..Default::default()
    };
    let ResponseBody::CreateTopics(r) = conn.call(5, again.into()).await else {
        panic!("not CreateTopics")
    };
    assert_eq!(r.topics[0].error_code, ErrorCode::TopicAlreadyExists.code());

    // Partition 2 of the new topic takes writes.
    let r = match conn
        .call(7, produce_request("three", 2, 1, batch(&["a", "b"])))
        .await
    {
        ResponseBody::Produce(mut r) => r.responses.remove(0).partition_responses.remove(0),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!((r.error_code, r.base_offset), (0, 0));

    let offsets = |timestamp: i64| ListOffsetsRequest {
        replica_id: -1,
        topics: vec![list_offsets::ListOffsetsTopic {
            name: "three".to_string(),
            partitions: vec![list_offsets::ListOffsetsPartition {
                partition_index: 2,
                timestamp,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut answers = Vec::new();
    for ts in [-2, -1, 1_700_000_000_000, i64::MAX] {
        let ResponseBody::ListOffsets(mut r) = conn.call(5, offsets(ts).into()).await else {
            panic!("not ListOffsets")
        };
        let p = r.topics.remove(0).partitions.remove(0);
        assert_eq!(p.error_code, 0);
        answers.push(p.offset);
    }
    assert_eq!(answers, [0, 2, 0, -1]);
}

#[tokio::test]
async fn invalid_acks_are_refused() {
    let (addr, _dir) = start().await;
    let mut conn = Conn::open(&addr).await;
    create_topic(&mut conn, "acks").await;
    let r = match conn
        .call(7, produce_request("acks", 0, 2, batch(&["x"])))
        .await
    {
        ResponseBody::Produce(mut r) => r.responses.remove(0).partition_responses.remove(0),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(r.error_code, ErrorCode::InvalidRequiredAcks.code());
    assert_eq!(fetch(&mut conn, "acks", 0, 0).await.high_watermark, 0);
}

#[tokio::test]
async fn topics_created_or_deleted_elsewhere_are_followed() {
    let started = start_full(false).await;
    let mut conn = Conn::open(&started.addr).await;
    assert_eq!(
        describe_topic(&mut conn, "elsewhere").await.0,
        ErrorCode::UnknownTopicOrPartition.code()
    );

    // Another client (a tool, another broker) writes the assignment straight to ZooKeeper.
    let (other, _events) = KafkaZk::connect(&started.zk, Duration::from_secs(10))
        .await
        .expect("second session");
    let assignment = TopicAssignment::new((0..2).map(|p| (p, vec![0])).collect());
    other
        .create_topic("elsewhere", &assignment, &BTreeMap::new())
        .await
        .expect("topic created");
    await_topic(&mut conn, "elsewhere", (ErrorCode::None.code(), 2)).await;
    let written = produce(&mut conn, "elsewhere", batch(&["a"])).await;
    assert_eq!((written.error_code, written.base_offset), (0, 0));

    // Its znode removed, the topic is no longer served.
    other
        .delete_recursive(&format!("{}/elsewhere", paths::BROKER_TOPICS), None)
        .await
        .expect("topic znode deleted");
    let unknown = ErrorCode::UnknownTopicOrPartition.code();
    await_topic(&mut conn, "elsewhere", (unknown, 0)).await;
    let refused = produce(&mut conn, "elsewhere", batch(&["b"])).await;
    assert_eq!(
        refused.error_code,
        ErrorCode::UnknownTopicOrPartition.code()
    );
    other.close().await;
}

#[tokio::test]
async fn broker_re_registers_after_session_expiry_and_keeps_serving() {
    let started = start_full(true).await;
    let proxy = started.proxy.as_ref().expect("proxied");
    let broker = started.broker.clone();
    let mut conn = Conn::open(&started.addr).await;
    create_topic(&mut conn, "survivor").await;
    let first = produce(&mut conn, "survivor", batch(&["before"])).await;
    assert_eq!((first.error_code, first.base_offset), (0, 0));

    // Cut the broker off from the keeper; meanwhile another client takes its session over and
    // closes it. Back in touch, the broker hears that its session expired.
    proxy.cut();
    let old = broker.zk.get().client().status();
    assert_eq!(broker.registration().session_id, old.session_id);
    let (thief, _events) = Client::builder(&started.zk)
        .resume_session(old.session_id, old.password.clone())
        .connect()
        .await
        .expect("resume the broker's session");
    assert_eq!(thief.session_id(), old.session_id);
    thief.close().await;
    proxy.restore();

    // The broker opens a new session and registers again under it.
    let (observer, _events) = KafkaZk::connect(&started.zk, Duration::from_secs(10))
        .await
        .expect("observer session");
    let path = paths::broker(broker.id());
    // The node changes owner before the broker adopts the new session (it swaps its handle
    // only once re-registration and the controller run are done): wait for both.
    let owner = eventually(Duration::from_secs(30), "the broker to re-register", || {
        let (observer, path, broker) = (&observer, &path, &broker);
        async move {
            let stat = observer
                .client()
                .exists(path, false)
                .await
                .expect("exists")?;
            let owner = stat.ephemeral_owner;
            let adopted =
                broker.zk.get().session_id() == owner && broker.registration().session_id == owner;
            (owner != old.session_id && adopted).then_some(owner)
        }
    })
    .await;
    assert_ne!(owner, old.session_id);
    assert_eq!(broker.controller_id(), broker.id(), "controller again");
    let info = observer
        .get_broker(broker.id())
        .await
        .expect("read registration");
    assert!(info.is_some());

    // Clients are served all along, on the same connection.
    let second = produce(&mut conn, "survivor", batch(&["after"])).await;
    assert_eq!((second.error_code, second.base_offset), (0, 1));
    let data = fetch(&mut conn, "survivor", 0, 0).await;
    assert_eq!(data.error_code, 0);
    assert_eq!(summarize(data.record_bytes()), (0, 2));
    // And topics created elsewhere are still followed on the new session.
    let assignment = TopicAssignment::new(BTreeMap::from([(0, vec![broker.id()])]));
    observer
        .create_topic("later", &assignment, &BTreeMap::new())
        .await
        .expect("topic created");
    await_topic(&mut conn, "later", (ErrorCode::None.code(), 1)).await;
    observer.close().await;
}

mod producer_apis;
