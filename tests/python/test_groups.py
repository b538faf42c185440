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


def test_static_member_restart_takes_over_without_waiting_for_its_session(kafka, topic_name):
    """A consumer with group.instance.id that closes does not leave the group (KIP-345); its
    successor with the same instance id replaces it at once instead of waiting for the old
    session (30 s here) to expire."""
    from kafka import KafkaAdminClient

    create_topic(kafka.bootstrap, topic_name, 2)
    group = f"static-{uuid.uuid4()}"
    static = {"group.instance.id": "instance-1", "session.timeout.ms": 30000,
              "max.poll.interval.ms": 60000}

    def assigned(consumer):
        tracker = Tracker({"c": consumer})
        tracker.poll_until(lambda: tracker.assignments()["c"] == {0, 1}, 20,
                           "the static member's assignment")

    first = group_consumer(kafka.bootstrap, group, **static)
    first.subscribe([topic_name])
    assigned(first)
    old_id = first.memberid()
    first.close()

    started = time.monotonic()
    second = group_consumer(kafka.bootstrap, group, **static)
    second.subscribe([topic_name])
    try:
        assigned(second)
        assert time.monotonic() - started < 15, "took over without waiting for the session"
        new_id = second.memberid()
        assert new_id != old_id
        admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
        described = admin.describe_groups([group])[group]
        admin.close()
        assert described["group_state"] == "Stable"
        assert [(m["member_id"], m["group_instance_id"]) for m in described["members"]] == [
            (new_id, "instance-1")]
    finally:
        second.close()


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


class RawClient:
    """Single requests at chosen versions, through kafka-python's protocol classes, for the
    answers clients do not surface (error codes, versions, batching)."""

    def __init__(self, bootstrap: str):
        from kafka import KafkaAdminClient
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self.manager = self.admin._manager

    def call(self, request):
        async def send():
            return await self.manager.send(request, node_id=0)
        return self.manager.run(send)

    def close(self):
        self.admin.close()


def at(version: int) -> dict:
    return {"min_version": version, "max_version": version}


