"""Topic administration with real admin clients (confluent-kafka's AdminClient, kafka-python's
KafkaAdminClient), on both metadata stores: topic configs created, described, altered and in
effect on the logs; partitions added; topics deleted; and the same changes made directly in
ZooKeeper (kazoo), as Kafka 2.x's tools make them, picked up by the broker."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
)
from kafka.admin import ConfigResource as KpConfigResource
from kafka.admin import ConfigResourceType as KpConfigResourceType
from kafka.admin import KafkaAdminClient, NewPartitions as KpNewPartitions
from kafka.admin import NewTopic as KpNewTopic
from kazoo.client import KazooClient

from servers import wait_until

TIMEOUT = 20.0


# ----- helpers ------------------------------------------------------------------------------

# One client per broker, kept for the module: a client dropped while its futures are pending
# fails them with _DESTROY.
_CLIENTS: dict[str, AdminClient] = {}


@pytest.fixture(autouse=True)
def _drop_clients():
    yield
    _CLIENTS.clear()


def admin(server) -> AdminClient:
    client = _CLIENTS.get(server.bootstrap)
    if client is None:
        client = _CLIENTS[server.bootstrap] = AdminClient({"bootstrap.servers": server.bootstrap})
    return client


def result(futures: dict, key):
    """The outcome of one future of an AdminClient call."""
    return futures[key].result(timeout=TIMEOUT)


def error_of(futures: dict, key) -> KafkaError:
    with pytest.raises(KafkaException) as caught:
        result(futures, key)
    return caught.value.args[0]


def create(server, name: str, partitions: int = 1, config: dict | None = None) -> None:
    futures = admin(server).create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=10)
    result(futures, name)


def describe_topic(server, name: str) -> dict:
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    futures = admin(server).describe_configs([resource], request_timeout=10)
    return result(futures, resource)


def partition_count(server, name: str):
    md = admin(server).list_topics(topic=name, timeout=10)
    topic = md.topics.get(name)
    if topic is None or topic.error is not None:
        return None
    return len(topic.partitions)


def listed_topics(server) -> set:
    return set(admin(server).list_topics(timeout=10).topics)


def produce(server, name: str, count: int, partition: int = 0, size: int = 100,
            keys: int | None = None) -> None:
    """`count` records of `size` bytes, keyed k0, k1, ... (cycling through `keys` keys)."""
    producer = Producer({"bootstrap.servers": server.bootstrap, "linger.ms": 0})
    errors = []
    for i in range(count):
        key = f"k{i % keys if keys else i}".encode()
        producer.produce(name, key=key, value=b"v" * size, partition=partition,
                         on_delivery=lambda err, _msg: err and errors.append(err))
        # One batch per message, so that small segments fill up message by message.
        producer.flush(TIMEOUT)
    assert not errors, errors


def watermarks(server, name: str, partition: int = 0) -> tuple[int, int]:
    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "unused"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(name, partition), timeout=10)
    finally:
        consumer.close()


def consume(server, name: str, partition: int, count: int) -> list:
    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "unused",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(name, partition, 0)])
    got = []
    try:
        def more():
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
            return len(got) >= count
        wait_until(more, TIMEOUT, what=f"{count} records from {name}-{partition}")
    finally:
        consumer.close()
    return got


def read_all(server, name: str, partition: int = 0) -> list:
    """Every record from the log start to the high watermark, as (offset, key)."""
    low, high = watermarks(server, name, partition)
    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "unused",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(name, partition, low)])
    got = []
    try:
        def done():
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append((msg.offset(), msg.key()))
            return got and got[-1][0] >= high - 1
        wait_until(done, TIMEOUT, what=f"{name}-{partition} read up to {high}")
    finally:
        consumer.close()
    return got


def partition_dirs(server, name: str) -> list[Path]:
    """The topic's partition directories anywhere under the server's work directory."""
    return [p for p in Path(server.workdir).rglob(f"{name}-*")
            if p.is_dir() and p.name[len(name) + 1:].isdigit()]


def segment_files(server, name: str, partition: int = 0) -> list[Path]:
    dirs = [d for d in partition_dirs(server, name) if d.name == f"{name}-{partition}"]
    return sorted(f for d in dirs for f in d.glob("*.log"))


def kazoo(server) -> KazooClient:
    zk = KazooClient(hosts=server.zookeeper_connect, timeout=10)
    zk.start(timeout=10)
    return zk


# ----- configs ------------------------------------------------------------------------------

def test_create_with_configs_then_describe_values_and_sources(kafka, topic_name) -> None:
    create(kafka, topic_name, config={"retention.ms": "123456", "cleanup.policy": "compact"})
    configs = describe_topic(kafka, topic_name)
    assert configs["retention.ms"].value == "123456"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["cleanup.policy"].value == "compact"
    assert configs["segment.bytes"].value == "1073741824"
    assert configs["segment.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["segment.bytes"].is_default
    assert not configs["retention.ms"].is_read_only
    assert not configs["retention.ms"].is_sensitive
    synonyms = configs["retention.ms"].synonyms
    assert "retention.ms" in synonyms and "log.retention.hours" in synonyms
    assert synonyms["log.retention.hours"].value == "168"


def test_create_with_invalid_configs_is_refused_naming_the_key(kafka, topic_name) -> None:
    cases = {f"{topic_name}-a": {"retention.ms": "soon"},
             f"{topic_name}-b": {"no.such.config": "1"},
             f"{topic_name}-c": {"cleanup.policy": "shred"},
             f"{topic_name}-d": {"segment.bytes": "1"}}
    futures = admin(kafka).create_topics(
        [NewTopic(name, 1, 1, config=config) for name, config in cases.items()])
    for name, config in cases.items():
        err = error_of(futures, name)
        assert err.code() == KafkaError.INVALID_CONFIG, err
        assert next(iter(config)) in err.str(), err
    assert not listed_topics(kafka) & set(cases)


def test_alter_and_incremental_alter_are_described(kafka, topic_name) -> None:
    create(kafka, topic_name, config={"retention.ms": "1000000"})
    client = admin(kafka)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                              set_config={"segment.ms": "3600000"})
    result(client.alter_configs([resource]), resource)
    configs = describe_topic(kafka, topic_name)
    # AlterConfigs replaces the whole set: retention.ms is back to its default.
    assert configs["segment.ms"].value == "3600000"
    assert configs["retention.ms"].value == "604800000"
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value

    def incremental(*entries):
        res = ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                             incremental_configs=list(entries))
        return client.incremental_alter_configs([res]), res

    futures, res = incremental(
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
        ConfigEntry("retention.bytes", "99999", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("segment.ms", None, incremental_operation=AlterConfigOpType.DELETE))
    result(futures, res)
    configs = describe_topic(kafka, topic_name)
    assert configs["cleanup.policy"].value == "delete,compact"
    assert configs["retention.bytes"].value == "99999"
    assert configs["segment.ms"].source == ConfigSource.DEFAULT_CONFIG.value

    futures, res = incremental(
        ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SUBTRACT))
    result(futures, res)
    assert describe_topic(kafka, topic_name)["cleanup.policy"].value == "compact"

    # validate_only changes nothing
    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                         incremental_configs=[ConfigEntry("retention.bytes", "5",
                                                          incremental_operation=AlterConfigOpType.SET)])
    result(client.incremental_alter_configs([res], validate_only=True), res)
    assert describe_topic(kafka, topic_name)["retention.bytes"].value == "99999"


def test_alter_errors(kafka, topic_name) -> None:
    create(kafka, topic_name)
    client = admin(kafka)
    bad = ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                         incremental_configs=[ConfigEntry("retention.ms", "x",
                                                          incremental_operation=AlterConfigOpType.SET)])
    err = error_of(client.incremental_alter_configs([bad]), bad)
    assert err.code() == KafkaError.INVALID_CONFIG and "retention.ms" in err.str()
    append = ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                            incremental_configs=[ConfigEntry("retention.ms", "1",
                                                             incremental_operation=AlterConfigOpType.APPEND)])
    err = error_of(client.incremental_alter_configs([append]), append)
    assert err.code() == KafkaError.INVALID_REQUEST
    unknown_key = ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                                 set_config={"no.such.config": "1"})
    err = error_of(client.alter_configs([unknown_key]), unknown_key)
    assert err.code() == KafkaError.INVALID_CONFIG and "no.such.config" in err.str()
    missing = ConfigResource(ConfigResource.Type.TOPIC, topic_name + "-missing",
                             set_config={"retention.ms": "1"})
    err = error_of(client.alter_configs([missing]), missing)
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    missing_describe = ConfigResource(ConfigResource.Type.TOPIC, topic_name + "-missing")
    err = error_of(client.describe_configs([missing_describe]), missing_describe)
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    broker = ConfigResource(ConfigResource.Type.BROKER, "0", set_config={"log.retention.hours": "1"})
    err = error_of(client.alter_configs([broker]), broker)
    assert err.code() == KafkaError.INVALID_REQUEST


def test_describe_broker(kafka_factory) -> None:
    server = kafka_factory({"log.retention.hours": "5"})
    resource = ConfigResource(ConfigResource.Type.BROKER, "0")
    configs = result(admin(server).describe_configs([resource]), resource)
    assert configs["log.retention.hours"].value == "5"
    assert configs["log.retention.hours"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert configs["delete.topic.enable"].value == "true"
    assert configs["delete.topic.enable"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["delete.topic.enable"].is_read_only
    # The broker default reaches topics, as a synonym they name.
    name = f"t-{uuid.uuid4().hex[:8]}"
    create(server, name)
    retention = describe_topic(server, name)["retention.ms"]
    assert retention.value == str(5 * 3600 * 1000)
    assert retention.source == ConfigSource.STATIC_BROKER_CONFIG.value


def test_kafka_python_admin_configs(kafka, topic_name) -> None:
    client = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        client.create_topics([KpNewTopic(topic_name, 1, 1, topic_configs={"retention.ms": "4242"})])
        found = client.describe_configs([KpConfigResource(KpConfigResourceType.TOPIC, topic_name)],
                                        include_synonyms=True, config_filter="all")
        configs = found["topic"][topic_name]
        retention = configs["retention.ms"]
        assert retention["value"] == "4242"
        assert retention["config_source"] == "DYNAMIC_TOPIC_CONFIG"
        assert retention["config_type"] == "LONG"
        assert [s["name"] for s in retention["synonyms"]] == ["retention.ms", "log.retention.hours"]
        assert configs["cleanup.policy"]["config_type"] == "LIST"
        assert configs["max.message.bytes"]["value"] == "1048588"
        assert configs["max.message.bytes"]["config_source"] == "DEFAULT_CONFIG"
        client.alter_configs([KpConfigResource(KpConfigResourceType.TOPIC, topic_name,
                                               configs={"retention.ms": "5151"})])
        assert describe_topic(kafka, topic_name)["retention.ms"].value == "5151"
        client.create_partitions({topic_name: KpNewPartitions(total_count=2)})
        assert partition_count(kafka, topic_name) == 2
        client.delete_topics([topic_name])
        assert topic_name not in listed_topics(kafka)
    finally:
        client.close()


def test_configs_take_effect_on_the_log(kafka_factory, topic_name) -> None:
    server = kafka_factory({"log.retention.check.interval.ms": "200"})
    create(server, topic_name, config={"segment.bytes": "1024"})
    produce(server, topic_name, 40)
    # 40 batches of ~170 bytes in 1 KiB segments: the log rolled several times.
    assert len(segment_files(server, topic_name)) >= 4
    low, high = watermarks(server, topic_name)
    assert (low, high) == (0, 40)
    client = admin(server)
    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name,
                         incremental_configs=[ConfigEntry("retention.bytes", "1500",
                                                          incremental_operation=AlterConfigOpType.SET)])
    result(client.incremental_alter_configs([res]), res)
    # The retention pass deletes the oldest segments down to the limit.
    wait_until(lambda: watermarks(server, topic_name)[0] > 0, TIMEOUT,
               what="retention.bytes to delete old segments")
    assert len(segment_files(server, topic_name)) <= 3
    assert watermarks(server, topic_name)[1] == 40


def test_compacted_topics_are_compacted(kafka_factory, topic_name) -> None:
    server = kafka_factory({"log.cleaner.backoff.ms": "200"})
    create(server, topic_name, config={"cleanup.policy": "compact", "segment.bytes": "1024"})
    produce(server, topic_name, 60, keys=3)
    # (The cleaner may already be at work: count offsets, not the records still there.)
    assert watermarks(server, topic_name)[1] == 60

    def compacted():
        records = read_all(server, topic_name)
        return len(records) < 30 and records
    records = wait_until(compacted, TIMEOUT, what="the compaction pass to drop old values")
    # Offsets are kept; the newest record of every key survives.
    assert records[-1][0] == 59
    assert {key for _, key in records} == {b"k0", b"k1", b"k2"}
    assert [o for o, key in records if key == b"k2"][-1] == 59


# ----- partitions ---------------------------------------------------------------------------

def test_kafka_python_describes_log_dir_sizes(kafka, topic_name) -> None:
    """DescribeLogDirs (kafka-log-dirs.sh, the consoles' topic sizes): each partition's log size
    grows with what is produced to it, and a topic filter answers only that topic."""
    create(kafka, topic_name, partitions=2)
    produce(kafka, topic_name, 20, partition=1, size=100)
    client = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        def sizes(topic_partitions=None) -> dict[tuple[str, int], int]:
            [answer] = client.describe_log_dirs(topic_partitions)
            [log_dir] = answer["log_dirs"]
            assert log_dir["error_code"] == 0
            return {(t["name"], p["partition_index"]): p["partition_size"]
                    for t in log_dir["topics"] for p in t["partitions"]}

        every = sizes()
        assert every[(topic_name, 0)] == 0
        assert every[(topic_name, 1)] > 20 * 100
        only = sizes({topic_name: [1]})
        assert list(only) == [(topic_name, 1)]
    finally:
        client.close()


def test_create_partitions_then_produce_and_consume(kafka, topic_name) -> None:
    create(kafka, topic_name, partitions=1)
    client = admin(kafka)
    # validate_only changes nothing
    result(client.create_partitions([NewPartitions(topic_name, 3)], validate_only=True), topic_name)
    assert partition_count(kafka, topic_name) == 1
    result(client.create_partitions([NewPartitions(topic_name, 3)]), topic_name)
    wait_until(lambda: partition_count(kafka, topic_name) == 3, TIMEOUT, what="3 partitions")
    produce(kafka, topic_name, 3, partition=2, size=10)
    assert consume(kafka, topic_name, 2, 3) == [b"v" * 10] * 3

    err = error_of(client.create_partitions([NewPartitions(topic_name, 2)]), topic_name)
    assert err.code() == KafkaError.INVALID_PARTITIONS
    err = error_of(client.create_partitions([NewPartitions(topic_name, 3)]), topic_name)
    assert err.code() == KafkaError.INVALID_PARTITIONS
    err = error_of(client.create_partitions(
        [NewPartitions(topic_name, 4, replica_assignment=[[42]])]), topic_name)
    assert err.code() == KafkaError.INVALID_REPLICA_ASSIGNMENT
    result(client.create_partitions([NewPartitions(topic_name, 4, replica_assignment=[[0]])]),
           topic_name)
    assert partition_count(kafka, topic_name) == 4
    missing = topic_name + "-missing"
    err = error_of(client.create_partitions([NewPartitions(missing, 2)]), missing)
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_partitions_added_in_zookeeper_are_served(fresh_kafka, topic_name) -> None:
    create(fresh_kafka, topic_name, partitions=1)
    zk = kazoo(fresh_kafka)
    try:
        path = f"/brokers/topics/{topic_name}"
        data, _ = zk.get(path)
        assignment = json.loads(data)
        assignment["partitions"].update({"1": [0], "2": [0]})
        zk.set(path, json.dumps(assignment).encode())
        wait_until(lambda: partition_count(fresh_kafka, topic_name) == 3, TIMEOUT,
                   what="the broker to serve the partitions added in ZooKeeper")
        # The controller wrote the new partitions' state.
        wait_until(lambda: zk.exists(f"{path}/partitions/2/state"), TIMEOUT,
                   what="the new partition's state znode")
        state = json.loads(zk.get(f"{path}/partitions/2/state")[0])
        assert state["leader"] == 0 and state["isr"] == [0]
    finally:
        zk.stop()
        zk.close()
    produce(fresh_kafka, topic_name, 2, partition=2, size=10)
    assert consume(fresh_kafka, topic_name, 2, 2) == [b"v" * 10] * 2


# ----- deletion -----------------------------------------------------------------------------

def test_delete_topic_removes_it_and_its_data(kafka, topic_name) -> None:
    create(kafka, topic_name, partitions=2)
    produce(kafka, topic_name, 5)
    assert len(partition_dirs(kafka, topic_name)) >= 1
    client = admin(kafka)
    result(client.delete_topics([topic_name], operation_timeout=10), topic_name)
    assert topic_name not in listed_topics(kafka)
    assert partition_dirs(kafka, topic_name) == []
    # Re-created, it starts empty.
    create(kafka, topic_name, partitions=2)
    wait_until(lambda: watermarks(kafka, topic_name) == (0, 0), TIMEOUT, what="an empty topic")
    err = error_of(client.delete_topics([topic_name + "-missing"], operation_timeout=10),
                   topic_name + "-missing")
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_delete_disabled(kafka_factory, topic_name) -> None:
    server = kafka_factory({"delete.topic.enable": "false"})
    create(server, topic_name)
    err = error_of(admin(server).delete_topics([topic_name], operation_timeout=10), topic_name)
    assert err.code() == KafkaError.TOPIC_DELETION_DISABLED
    # A mark written by a tool is dropped without deleting anything, as Kafka's controller does.
    zk = kazoo(server)
    try:
        zk.create(f"/admin/delete_topics/{topic_name}")
        wait_until(lambda: not zk.exists(f"/admin/delete_topics/{topic_name}"), TIMEOUT,
                   what="the deletion mark to be removed")
        assert zk.exists(f"/brokers/topics/{topic_name}")
    finally:
        zk.stop()
        zk.close()
    assert topic_name in listed_topics(server)


def test_deletion_marked_in_zookeeper_is_carried_out(fresh_kafka, topic_name) -> None:
    create(fresh_kafka, topic_name, config={"retention.ms": "1000000"})
    produce(fresh_kafka, topic_name, 3)
    assert partition_dirs(fresh_kafka, topic_name)
    zk = kazoo(fresh_kafka)
    try:
        # What kafka-topics.sh --zookeeper --delete writes.
        zk.create(f"/admin/delete_topics/{topic_name}")
        wait_until(lambda: not zk.exists(f"/brokers/topics/{topic_name}"), TIMEOUT,
                   what="the topic znode to go")
        wait_until(lambda: not zk.exists(f"/admin/delete_topics/{topic_name}"), TIMEOUT,
                   what="the mark to go")
        assert not zk.exists(f"/config/topics/{topic_name}")
    finally:
        zk.stop()
        zk.close()
    wait_until(lambda: topic_name not in listed_topics(fresh_kafka), TIMEOUT,
               what="the topic to leave Metadata")
    assert partition_dirs(fresh_kafka, topic_name) == []


def test_config_changed_in_zookeeper_takes_effect(kafka_factory, topic_name) -> None:
    server = kafka_factory({"log.retention.check.interval.ms": "200"})
    create(server, topic_name, config={"segment.bytes": "1024"})
    produce(server, topic_name, 30)
    assert watermarks(server, topic_name)[0] == 0
    zk = kazoo(server)
    try:
        # What kafka-configs.sh --zookeeper --alter writes: the config, then a notification.
        config = {"version": 1, "config": {"segment.bytes": "1024", "retention.bytes": "1500"}}
        zk.set(f"/config/topics/{topic_name}", json.dumps(config).encode())
        change = {"version": 2, "entity_path": f"topics/{topic_name}"}
        zk.create("/config/changes/config_change_", json.dumps(change).encode(), sequence=True)
    finally:
        zk.stop()
        zk.close()
    wait_until(lambda: watermarks(server, topic_name)[0] > 0, TIMEOUT,
               what="the notified retention.bytes to delete old segments")
    assert describe_topic(server, topic_name)["retention.bytes"].value == "1500"


def test_topic_configs_survive_a_restart(fresh_kafka, topic_name) -> None:
    create(fresh_kafka, topic_name, config={"segment.bytes": "1024"})
    fresh_kafka.restart()
    produce(fresh_kafka, topic_name, 20)
    # The reopened log uses the stored segment.bytes: it rolled.
    assert len(segment_files(fresh_kafka, topic_name)) >= 2
    assert describe_topic(fresh_kafka, topic_name)["segment.bytes"].value == "1024"


def test_deletion_marked_while_the_broker_was_down(fresh_kafka, topic_name) -> None:
    if fresh_kafka.kind != "apache-zk":
        pytest.skip("needs a ZooKeeper that outlives the broker process")
    create(fresh_kafka, topic_name, partitions=2)
    produce(fresh_kafka, topic_name, 3)
    fresh_kafka.kill9()
    zk = kazoo(fresh_kafka)
    try:
        zk.create(f"/admin/delete_topics/{topic_name}")
        fresh_kafka.start()
        # The mark goes last, once the data and the topic's znodes are gone.
        wait_until(lambda: not zk.exists(f"/admin/delete_topics/{topic_name}"), TIMEOUT,
                   what="the deletion to be carried out after the restart")
        assert not zk.exists(f"/brokers/topics/{topic_name}")
    finally:
        zk.stop()
        zk.close()
    # The partitions were never opened after the restart; their directories went all the same.
    assert partition_dirs(fresh_kafka, topic_name) == []
    assert topic_name not in listed_topics(fresh_kafka)


def test_min_insync_replicas_refuses_acks_all(kafka, topic_name) -> None:
    """One broker is an ISR of one: with min.insync.replicas=2, acks=all is refused with
    NOT_ENOUGH_REPLICAS and nothing is written; acks=1 is not affected."""
    create(kafka, topic_name, config={"min.insync.replicas": "2"})

    def deliver(acks: str) -> KafkaError | None:
        producer = Producer({"bootstrap.servers": kafka.bootstrap, "acks": acks,
                             "enable.idempotence": False, "retries": 0,
                             "message.timeout.ms": 10000})
        outcome = []
        producer.produce(topic_name, b"v", on_delivery=lambda err, _msg: outcome.append(err))
        producer.flush(TIMEOUT)
        assert len(outcome) == 1
        return outcome[0]

    refused = deliver("all")
    assert refused is not None and refused.code() == KafkaError.NOT_ENOUGH_REPLICAS, refused
    assert watermarks(kafka, topic_name) == (0, 0)
    assert deliver("1") is None
    assert watermarks(kafka, topic_name) == (0, 1)
