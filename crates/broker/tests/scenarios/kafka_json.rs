//! Znodes exactly as a Kafka 2.8 broker writes them are read correctly.

use ferry_broker::zk::{paths, KafkaZk};
use ferry_zkclient::CreateOptions;

use super::session;

const BROKER: &str = r#"{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","SSL":"SSL"},"endpoints":["PLAINTEXT://kafka-0.example:9092","SSL://kafka-0.example:9093"],"jmx_port":9999,"port":9092,"host":"kafka-0.example","version":5,"timestamp":"1636112233445"}"#;
const TOPIC_V3: &str = r#"{"version":3,"topic_id":"p9rvZ9RZT6qd2sSHqNCnXg","partitions":{"0":[0,1],"1":[1,0]},"adding_replicas":{},"removing_replicas":{}}"#;
const STATE: &str = r#"{"controller_epoch":3,"leader":1,"version":1,"leader_epoch":7,"isr":[1,0]}"#;
const CONTROLLER: &str = r#"{"version":1,"brokerid":0,"timestamp":"1636112233999"}"#;
const CLUSTER_ID: &str = r#"{"version":"1","id":"Ul2NVYQ0R0yZpYh2wT9cqA"}"#;
const CONFIG: &str = r#"{"version":1,"config":{"min.insync.replicas":"2"}}"#;
const PRODUCER_IDS: &str = r#"{"version":1,"broker":0,"block_start":"5000","block_end":"5999"}"#;

async fn put(zk: &KafkaZk, path: &str, data: &str) {
    let options = CreateOptions::persistent();
    match zk.client().create(path, data, &options).await {
        Ok(_) => {}
        Err(error) if error.code() == ferry_zkclient::ErrorCode::NodeExists => {
            zk.client().set_data(path, data, None).await.unwrap();
        }
        Err(error) => panic!("{path}: {error}"),
    }
}

pub async fn run(_hosts: &str, connect: &str) {
    let zk = session(connect).await;
    put(&zk, &paths::broker(0), BROKER).await;
    put(&zk, &paths::topic("events"), TOPIC_V3).await;
    put(&zk, &paths::topic_partitions("events"), "").await;
    put(&zk, &paths::partition("events", 1), "").await;
    put(&zk, &paths::partition_state("events", 1), STATE).await;
    put(&zk, paths::CONTROLLER, CONTROLLER).await;
    put(&zk, paths::CONTROLLER_EPOCH, "3").await;
    put(&zk, paths::CLUSTER, "").await;
    put(&zk, paths::CLUSTER_ID, CLUSTER_ID).await;
    put(&zk, &paths::topic_config("events"), CONFIG).await;
    put(&zk, paths::PRODUCER_ID_BLOCK, PRODUCER_IDS).await;

    let broker = zk.get_broker(0).await.unwrap().unwrap();
    assert_eq!(broker.endpoints.len(), 2);
    assert_eq!(broker.endpoints[1].security_protocol, "SSL");
    assert_eq!(
        broker.endpoints[1].connection_string(),
        "SSL://kafka-0.example:9093"
    );
    assert_eq!(broker.jmx_port, 9999);
    let topic = zk.get_topic_assignment("events").await.unwrap().unwrap();
    assert_eq!(
        topic.value.topic_id.as_deref(),
        Some("p9rvZ9RZT6qd2sSHqNCnXg")
    );
    assert_eq!(topic.value.partitions[&1].replicas, vec![1, 0]);
    let state = zk.get_partition_state("events", 1).await.unwrap().unwrap();
    assert_eq!(
        (
            state.value.leader,
            state.value.leader_epoch,
            state.value.isr.clone()
        ),
        (1, 7, vec![1, 0])
    );
    assert_eq!(state.value.controller_epoch, 3);
    assert_eq!(zk.get_controller().await.unwrap().unwrap().broker_id, 0);
    assert_eq!(zk.get_controller_epoch().await.unwrap().unwrap().epoch, 3);
    assert_eq!(
        zk.get_cluster_id().await.unwrap().as_deref(),
        Some("Ul2NVYQ0R0yZpYh2wT9cqA")
    );
    let config = zk.get_topic_config("events").await.unwrap().unwrap();
    assert_eq!(config.value["min.insync.replicas"], "2");
    let block = zk.allocate_producer_id_block(4).await.unwrap();
    assert_eq!((block.block_start, block.block_end), (6000, 6999));
    // A topic with an id keeps it when it grows.
    let grown = zk
        .add_partitions("events", &topic, &[(2, vec![0, 1])].into_iter().collect())
        .await
        .unwrap();
    assert_eq!(
        grown.value.topic_id.as_deref(),
        Some("p9rvZ9RZT6qd2sSHqNCnXg")
    );
    zk.close().await;
}