def test_group_protocol_answers(kafka, topic_name):
    from kafka.protocol.admin import groups as AG
    from kafka.protocol.consumer import group as G
    from kafka.protocol.metadata import FindCoordinatorRequest, MetadataRequest

    create_topic(kafka.bootstrap, topic_name, 2)
    raw = RawClient(kafka.bootstrap)
    group = f"raw-{uuid.uuid4()}"
    try:
        # Groups are coordinated here (batched v4 lookup); transactions are not.
        found = raw.call(FindCoordinatorRequest(key_type=0, coordinator_keys=[group, "other"],
                                                **at(4)))
        assert [(c.key, c.error_code, c.node_id, c.port) for c in found.coordinators] == [
            (group, 0, 0, kafka.port), ("other", 0, 0, kafka.port)]
        # TRANSACTIONAL_ID_AUTHORIZATION_FAILED: a fatal, immediate failure for the client.
        txn = raw.call(FindCoordinatorRequest(key="tx", key_type=1, **at(3)))
        assert txn.error_code == 53 and "transaction" in txn.error_message

        # __consumer_offsets (made by the lookup above) is internal.
        md = raw.call(MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(
            name="__consumer_offsets")], allow_auto_topic_creation=True, **at(9)))
        assert md.topics[0].error_code == 0 and md.topics[0].is_internal
        assert len(md.topics[0].partitions) == 4  # offsets.topic.num.partitions in tests

        def join(member_id="", protocol_type="consumer", session=6000, version=5):
            return raw.call(G.JoinGroupRequest(
                group_id=group, session_timeout_ms=session, rebalance_timeout_ms=6000,
                member_id=member_id, group_instance_id=None, protocol_type=protocol_type,
                protocols=[G.JoinGroupRequest.JoinGroupRequestProtocol(name="range",
                                                                      metadata=b"m")],
                reason=None, **at(version)))

        first = join()
        assert first.error_code == 79  # MEMBER_ID_REQUIRED, with the id to use
        member = first.member_id
        assert member.startswith("kafka-python")
        joined = join(member)
        assert (joined.error_code, joined.generation_id, joined.leader) == (0, 1, member)
        assert [m.member_id for m in joined.members] == [member]
        assert join(protocol_type="connect").error_code == 23  # INCONSISTENT_GROUP_PROTOCOL
        assert join(session=10).error_code == 26  # INVALID_SESSION_TIMEOUT
        assert join("nobody").error_code == 25  # UNKNOWN_MEMBER_ID

        synced = raw.call(G.SyncGroupRequest(
            group_id=group, generation_id=1, member_id=member, group_instance_id=None,
            assignments=[G.SyncGroupRequest.SyncGroupRequestAssignment(
                member_id=member, assignment=b"mine")], **at(3)))
        assert (synced.error_code, synced.assignment) == (0, b"mine")

        def heartbeat(generation, member_id=member):
            return raw.call(G.HeartbeatRequest(group_id=group, generation_id=generation,
                                               member_id=member_id, group_instance_id=None,
                                               **at(3))).error_code
        assert heartbeat(1) == 0
        assert heartbeat(7) == 22  # ILLEGAL_GENERATION
        assert heartbeat(1, "nobody") == 25

        listed = raw.call(AG.ListGroupsRequest(states_filter=["stable"], **at(4)))
        assert (group, "consumer", "Stable") in [
            (g.group_id, g.protocol_type, g.group_state) for g in listed.groups]
        listed = raw.call(AG.ListGroupsRequest(states_filter=["Empty"], **at(4)))
        assert group not in [g.group_id for g in listed.groups]

        # Commits need the current generation; a simple (generation -1) commit goes to a
        # group without members.
        def commit(group_id, generation, member_id, offset):
            P = G.OffsetCommitRequest.OffsetCommitRequestTopic
            response = raw.call(G.OffsetCommitRequest(
                group_id=group_id, generation_id_or_member_epoch=generation,
                member_id=member_id, topics=[P(name=topic_name, partitions=[
                    P.OffsetCommitRequestPartition(partition_index=0, committed_offset=offset,
                                                   commit_timestamp=-1,
                                                   committed_metadata="meta")])],
                **at(1)))
            return response.topics[0].partitions[0].error_code
        assert commit(group, 0, member, 5) == 22
        assert commit(group, 1, member, 5) == 0
        simple = f"simple-{uuid.uuid4()}"
        assert commit(simple, -1, "", 9) == 0

        fetched = raw.call(G.OffsetFetchRequest(groups=[
            G.OffsetFetchRequest.OffsetFetchRequestGroup(group_id=g, topics=None)
            for g in (group, simple, "nothing-here")], require_stable=False, **at(8)))
        answers = {g.group_id: [(t.name, p.partition_index, p.committed_offset, p.metadata)
                                for t in g.topics for p in t.partitions]
                   for g in fetched.groups}
        assert answers == {group: [(topic_name, 0, 5, "meta")],
                           simple: [(topic_name, 0, 9, "meta")], "nothing-here": []}

        left = raw.call(G.LeaveGroupRequest(group_id=group, members=[
            G.LeaveGroupRequest.MemberIdentity(member_id=m, group_instance_id=None)
            for m in (member, "nobody")], **at(3)))
        assert [(m.member_id, m.error_code) for m in left.members] == [(member, 0),
                                                                       ("nobody", 25)]
        described = raw.call(AG.DescribeGroupsRequest(groups=[group],
                                                      include_authorized_operations=False,
                                                      **at(3)))
        assert (described.groups[0].group_state, described.groups[0].members) == ("Empty", [])
    finally:
        raw.close()


