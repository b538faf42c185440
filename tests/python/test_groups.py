"""Consumer groups and committed offsets with real clients, on both metadata stores.

- confluent-kafka (librdkafka): three consumers share a 6-partition topic, one leaves and the
  other two take over its partitions; every message is consumed exactly once, in order per
  partition.
- Committed offsets survive a broker restart and a kill -9: a new consumer of the group goes
  on from them, re-reading and losing nothing.
- kafka-python: a group consumer with commits, and the admin calls on groups (list, describe,
  offsets, delete).

Consumers use short session timeouts and heartbeat intervals so that rebalances are quick;
every wait is on a condition.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from servers import wait_until

PARTITIONS = 6

# librdkafka and kafka-python settings that keep rebalances short on a test broker (whose
# group.min.session.timeout.ms is Kafka's 6000).
FAST_GROUP = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 300,
    "max.poll.interval.ms": 10000,
}


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                            replication_factor=1)])
    futures[topic].result(timeout=30)


def produce(bootstrap: str, topic: str, start: int, count: int) -> dict[int, list[tuple]]:
    """Produces keyed messages `start..start+count`; returns partition -> [(offset, value)]
    in offset order, from the delivery reports."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    delivered: dict[int, list[tuple]] = defaultdict(list)
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered[msg.partition()].append((msg.offset(), msg.value().decode()))

    for i in range(start, start + count):
        producer.produce(topic, key=f"key-{i % 37}", value=f"m-{i}", on_delivery=report)
    assert producer.flush(30) == 0
    assert not errors, errors
    for offsets in delivered.values():
        offsets.sort()
    return delivered


def group_consumer(bootstrap: str, group: str, **extra) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "range",
        **FAST_GROUP,
        **extra,
    })


class Tracker:
    """What each consumer consumed: (partition, offset, value) in consumption order, each
    message committed synchronously right after it was processed."""

    def __init__(self, consumers: dict[str, Consumer]):
        self.consumers = consumers
        self.seen: dict[str, list[tuple]] = defaultdict(list)
        # (partition, offset, value) of every consumer, in the order consumed.
        self.all: list[tuple] = []

    def poll_all(self, timeout: float = 0.05) -> None:
        for name, consumer in self.consumers.items():
            msg = consumer.poll(timeout)
            if msg is None:
                continue
            if msg.error():
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                continue
            record = (msg.partition(), msg.offset(), msg.value().decode())
            self.seen[name].append(record)
            self.all.append(record)
            consumer.commit(message=msg, asynchronous=False)

    def count(self) -> int:
        return sum(len(v) for v in self.seen.values())

    def assignments(self) -> dict[str, set[int]]:
        return {name: {tp.partition for tp in c.assignment()}
                for name, c in self.consumers.items()}

    def poll_until(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}; assignments "
                                   f"{self.assignments()}, consumed {self.count()}")
            self.poll_all()


