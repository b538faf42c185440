"""Idempotent producers against a ferry broker (both metadata stores), with real clients.

confluent-kafka (librdkafka) with `enable.idempotence=true, acks=all`: a large keyed load is
delivered and read back exactly once and in order per partition; the same producer keeps going
across a broker restart and across a kill -9 (its retries of batches the broker had already
written must be recognised as duplicates, from producer state the broker rebuilt from its log),
and every acknowledged message is there exactly once. kafka-python's producer round trip, and
the Admin client's delete_records and describe_cluster.

Messages are read back with kafka-python's consumer without a group (assigned partitions), so
these tests need no group coordinator.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import pytest
from confluent_kafka import KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition

PARTITIONS = 4


def create_topic(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)


def idempotent_producer(bootstrap: str, **extra) -> Producer:
    config = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        # Long enough to ride out a broker restart (which may wait for its old ZooKeeper
        # session to expire) without giving up on a message.
        "message.timeout.ms": 120_000,
        "retry.backoff.ms": 100,
    }
    config.update(extra)
    return Producer(config)


class Deliveries:
    """Delivery reports by message index: (partition, offset) or the error."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: dict[int, tuple[int, int]] = {}
        self.failed: dict[int, KafkaError] = {}

    def callback(self, index: int):
        def report(err, msg) -> None:
            with self.lock:
                if err is None:
                    self.acked[index] = (msg.partition(), msg.offset())
                else:
                    self.failed[index] = err

        return report

    def count(self) -> int:
        with self.lock:
            return len(self.acked) + len(self.failed)


def produce_range(producer: Producer, topic: str, indexes, deliveries: Deliveries,
                  pace: float = 0.0) -> None:
    """Produces message `i` (key `k{i % 101}`, value `i`) for each index."""
    for i in indexes:
        while True:
            try:
                producer.produce(topic, key=f"k{i % 101}".encode(), value=str(i).encode(),
                                 on_delivery=deliveries.callback(i))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
        if pace:
            time.sleep(pace)


