"""kill -9 of a real broker process (and of `ferry standalone`, whose keeper dies with it) in the
middle of a produce load, then a restart: every message the broker acknowledged is still there,
and so are the offsets a consumer group committed before the crash.

The producer is confluent-kafka (librdkafka) with acks=all; it keeps producing while the broker
is down (librdkafka buffers and retries), so the load spans the crash. A message counts as
acknowledged only when its delivery report says so; those are the ones that must survive, at
the offset the report gave. Retries of unacknowledged requests may add copies: that is allowed
without idempotence, loss is not.
"""

from __future__ import annotations

import threading
import time

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
import confluent_kafka.admin  # noqa: E402

PARTITIONS = 3


def produce_load(bootstrap: str, topic: str, stop: threading.Event, acked: dict,
                 errors: list) -> None:
    producer = confluent_kafka.Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
        "enable.idempotence": False, "message.timeout.ms": 60000,
        "reconnect.backoff.max.ms": 200, "retry.backoff.ms": 100,
    })

    def report(error, message) -> None:
        if error is None:
            acked[message.value()] = (message.partition(), message.offset())
        else:
            errors.append(str(error))

    i = 0
    while not stop.is_set():
        try:
            producer.produce(topic, value=f"m{i:08d}".encode(), partition=i % PARTITIONS,
                             on_delivery=report)
            i += 1
        except BufferError:
            producer.poll(0.05)
            continue
        if i % 100 == 0:
            producer.poll(0)
            time.sleep(0.002)  # a steady load, not a flood that only fills librdkafka's queue
    producer.flush(90)


def read_all(bootstrap: str, topic: str) -> dict:
    """Every record of the topic: value -> list of (partition, offset)."""
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"reader-{time.monotonic_ns()}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
    })
    seen: dict = {}
    try:
        low_high = {}
        for p in range(PARTITIONS):
            tp = confluent_kafka.TopicPartition(topic, p)
            low_high[p] = consumer.get_watermark_offsets(tp, timeout=20)
        consumer.assign([confluent_kafka.TopicPartition(topic, p, low_high[p][0])
                         for p in range(PARTITIONS)])
        remaining = {p for p in range(PARTITIONS) if low_high[p][1] > low_high[p][0]}
        deadline = time.monotonic() + 60
        while remaining and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            seen.setdefault(message.value(), []).append((message.partition(), message.offset()))
            if message.offset() + 1 >= low_high[message.partition()][1]:
                remaining.discard(message.partition())
        assert not remaining, f"partitions not read to the end: {remaining}"
    finally:
        consumer.close()
    return seen


def commit_offsets(bootstrap: str, topic: str, group: str, offsets: dict) -> None:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                         "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[confluent_kafka.TopicPartition(topic, p, o)
                                 for p, o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


def committed_offsets(bootstrap: str, topic: str, group: str) -> dict:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                         "enable.auto.commit": False})
    try:
        tps = consumer.committed([confluent_kafka.TopicPartition(topic, p)
                                  for p in range(PARTITIONS)], timeout=30)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        consumer.close()


def test_kill9_during_produce_keeps_acknowledged_messages_and_group_offsets(
        fresh_kafka, topic_name) -> None:
    admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": fresh_kafka.bootstrap})
    created = admin.create_topics([confluent_kafka.admin.NewTopic(topic_name, PARTITIONS, 1)])
    created[topic_name].result(timeout=30)
    group = f"{topic_name}-group"
    commit_offsets(fresh_kafka.bootstrap, topic_name, group, {0: 0, 1: 0, 2: 0})

    acked: dict = {}
    errors: list = []
    stop = threading.Event()
    producer = threading.Thread(target=produce_load,
                                args=(fresh_kafka.bootstrap, topic_name, stop, acked, errors))
    producer.start()
    try:
        deadline = time.monotonic() + 60
        while len(acked) < 3000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(acked) >= 3000, f"load did not start: {errors[:3]}"
        # Offsets committed while the load runs, then the crash.
        committed = {p: 7 + p for p in range(PARTITIONS)}
        commit_offsets(fresh_kafka.bootstrap, topic_name, group, committed)
        fresh_kafka.kill9()
        before_restart = len(acked)
        time.sleep(0.5)  # the producer keeps producing into its buffer meanwhile
        fresh_kafka.start()
        deadline = time.monotonic() + 60
        while len(acked) < before_restart + 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        producer.join(120)
    assert len(acked) > before_restart, f"no message acknowledged after the restart: {errors[:3]}"

    seen = read_all(fresh_kafka.bootstrap, topic_name)
    missing = [v for v in acked if v not in seen]
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {missing[:5]}"
    moved = [(v, at, seen[v]) for v, at in acked.items() if at not in seen[v]]
    assert not moved, f"acknowledged at one offset, found at another: {moved[:5]}"
    assert committed_offsets(fresh_kafka.bootstrap, topic_name, group) == committed

    # And once more without load: a clean kill -9 right after the writes.
    fresh_kafka.kill9()
    fresh_kafka.start()
    assert committed_offsets(fresh_kafka.bootstrap, topic_name, group) == committed
    assert set(read_all(fresh_kafka.bootstrap, topic_name)) >= set(acked)