def test_deleted_groups_and_offsets_stay_deleted_after_restart(fresh_kafka, topic_name):
    """Tombstones in __consumer_offsets are honoured when the coordinator reloads."""
    from kafka import KafkaAdminClient, TopicPartition as KTP
    from kafka.structs import OffsetAndMetadata

    create_topic(fresh_kafka.bootstrap, topic_name, 2)

    def admin():
        return KafkaAdminClient(bootstrap_servers=fresh_kafka.bootstrap)

    # "deleted" had members (so a stored generation as well as offsets); "kept" only
    # simple commits.
    consumer = group_consumer(fresh_kafka.bootstrap, "deleted")
    consumer.subscribe([topic_name])
    tracker = Tracker({"c": consumer})
    tracker.poll_until(lambda: tracker.assignments()["c"] == {0, 1}, 30, "an assignment")
    consumer.commit(offsets=[TopicPartition(topic_name, 0, 1)], asynchronous=False)
    consumer.close()
    client = admin()
    result = client.alter_group_offsets("kept", {
        KTP(topic_name, 0): OffsetAndMetadata(3, "m", -1),
        KTP(topic_name, 1): OffsetAndMetadata(4, "m", -1)})
    assert {e.__name__ for e in result.values()} == {"NoError"}, result
    assert {g["group_id"] for g in client.list_groups()} == {"kept", "deleted"}
    assert client.delete_groups(["deleted"]) == {"deleted": "OK"}
    deleted = client.delete_group_offsets("kept", [KTP(topic_name, 1)])
    assert [e.__name__ for e in deleted.values()] == ["NoError"]
    client.close()

    fresh_kafka.restart()

    client = admin()
    try:
        assert {g["group_id"] for g in client.list_groups()} == {"kept"}
        offsets = client.list_group_offsets(["kept", "deleted"])
        assert {tp.partition: (o.offset, o.metadata) for tp, o in offsets["kept"].items()} == {
            0: (3, "m")}
        assert offsets["deleted"] == {}
    finally:
        client.close()


# Expiry does not depend on the metadata store, and waits out a whole minute (the setting's
# unit): run it once, on standalone.
@pytest.mark.parametrize("kafka_factory", ["standalone"], indirect=True)
def test_offsets_expire_after_offsets_retention_minutes(kafka_factory, topic_name):
    """offsets.retention.minutes=1: a consumer group's offsets go a minute after it emptied,
    simple commits a minute after they were made, and the groups left with nothing go too;
    a group with a member keeps its offsets."""
    kafka = kafka_factory(overrides={"offsets.retention.minutes": "1",
                                     "offsets.retention.check.interval.ms": "500"})
    create_topic(kafka.bootstrap, topic_name, 1)
    produce(kafka.bootstrap, topic_name, 0, 3)
    emptied, simple, active = (f"{topic_name}-{g}" for g in ("emptied", "simple", "active"))

    def committed(group: str) -> int:
        consumer = group_consumer(kafka.bootstrap, group)
        try:
            [tp] = consumer.committed([TopicPartition(topic_name, 0)], timeout=10)
            return tp.offset
        finally:
            consumer.close()

    def consume_and_commit(group: str) -> Consumer:
        consumer = group_consumer(kafka.bootstrap, group)
        consumer.subscribe([topic_name])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                consumer.commit(message=msg, asynchronous=False)
                return consumer
        raise TimeoutError(f"{group} consumed nothing")

    consume_and_commit(emptied).close()
    member = consume_and_commit(active)
    plain = group_consumer(kafka.bootstrap, simple)
    plain.commit(offsets=[TopicPartition(topic_name, 0, 2)], asynchronous=False)
    plain.close()
    assert (committed(emptied), committed(simple), committed(active)) == (1, 2, 1)

    try:
        deadline = time.monotonic() + 90
        while committed(emptied) >= 0 or committed(simple) >= 0:
            assert time.monotonic() < deadline, "offsets did not expire"
            member.poll(0.5)  # the active member keeps its session
        assert committed(active) == 1, "a group with a member keeps its offsets"
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})  # alive until answered
        listed = {g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid}
        assert active in listed and emptied not in listed and simple not in listed, listed
        # Expired for good: a restart replays the tombstones.
        member.close()
        kafka.restart()
        assert committed(emptied) < 0 and committed(simple) < 0
    finally:
        member.close()