def read_all(bootstrap: str, topic: str, partitions: int, expected: int,
             timeout: float = 60.0) -> dict[int, list[tuple[int, int]]]:
    """Every message of the topic: partition -> [(offset, value)] in log order. Reads until
    `expected` messages are in, then a little longer to catch extra copies."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             max_poll_records=5000)
    try:
        tps = [KpTopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: dict[int, list[tuple[int, int]]] = defaultdict(list)
        deadline = time.monotonic() + timeout
        total = 0
        quiet_since = None
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            got = sum(len(records) for records in batch.values())
            for tp, records in batch.items():
                out[tp.partition].extend((r.offset, int(r.value)) for r in records)
            total += got
            if total >= expected:
                if got == 0:
                    quiet_since = quiet_since or time.monotonic()
                    if time.monotonic() - quiet_since > 1.0:
                        break
                else:
                    quiet_since = None
        return out
    finally:
        consumer.close()


def check_exactly_once(read: dict[int, list[tuple[int, int]]], deliveries: Deliveries,
                       produced: int) -> None:
    """Every acknowledged message is in the log exactly once, at the offset its report said;
    nothing appears twice; per partition the log holds messages in production order."""
    seen: dict[int, tuple[int, int]] = {}
    for partition, messages in read.items():
        offsets = [o for o, _ in messages]
        assert offsets == sorted(set(offsets)), f"partition {partition}: offsets repeat"
        values = [v for _, v in messages]
        # librdkafka keeps production order per partition with idempotence on.
        assert values == sorted(values), f"partition {partition}: out of production order"
        for offset, value in messages:
            assert value not in seen, f"message {value} appears twice: {seen[value]} and " \
                                      f"{(partition, offset)}"
            seen[value] = (partition, offset)
    assert all(0 <= v < produced for v in seen)
    missing = [i for i in deliveries.acked if i not in seen]
    assert not missing, f"{len(missing)} acknowledged messages are missing, e.g. {missing[:5]}"
    wrong = {i: (at, seen[i]) for i, at in deliveries.acked.items() if seen[i] != at}
    assert not wrong, f"acknowledged at other offsets than found: {list(wrong.items())[:5]}"


def test_idempotent_load_is_read_back_exactly_once_in_order(kafka, topic_name) -> None:
    create_topic(kafka.bootstrap, topic_name)
    producer = idempotent_producer(kafka.bootstrap)
    deliveries = Deliveries()
    count = 20_000
    produce_range(producer, topic_name, range(count), deliveries)
    assert producer.flush(60) == 0
    assert not deliveries.failed, list(deliveries.failed.items())[:5]
    assert len(deliveries.acked) == count
    assert len({p for p, _ in deliveries.acked.values()}) == PARTITIONS, "keys spread out"
    read = read_all(kafka.bootstrap, topic_name, PARTITIONS, count)
    assert sum(len(m) for m in read.values()) == count
    check_exactly_once(read, deliveries, count)


def produce_through(server, topic: str, disrupt) -> tuple[Deliveries, int]:
    """Produces a paced stream from a thread while `disrupt()` runs mid-stream."""
    producer = idempotent_producer(server.bootstrap)
    deliveries = Deliveries()
    count = 6_000
    worker = threading.Thread(
        target=produce_range, args=(producer, topic, range(count), deliveries, 0.0005))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while deliveries.count() < count // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert deliveries.count() >= count // 3, "the stream did not get going"
        disrupt()
    finally:
        worker.join()
    remaining = producer.flush(150)
    assert remaining == 0, f"{remaining} messages still undelivered"
    return deliveries, count


def test_idempotent_producer_across_a_restart(fresh_kafka, topic_name) -> None:
    create_topic(fresh_kafka.bootstrap, topic_name)
    deliveries, count = produce_through(fresh_kafka, topic_name, fresh_kafka.restart)
    # librdkafka retries through the restart: nothing is lost.
    assert not deliveries.failed, list(deliveries.failed.items())[:5]
    read = read_all(fresh_kafka.bootstrap, topic_name, PARTITIONS, count)
    check_exactly_once(read, deliveries, count)
    assert sum(len(m) for m in read.values()) == count


def test_idempotent_producer_across_kill9(fresh_kafka, topic_name) -> None:
    create_topic(fresh_kafka.bootstrap, topic_name)

    def crash() -> None:
        fresh_kafka.kill9()
        fresh_kafka.start()

    deliveries, count = produce_through(fresh_kafka, topic_name, crash)
    read = read_all(fresh_kafka.bootstrap, topic_name, PARTITIONS, len(deliveries.acked))
    # Every acknowledged message exactly once; unacknowledged ones (if any) at most once.
    check_exactly_once(read, deliveries, count)
    assert len(deliveries.acked) + len(deliveries.failed) == count


def test_kafka_python_producer_round_trip(kafka, topic_name) -> None:
    create_topic(kafka.bootstrap, topic_name, 2)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all",
                             enable_idempotence=True)
    try:
        futures = [producer.send(topic_name, key=f"k{i % 7}".encode(), value=str(i).encode())
                   for i in range(2_000)]
        producer.flush(30)
        metadata = [f.get(timeout=30) for f in futures]
    finally:
        producer.close(10)
    read = read_all(kafka.bootstrap, topic_name, 2, len(metadata))
    found = {(p, o): v for p, messages in read.items() for o, v in messages}
    assert len(found) == 2_000
    for i, md in enumerate(metadata):
        assert found[(md.partition, md.offset)] == i


def test_admin_delete_records_and_describe_cluster(kafka, topic_name) -> None:
    create_topic(kafka.bootstrap, topic_name, 1)
    producer = idempotent_producer(kafka.bootstrap)
    deliveries = Deliveries()
    produce_range(producer, topic_name, range(100), deliveries)
    assert producer.flush(30) == 0 and len(deliveries.acked) == 100
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})

    result = admin.delete_records([TopicPartition(topic_name, 0, 40)])
    deleted = next(iter(result.values())).result(30)
    assert deleted.low_watermark == 40
    beyond = admin.delete_records([TopicPartition(topic_name, 0, 1_000)])
    with pytest.raises(Exception) as refused:
        next(iter(beyond.values())).result(30)
    assert "OFFSET_OUT_OF_RANGE" in str(refused.value) or "out of range" in str(refused.value)
    read = read_all(kafka.bootstrap, topic_name, 1, 60)
    assert [v for _, v in read[0]] == list(range(40, 100))

    cluster = admin.describe_cluster(include_authorized_operations=True).result(30)
    assert cluster.cluster_id
    host, port = kafka.bootstrap.rsplit(":", 1)
    assert [(n.host, n.port) for n in cluster.nodes] == [(host, int(port))]
    assert cluster.controller is not None and cluster.controller.id == cluster.nodes[0].id
    assert cluster.authorized_operations, "every cluster operation without an authorizer"


def test_deleted_records_stay_deleted_after_restart(fresh_kafka, topic_name) -> None:
    create_topic(fresh_kafka.bootstrap, topic_name, 1)
    producer = idempotent_producer(fresh_kafka.bootstrap)
    deliveries = Deliveries()
    produce_range(producer, topic_name, range(100), deliveries)
    assert producer.flush(30) == 0 and len(deliveries.acked) == 100
    admin = AdminClient({"bootstrap.servers": fresh_kafka.bootstrap})
    result = admin.delete_records([TopicPartition(topic_name, 0, 40)])
    assert next(iter(result.values())).result(30).low_watermark == 40
    fresh_kafka.restart()
    read = read_all(fresh_kafka.bootstrap, topic_name, 1, 60)
    assert [v for _, v in read[0]] == list(range(40, 100))
    # The same producer goes on after the restart, in sequence.
    produce_range(producer, topic_name, range(100, 110), deliveries)
    assert producer.flush(60) == 0 and not deliveries.failed
    read = read_all(fresh_kafka.bootstrap, topic_name, 1, 70)
    assert [v for _, v in read[0]] == list(range(40, 110))


def test_transactional_producer_fails_at_once_with_a_clear_error(kafka) -> None:
    """No transaction coordinator: init_transactions fails fast and fatally, naming why,
    instead of retrying until its timeout."""
    from confluent_kafka import KafkaException

    producer = Producer({"bootstrap.servers": kafka.bootstrap, "transactional.id": "tx-1",
                         "log_level": 0})
    started = time.monotonic()
    with pytest.raises(KafkaException) as raised:
        producer.init_transactions(30)
    error = raised.value.args[0]
    assert error.code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, error
    assert error.fatal()
    assert "does not run a transaction coordinator" in error.str()
    assert time.monotonic() - started < 10