def balanced(assignments: dict[str, set[int]], members: int) -> bool:
    """Every partition owned by exactly one member, each member with its share."""
    owned = [p for parts in assignments.values() for p in parts]
    return (sorted(owned) == list(range(PARTITIONS))
            and all(len(parts) == PARTITIONS // members for parts in assignments.values()))


def test_three_consumers_share_partitions_and_take_over_when_one_leaves(kafka, topic_name):
    create_topic(kafka.bootstrap, topic_name, PARTITIONS)
    group = f"g-{uuid.uuid4()}"
    consumers = {name: group_consumer(kafka.bootstrap, group) for name in ("a", "b", "c")}
    for consumer in consumers.values():
        consumer.subscribe([topic_name])
    tracker = Tracker(consumers)
    try:
        tracker.poll_until(lambda: balanced(tracker.assignments(), 3), 60,
                           "three consumers to share the partitions")
        first = tracker.assignments()
        produced = produce(kafka.bootstrap, topic_name, 0, 300)
        tracker.poll_until(lambda: tracker.count() == 300, 60, "the first 300 messages")
        for name, seen in tracker.seen.items():
            assert {p for p, _, _ in seen} <= first[name], \
                f"{name} consumed outside its assignment {first[name]}"

        consumers.pop("c").close()
        tracker.poll_until(lambda: balanced(tracker.assignments(), 2), 60,
                           "the two remaining consumers to take over c's partitions")
        second = tracker.assignments()
        for p in first["c"]:
            assert any(p in parts for parts in second.values())

        more = produce(kafka.bootstrap, topic_name, 300, 300)
        for p, offsets in more.items():
            produced[p].extend(offsets)
        tracker.poll_until(lambda: tracker.count() == 600, 60, "all 600 messages")
        time.sleep(0.5)  # anything consumed twice would show up now
        tracker.poll_all()
        assert tracker.count() == 600

        consumed: dict[int, list[tuple]] = defaultdict(list)
        for p, offset, value in tracker.all:
            consumed[p].append((offset, value))
        for p in range(PARTITIONS):
            # Consumption order per partition is the offset order, each exactly once.
            assert consumed[p] == produced[p], f"partition {p}"
        late = {p for name in ("a", "b") for p, off, _ in tracker.seen[name]
                if p in first["c"]}
        assert late == first["c"], "c's partitions were consumed by the others after it left"
    finally:
        for consumer in consumers.values():
            consumer.close()


@pytest.mark.parametrize("how", ["restart", "kill9"])
def test_committed_offsets_survive_restart(fresh_kafka, topic_name, how):
    bootstrap = fresh_kafka.bootstrap
    create_topic(bootstrap, topic_name, 2)
    produced = produce(bootstrap, topic_name, 0, 40)
    group = "resume-group"

    consumer = group_consumer(bootstrap, group)
    consumer.subscribe([topic_name])
    tracker = Tracker({"first": consumer})
    tracker.poll_until(lambda: tracker.count() >= 15, 60, "15 messages")
    consumer.close()
    before = list(tracker.seen["first"])
    committed_before = {p: max(o for q, o, _ in before if q == p) + 1
                        for p in {q for q, _, _ in before}}

    if how == "restart":
        fresh_kafka.restart()
    else:
        fresh_kafka.kill9()
        fresh_kafka.start()

    consumer = group_consumer(bootstrap, group)
    try:
        committed = consumer.committed([TopicPartition(topic_name, p) for p in range(2)],
                                       timeout=30)
        for tp in committed:
            expected = committed_before.get(tp.partition, -1001)  # OFFSET_INVALID if none
            assert tp.offset == expected, f"partition {tp.partition} after {how}"
        consumer.subscribe([topic_name])
        tracker = Tracker({"second": consumer})
        tracker.poll_until(lambda: len(before) + tracker.count() >= 40, 60,
                           "the rest of the messages")
        time.sleep(0.5)
        tracker.poll_all()
    finally:
        consumer.close()
    after = tracker.seen["second"]
    for p in range(2):
        got = [(o, v) for q, o, v in before + after if q == p]
        assert got == produced[p], f"partition {p}: re-read or lost messages after {how}"


def test_kafka_python_group_consumer_and_admin(kafka, topic_name):
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition as KTP
    from kafka.structs import OffsetAndMetadata

    create_topic(kafka.bootstrap, topic_name, 3)
    produced = produce(kafka.bootstrap, topic_name, 0, 30)
    group = f"kp-{uuid.uuid4()}"
    consumer = KafkaConsumer(
        topic_name, bootstrap_servers=kafka.bootstrap, group_id=group,
        enable_auto_commit=False, auto_offset_reset="earliest",
        session_timeout_ms=6000, heartbeat_interval_ms=300, consumer_timeout_ms=20000)
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        got = defaultdict(list)
        deadline = time.monotonic() + 60
        while sum(len(v) for v in got.values()) < 30 and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    got[tp.partition].append((r.offset, r.value.decode()))
                consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)})
        for p in range(3):
            assert got[p] == produced[p]

        listed = admin.list_groups()
        mine = [g for g in listed if g["group_id"] == group]
        assert mine and mine[0]["protocol_type"] == "consumer", listed

        described = admin.describe_groups([group])[group]
        assert described["group_state"] == "Stable", described
        assert described["protocol_type"] == "consumer"
        assert len(described["members"]) == 1
        member = described["members"][0]
        assigned = member["member_assignment"]
        assert assigned, member

        offsets = admin.list_group_offsets(group)[group]
        assert {tp.partition: o.offset for tp, o in offsets.items()} == {
            p: len(produced[p]) for p in range(3) if produced[p]}

        # A group with a member cannot be deleted, nor the offsets of a topic it consumes.
        assert admin.delete_groups([group]) == {group: "NonEmptyGroupError"}
        refused = admin.delete_group_offsets(group, [KTP(topic_name, 0)])
        assert [e.__name__ for e in refused.values()] == ["GroupSubscribedToTopicError"]
    finally:
        consumer.close()

    def empty():
        return admin.describe_groups([group])[group]["group_state"] == "Empty"
    wait_until(empty, 30, what="the group to be empty after its consumer left")
    deleted = admin.delete_group_offsets(group, [KTP(topic_name, 0)])
    assert [e.__name__ for e in deleted.values()] == ["NoError"], deleted
    offsets = admin.list_group_offsets(group)[group]
    assert sorted(tp.partition for tp in offsets) == [1, 2]
    assert admin.delete_groups([group]) == {group: "OK"}
    assert group not in {g["group_id"] for g in admin.list_groups()}
    assert admin.describe_groups([group])[group]["group_state"] == "Dead"
    offsets = admin.list_group_offsets(group)[group]
    assert all(o.offset == -1 for o in offsets.values()), offsets
    admin.close()
