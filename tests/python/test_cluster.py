"""A replicated `ferry broker` cluster (issue 9): three brokers (broker.id 1, 2, 3) on a
three-server ZooKeeper ensemble (ferry keeper, or Apache ZooKeeper 3.8), topics with
replication factor 3 and min.insync.replicas=2, and faults under load: kill -9 of a partition
leader, of the controller and of the group coordinator; a broker SIGSTOPped past its session
timeout; two of three brokers down; a leader cut off from ZooKeeper and the other brokers on
test hosts made of network namespaces.

The load is a confluent-kafka (librdkafka) idempotent producer (enable.idempotence=true,
acks=all) producing numbered values to every partition from a thread; a send counts as
acknowledged only when its delivery report says so, at the partition and offset it gives.
Afterwards every partition is read from its start to its high watermark, and the queue checker
(queue_checker.py) must find no acknowledged value lost, no value at two offsets, no producer's
values out of order within a partition, and no acknowledged offset holding another value. Then
the three replicas' logs must be identical up to the high watermark (`ferry dump-log`).

What the tests take from the brokers (see cluster.py): leadership and ISR as the partition
state znodes say (/brokers/topics/T/partitions/P/state, under the /kafka chroot), the
controller as /controller says, live brokers as /brokers/ids. Broker settings:
zookeeper.session.timeout.ms=6000, replica.lag.time.max.ms=10000, default.replication.factor=3,
offsets.topic.replication.factor=3 (4 partitions), group.initial.rebalance.delay.ms=0; the
topics are created with min.insync.replicas=2.

The `fault` tests take a minute or so each; skip them with `-m 'not fault'`.
"""

from __future__ import annotations

import contextlib
import functools
import re
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import (Consumer, ConsumerGroupState,  # noqa: E402
                             KafkaException, Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

import netns  # noqa: E402
from cluster import SESSION_TIMEOUT_MS, ApacheEnsemble, BrokerCluster, waiting  # noqa: E402
from ensemble import FerryEnsemble  # noqa: E402
from kafka_servers import answers_api_versions  # noqa: E402
from queue_checker import Ack, QueueReport, Read, check  # noqa: E402
from servers import FERRY_BIN, wait_until  # noqa: E402

pytestmark = pytest.mark.timeout(300)

PARTITIONS = 3
MIN_INSYNC = 2
REPLICATION = {"replica.lag.time.max.ms": 10000}
needs_netns = pytest.mark.skipif(not netns.available(),
                                 reason="needs root and iproute2 for test hosts")


# ----- the cluster ----------------------------------------------------------------------------

@contextlib.contextmanager
def running(cluster: BrokerCluster, node):
    """Starts the cluster (ensemble and brokers), yields it, shuts everything down (also when
    the test fails); fails the test if a broker died on its own meanwhile."""
    cluster.attach(node)
    try:
        cluster.start()
        yield cluster
    finally:
        crashed = cluster.crashed()
        cluster.shutdown()
    if crashed:
        pytest.fail("brokers died during the test: " + "; ".join(
            f"{b} (exit code {b.process.returncode})" for b in crashed))


@pytest.fixture
def make_cluster(tmp_path, request):
    """`make_cluster(zookeeper="ferry"|"apache", overrides=None, on_test_hosts=False)`: three
    brokers on a three-server ensemble, started; with `on_test_hosts`, keepers on test hosts
    1-3 and brokers on hosts 4-6 (netns.TestHosts(6)), so that `cluster.cut(i)` works."""
    with contextlib.ExitStack() as stack:
        def make(zookeeper: str = "ferry", overrides: Optional[dict] = None,
                 on_test_hosts: bool = False) -> BrokerCluster:
            hosts = stack.enter_context(netns.TestHosts(6)) if on_test_hosts else None
            if zookeeper == "apache":
                assert hosts is None, "Apache ZooKeeper ensembles run on loopback only here"
                keepers = ApacheEnsemble(tmp_path / "apache")
            else:
                keepers = FerryEnsemble(tmp_path / "keepers", size=3, hosts=hosts)
            cluster = BrokerCluster(tmp_path / "brokers", keepers,
                                    overrides={**REPLICATION, **(overrides or {})},
                                    test_hosts=hosts, first_host=4)
            return stack.enter_context(running(cluster, request.node))
        yield make


@pytest.fixture
def cluster(make_cluster) -> BrokerCluster:
    return make_cluster()


def admin_of(cluster: BrokerCluster) -> AdminClient:
    return AdminClient({"bootstrap.servers": cluster.bootstrap, "socket.timeout.ms": 10000})


def create_topic(cluster: BrokerCluster, topic: str, partitions: int = PARTITIONS,
                 replication_factor: int = 3, min_insync: int = MIN_INSYNC,
                 timeout: float = 60.0):
    """Creates the topic through the brokers (CreateTopics) and waits until every partition
    has a leader and a full ISR in ZooKeeper; returns the partition states."""
    cluster.wait_for_metadata()
    admin = admin_of(cluster)
    new = NewTopic(topic, num_partitions=partitions, replication_factor=replication_factor,
                   config={"min.insync.replicas": str(min_insync)})
    admin.create_topics([new], operation_timeout=30)[topic].result(timeout=timeout)
    return cluster.wait_for_full_isr(topic, range(partitions), size=replication_factor,
                                     timeout=timeout)


def wait_for_metadata_leaders(cluster: BrokerCluster, topic: str, partitions: int = PARTITIONS,
                              timeout: float = 60.0):
    """Waits until Metadata (asked of the cluster) names a leader for every partition that is
    the one the partition state names; returns the topic's metadata."""
    admin = admin_of(cluster)

    def agreed():
        metadata = admin.list_topics(topic, timeout=10).topics[topic]
        if metadata.error is not None or len(metadata.partitions) != partitions:
            return None
        for p, partition in metadata.partitions.items():
            state = cluster.partition_state(topic, p)
            if state is None or partition.leader != state.leader:
                return None
        return metadata
    return wait_until(agreed, timeout, interval=0.2,
                      what=f"Metadata to name the leaders of {topic}'s partitions")


# ----- the load -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Delivered:
    ack: Ack
    sent_at: float  # time.monotonic() when produce() was called
    acked_at: float  # time.monotonic() when the delivery report said "written"


class ProduceLoad:
    """An idempotent confluent-kafka producer (acks=all) sending values `<name>-<n>` round-robin
    to the topic's partitions at `rate` per second from a thread, until stopped (then it
    flushes). `delivered` holds the acknowledged sends; `attempted` every value produced."""

    def __init__(self, bootstrap: str, topic: str, partitions: int = PARTITIONS,
                 rate: float = 300.0, name: str = "p", config: Optional[dict] = None) -> None:
        self.topic, self.partitions, self.rate, self.name = topic, partitions, rate, name
        self.config = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 120000,
            "request.timeout.ms": 5000,
            "socket.timeout.ms": 10000,
            "retry.backoff.ms": 100,
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500,
            "error_cb": self._on_error,
            **(config or {}),
        }
        self.delivered: list[Delivered] = []
        self.attempted: list[bytes] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.fatal: list[str] = []
        self.unflushed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"produce-{name}", daemon=True)

    def __enter__(self) -> "ProduceLoad":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self, timeout: float = 120.0) -> None:
        """Stops producing and waits for the outstanding sends' reports."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        assert not self._thread.is_alive(), "the producer did not finish flushing"

    def _on_error(self, error) -> None:
        self.errors.append(str(error))
        if error.fatal():
            self.fatal.append(str(error))

    def _report(self, seq: int, sent_at: float, error, message) -> None:
        if error is not None:
            self.failed.append(str(error))
            return
        ack = Ack(message.value(), message.partition(), message.offset(), producer=self.name,
                  seq=seq)
        self.delivered.append(Delivered(ack, sent_at, time.monotonic()))

    def _run(self) -> None:
        producer = Producer(self.config)
        interval = 1.0 / self.rate
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set() and not self.fatal:
            now = time.monotonic()
            if now < next_at:
                producer.poll(min(next_at - now, 0.05))
                continue
            value = f"{self.name}-{n:08d}".encode()
            try:
                producer.produce(self.topic, value=value, partition=n % self.partitions,
                                 on_delivery=functools.partial(self._report, n, now))
            except BufferError:
                producer.poll(0.05)
                continue
            self.attempted.append(value)
            n += 1
            next_at = max(next_at + interval, time.monotonic() - 0.5)  # no catch-up bursts
            producer.poll(0)
        self.unflushed = producer.flush(90)

    # What the test asks while it runs.

    def acks(self) -> list[Ack]:
        return [d.ack for d in list(self.delivered)]

    def count(self, partitions: Optional[Iterable[int]] = None) -> int:
        if partitions is None:
            return len(self.delivered)
        wanted = set(partitions)
        return sum(1 for d in list(self.delivered) if d.ack.partition in wanted)

    def wait_for_more(self, count: int = 200, partitions: Optional[Iterable[int]] = None,
                      timeout: float = 60.0) -> None:
        """Waits until `count` more sends (to `partitions`, default all) than now are
        acknowledged: producing goes on."""
        partitions = None if partitions is None else list(partitions)
        target = self.count(partitions) + count
        wait_until(lambda: self.count(partitions) >= target or self.fatal, timeout,
                   interval=0.05,
                   what=f"{count} more acknowledged sends to partitions "
                        f"{partitions or 'all'} (last errors: {self.errors[-3:]}, "
                        f"{self.failed[-3:]})")
        assert not self.fatal, f"the producer failed fatally: {self.fatal}"

    def first_ack_after(self, moment: float, partitions: Iterable[int],
                        timeout: float = 60.0) -> float:
        """The time the first send made after `moment` to one of `partitions` was
        acknowledged (waiting for it)."""
        wanted = set(partitions)

        def first() -> Optional[float]:
            times = [d.acked_at for d in list(self.delivered)
                     if d.sent_at >= moment and d.ack.partition in wanted]
            return min(times) if times else None
        return wait_until(first, timeout, interval=0.02,
                          what=f"an acknowledged send to partitions {sorted(wanted)} "
                               f"(last errors: {self.errors[-3:]})")

    def acked_between(self, start: float, end: float) -> list[Delivered]:
        return [d for d in list(self.delivered) if start < d.acked_at < end]


def read_all(bootstrap: str, topic: str, partitions: int = PARTITIONS,
             timeout: float = 60.0) -> list[Read]:
    """Every record of the topic from each partition's start to its high watermark (asked
    with ListOffsets), read with a confluent-kafka consumer."""
    consumer = Consumer({"bootstrap.servers": bootstrap,
                         "group.id": f"reader-{time.monotonic_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    reads: list[Read] = []
    try:
        bounds = {p: wait_until(lambda p=p: consumer.get_watermark_offsets(
            TopicPartition(topic, p), timeout=5), 30, interval=0.2,
            what=f"the watermarks of {topic}-{p}") for p in range(partitions)}
        consumer.assign([TopicPartition(topic, p, bounds[p][0]) for p in range(partitions)])
        remaining = {p for p, (low, high) in bounds.items() if high > low}
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=0.5):
                if message.error():
                    continue
                p = message.partition()
                reads.append(Read(p, message.offset(), message.value()))
                if message.offset() + 1 >= bounds[p][1]:
                    remaining.discard(p)
        assert not remaining, (f"partitions not read up to their high watermarks {bounds} "
                               f"within {timeout}s: {sorted(remaining)}")
    finally:
        consumer.close()
    return reads


def high_watermarks(cluster: BrokerCluster, topic: str,
                    partitions: int = PARTITIONS) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap,
                         "group.id": f"hw-{time.monotonic_ns()}"})
    try:
        return {p: wait_until(lambda p=p: consumer.get_watermark_offsets(
            TopicPartition(topic, p), timeout=5), 30, interval=0.2,
            what=f"the high watermark of {topic}-{p}")[1] for p in range(partitions)}
    finally:
        consumer.close()


def assert_no_anomalies(acks: list[Ack], reads: list[Read],
                        attempted: Optional[Iterable[bytes]] = None,
                        at_least: int = 100) -> QueueReport:
    report = check(acks, reads, attempted)
    print("queue checker:", report.summary())
    assert report.ok, report.summary()
    assert report.acked >= at_least, f"too few sends acknowledged: {report.acked}"
    return report


# ----- the replicas' logs ---------------------------------------------------------------------

def dumped_log(broker, topic: str, partition: int, below: int) -> tuple[list[str], list[str]]:
    """`ferry dump-log --print-data-log` of every segment of the partition's log directory on
    `broker`, in offset order: the batch lines (without their file position, which depends on
    where the broker rolled its segments) and the record lines, of the offsets below `below`."""
    directory = broker.partition_dir(topic, partition)
    segments = sorted(directory.glob("*.log"))
    assert segments, f"no segments in {directory}"
    batches, records = [], []
    for segment in segments:
        done = subprocess.run([str(FERRY_BIN), "dump-log", "--files", str(segment),
                               "--print-data-log"], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"dump-log {segment}: {done.stderr}"
        for line in done.stdout.splitlines():
            if line.startswith("| offset: "):
                if int(line.split()[2]) < below:
                    records.append(line)
            elif line.startswith("baseOffset: "):
                last = int(re.search(r"lastOffset: (-?\d+)", line)[1])
                if last < below:
                    batches.append(re.sub(r" position: \d+", "", line))
    return batches, records


def first_difference(a: list[str], b: list[str]) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"line {i}: {x!r} != {y!r}"
    return f"lengths {len(a)} != {len(b)}"


def assert_replicas_identical(cluster: BrokerCluster, topic: str,
                              partitions: int = PARTITIONS) -> None:
    """Every replica of every partition (all in the ISR, production stopped) holds the same
    batches and records as the leader below the high watermark, and the leader holds every
    offset from 0 up to it."""
    states = cluster.wait_for_full_isr(topic, range(partitions))
    ends = high_watermarks(cluster, topic, partitions)
    for p in range(partitions):
        leader = states[p].leader
        logs = {i: dumped_log(cluster.broker(i), topic, p, ends[p])
                for i in cluster.assignment(topic)[p]}
        leader_batches, leader_records = logs[leader]
        offsets = [int(line.split()[2]) for line in leader_records]
        assert offsets == list(range(ends[p])), (
            f"{topic}-{p} on its leader {leader}: offsets below the high watermark {ends[p]} "
            f"are not 0..{ends[p] - 1}")
        for i, (batches, records) in logs.items():
            assert records == leader_records, (
                f"{topic}-{p}: broker {i}'s records differ from leader {leader}'s below the "
                f"high watermark {ends[p]}: {first_difference(records, leader_records)}")
            assert batches == leader_batches, (
                f"{topic}-{p}: broker {i}'s batches differ from leader {leader}'s below the "
                f"high watermark {ends[p]}: {first_difference(batches, leader_batches)}")
    print(f"replicas of {topic} identical up to the high watermarks {ends}")


def verify(cluster: BrokerCluster, topic: str, load: ProduceLoad,
           also_attempted: Iterable[bytes] = ()) -> QueueReport:
    """After the load stopped: every broker back in every ISR, the whole topic read and
    checked, the replicas compared."""
    assert not load.fatal, f"the producer failed fatally: {load.fatal}"
    cluster.wait_for_full_isr(topic, range(PARTITIONS))
    reads = read_all(cluster.bootstrap, topic)
    report = assert_no_anomalies(load.acks(), reads, [*load.attempted, *also_attempted])
    assert_replicas_identical(cluster, topic)
    return report


def under_load(cluster: BrokerCluster, topic: str, fault: Callable[[ProduceLoad], None],
               before: int = 300, after: int = 300) -> ProduceLoad:
    """Creates the topic, produces, runs `fault` while producing, produces some more, stops,
    and verifies."""
    create_topic(cluster, topic)
    with ProduceLoad(cluster.bootstrap, topic) as load:
        load.wait_for_more(before)
        fault(load)
        load.wait_for_more(after)
    verify(cluster, topic, load)
    return load


def kill_a_leader(cluster: BrokerCluster, topic: str, load: ProduceLoad) -> float:
    """kill -9 of partition 0's leader; its partitions get other leaders from their ISRs,
    which shrink to 2, and producing to them goes on (min.insync.replicas=2); then it returns
    and rejoins every ISR. Returns the failover time: kill to the first acknowledged send
    (made after the kill) to a partition it led."""
    old = cluster.leader_of(topic, 0)
    led = cluster.partitions_led_by(topic, old)
    killed = time.monotonic()
    cluster.kill9(old)
    new = cluster.wait_for_leader(topic, 0, excluding=(old,), timeout=60)
    elected = time.monotonic() - killed
    acked = load.first_ack_after(killed, led, timeout=60) - killed
    print(f"leader {old} of {topic} partitions {led} killed: broker {new} leads {topic}-0 after "
          f"{elected:.2f} s; failover (kill to the first acknowledged produce to its "
          f"partitions) {acked:.2f} s")
    for p in range(PARTITIONS):
        state = cluster.wait_for_isr(topic, p, 2, timeout=60)
        assert old not in state.isr and state.leader != old, state
    load.wait_for_more(150, partitions=led)
    cluster.start_broker(old)
    cluster.wait_for_full_isr(topic, range(PARTITIONS))
    return acked


# ----- the harness, today ---------------------------------------------------------------------

def test_harness_starts_three_brokers_that_register_on_a_ferry_ensemble(cluster):
    assert cluster.registered_ids() == {1, 2, 3}
    for i, broker in cluster.brokers.items():
        assert answers_api_versions(broker.host, broker.port)
        registration = cluster.registration(i)
        assert f"PLAINTEXT://{broker.bootstrap}" in registration["endpoints"], registration
    assert cluster.controller_id() in {1, 2, 3}
    assert cluster.controller_epoch() >= 1
    config = cluster.broker(2).config_path.read_text()
    assert "broker.id=2\n" in config
    assert f"zookeeper.connect={cluster.zookeeper.hosts}/kafka\n" in config
    assert "zookeeper.session.timeout.ms=6000\n" in config


def test_harness_kill9_pause_and_restart_of_a_broker(cluster):
    """A killed broker's registration goes when its session expires, and it registers again
    when started; a paused one loses its registration past its session and registers again on
    a new session once resumed."""
    controller = cluster.controller_id()
    victim, sleeper = [i for i in cluster.brokers if i != controller][:2]
    cluster.kill9(victim)
    cluster.wait_for_unregistered(victim, timeout=SESSION_TIMEOUT_MS / 1000 * 3 + 10)
    cluster.start_broker(victim)
    assert cluster.registered_ids() == {1, 2, 3}
    cluster.pause(sleeper)
    try:
        cluster.wait_for_unregistered(sleeper, timeout=SESSION_TIMEOUT_MS / 1000 * 3 + 10)
    finally:
        cluster.resume(sleeper)
    cluster.wait_for_registered({sleeper}, timeout=60)
    assert cluster.broker(sleeper).is_alive()
    cluster.restart(victim)
    assert cluster.registered_ids() == {1, 2, 3}


# ----- metadata and topics --------------------------------------------------------------------

def test_metadata_lists_three_brokers_and_the_controller(cluster):
    admin = admin_of(cluster)

    def complete():
        metadata = admin.list_topics(timeout=10)
        return metadata if len(metadata.brokers) == 3 else None
    metadata = wait_until(complete, 30, interval=0.2, what="Metadata to list three brokers")
    assert {i: (b.host, b.port) for i, b in metadata.brokers.items()} == {
        i: (b.host, b.port) for i, b in cluster.brokers.items()}
    assert metadata.controller_id == cluster.controller_id()
    # Every broker answers so, not only the one asked first.
    for broker in cluster.brokers.values():
        one = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10)
        assert sorted(one.brokers) == [1, 2, 3], f"{broker} lists {sorted(one.brokers)}"
        assert one.controller_id == metadata.controller_id


def test_a_topic_with_replication_factor_3_is_replicated_on_every_broker(cluster):
    topic = "rf3"
    states = create_topic(cluster, topic)
    assignment = cluster.assignment(topic)
    assert sorted(assignment) == [0, 1, 2]
    for p, replicas in assignment.items():
        assert sorted(replicas) == [1, 2, 3], assignment
        # The preferred (first) replica leads a fresh partition, whose ISR is all replicas.
        assert states[p].leader == replicas[0] and sorted(states[p].isr) == [1, 2, 3], states
        assert states[p].leader_epoch >= 0
    assert {s.leader for s in states.values()} == {1, 2, 3}, f"leaders not spread: {states}"

    metadata = wait_for_metadata_leaders(cluster, topic)
    for p, partition in metadata.partitions.items():
        assert sorted(partition.replicas) == [1, 2, 3]
        wait_until(lambda p=p: sorted(admin_of(cluster).list_topics(topic, timeout=10)
                                      .topics[topic].partitions[p].isrs) == [1, 2, 3],
                   30, interval=0.2, what=f"Metadata to show the full ISR of {topic}-{p}")
    for i, broker in cluster.brokers.items():
        for p in range(PARTITIONS):
            assert broker.partition_dir(topic, p).is_dir(), f"broker {i} has no {topic}-{p}"

    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    admin = admin_of(cluster)  # (kept referenced: a destroyed client fails its futures)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    assert configs["min.insync.replicas"].value == str(MIN_INSYNC)


def test_replicas_are_identical_up_to_the_high_watermark(cluster):
    topic = "identical"
    create_topic(cluster, topic)
    with ProduceLoad(cluster.bootstrap, topic, rate=1000) as load:
        load.wait_for_more(3000)
    verify(cluster, topic, load)


# ----- faults under load ----------------------------------------------------------------------

@pytest.mark.fault
def test_leader_kill9_under_an_idempotent_producer_loses_nothing(cluster):
    failover = []
    under_load(cluster, "leader-kill",
               lambda load: failover.append(kill_a_leader(cluster, "leader-kill", load)))
    print(f"failover time: {failover[0]:.2f} s")


# zookeeper.session.timeout.ms of the clusters whose killed brokers must be replaced before
# their sessions expire.
LONG_SESSION = {"zookeeper.session.timeout.ms": "20000"}


def kill9_before_session_expiry(cluster, topic: str, choose_victim,
                                after_kill=lambda victim, killed: None) -> None:
    """Under a produce load, kill -9 the broker `choose_victim(cluster)` names (then
    `after_kill(victim, killed)`, with the monotonic time of the kill, may check more) and
    check that every partition's leadership and ISR left it while its session was still
    alive; then restart it and verify every acknowledged message."""
    create_topic(cluster, topic)
    with ProduceLoad(cluster.bootstrap, topic) as load:
        load.wait_for_more(300)
        victim = choose_victim(cluster)
        led = cluster.partitions_led_by(topic, victim)
        killed = time.monotonic()
        cluster.kill9(victim)
        after_kill(victim, killed)
        for p in range(PARTITIONS):
            state = cluster.wait_for_isr(topic, p, 2, timeout=60)
            assert victim not in state.isr and state.leader != victim, state
        moved = time.monotonic() - killed
        assert victim in cluster.registered_ids(), (
            f"broker {victim}'s leaderships moved only after its session expired ({moved:.1f} s)")
        acked = load.first_ack_after(killed, led, timeout=60) - killed if led else 0.0
        print(f"broker {victim} (leader of {led}) killed: leaderships and ISRs moved in "
              f"{moved:.2f} s, first acknowledged produce to its partitions after {acked:.2f} s, "
              f"its session still alive")
        load.wait_for_more(300)
    cluster.start_broker(victim)
    verify(cluster, topic, load)


@pytest.mark.fault
def test_a_killed_leader_is_replaced_before_its_session_expires(make_cluster):
    """kill -9 of a leader that is not the controller: its port refuses connections at once,
    so the controller moves its leaderships without waiting for its ZooKeeper session (20 s
    here) to expire; producing goes on and nothing acknowledged is lost."""
    topic = "fast-failover"

    def a_leader_not_the_controller(cluster) -> int:
        controller = cluster.controller_id()
        leaders = {cluster.leader_of(topic, p) for p in range(PARTITIONS)} - {controller}
        return min(leaders) if leaders else next(i for i in cluster.brokers if i != controller)

    kill9_before_session_expiry(make_cluster(overrides=LONG_SESSION), topic,
                                a_leader_not_the_controller)


@pytest.mark.fault
def test_a_killed_controller_is_replaced_before_its_session_expires(make_cluster):
    """kill -9 of the controller while it leads partitions: the other brokers find its port
    refusing connections, delete /controller (its session would hold it for 20 s here), one
    of them is elected and moves the dead broker's leaderships; nothing acknowledged is lost."""
    cluster = make_cluster(overrides=LONG_SESSION)
    epoch = cluster.controller_epoch()

    def a_successor_is_elected(victim: int, killed: float) -> None:
        successor = cluster.wait_for_controller(excluding=(victim,), timeout=60)
        assert victim in cluster.registered_ids(), "elected only after the session expired"
        assert cluster.controller_epoch() > epoch
        print(f"controller {victim} killed: broker {successor} elected after "
              f"{time.monotonic() - killed:.2f} s")

    kill9_before_session_expiry(cluster, "controller-failover",
                                lambda cluster: cluster.wait_for_controller(),
                                after_kill=a_successor_is_elected)


@pytest.mark.fault
def test_a_stopping_leader_hands_its_partitions_over_first(cluster):
    """SIGTERM: controlled shutdown moves the broker's leaderships to other ISR members before
    it stops, so producing goes on without waiting for its session to expire."""
    topic = "controlled-shutdown"
    timings = []

    def fault(load: ProduceLoad) -> None:
        old = cluster.leader_of(topic, 0)
        led = cluster.partitions_led_by(topic, old)
        stopping = time.monotonic()
        cluster.stop_broker(old)
        stopped = time.monotonic() - stopping
        # Moved before the broker's session went: every partition already has another leader.
        for p in led:
            state = cluster.partition_state(topic, p)
            assert state.leader not in (old, -1) and old not in state.isr, state
        acked = load.first_ack_after(stopping, led, timeout=60) - stopping
        timings.append((stopped, acked))
        load.wait_for_more(150, partitions=led)
        cluster.start_broker(old)
        cluster.wait_for_full_isr(topic, range(PARTITIONS))

    under_load(cluster, topic, fault)
    stopped, acked = timings[0]
    print(f"controlled shutdown: broker stopped in {stopped:.2f} s; first acknowledged produce "
          f"to its partitions {acked:.2f} s after the SIGTERM")
    assert acked < 6.0, "leadership moved only when the session expired"


def test_preferred_leaders_come_back_by_themselves(make_cluster):
    """auto.leader.rebalance.enable: after a broker returns, the controller gives it back the
    partitions it is the first replica of."""
    cluster = make_cluster(overrides={"leader.imbalance.check.interval.seconds": "1"})
    topic = "rebalance"
    create_topic(cluster, topic)
    preferred = {p: replicas[0] for p, replicas in cluster.assignment(topic).items()}
    victim = preferred[0]
    cluster.stop_broker(victim)
    assert cluster.wait_for_leader(topic, 0, excluding=(victim,)) != victim
    cluster.start_broker(victim)
    cluster.wait_for_full_isr(topic, range(PARTITIONS))
    waiting(lambda: all(cluster.partition_state(topic, p).leader == leader
                        for p, leader in preferred.items()),
            60, "preferred leaders back", lambda: {p: cluster.partition_state(topic, p)
                                                   for p in preferred})


@pytest.mark.fault
def test_controller_kill9_moves_the_controller_and_loses_nothing(cluster):
    topic = "controller-kill"

    def fault(load: ProduceLoad) -> None:
        old = cluster.controller_id()
        epoch = cluster.controller_epoch()
        led = cluster.partitions_led_by(topic, old)
        killed = time.monotonic()
        cluster.kill9(old)
        new = cluster.wait_for_controller(excluding=(old,), timeout=60)
        print(f"controller {old} killed: broker {new} controls after "
              f"{time.monotonic() - killed:.2f} s")
        assert cluster.controller_epoch() > epoch
        for p in led:
            cluster.wait_for_leader(topic, p, excluding=(old,), timeout=60)
        load.wait_for_more(150, partitions=led or None)
        # The new controller does a controller's work: a topic on the two live brokers.
        states = create_topic(cluster, f"{topic}-after", replication_factor=2)
        assert all(old not in s.isr for s in states.values()), states
        cluster.start_broker(old)
        cluster.wait_for_full_isr(topic, range(PARTITIONS))
        assert cluster.controller_id() == new, "a returning broker must not take control"

    under_load(cluster, topic, fault)


@pytest.mark.fault
def test_a_leader_paused_past_its_session_is_replaced_and_rejoins_the_isr(cluster):
    topic = "paused"

    def fault(load: ProduceLoad) -> None:
        old = cluster.leader_of(topic, 0)
        led = cluster.partitions_led_by(topic, old)
        cluster.pause(old)
        paused = time.monotonic()
        try:
            new = cluster.wait_for_leader(topic, 0, excluding=(old,), timeout=60)
            print(f"leader {old} paused: broker {new} leads {topic}-0 after "
                  f"{time.monotonic() - paused:.2f} s")
            cluster.wait_for_unregistered(old, timeout=60)
            load.wait_for_more(150, partitions=led)
        finally:
            cluster.resume(old)
        cluster.wait_for_registered({old}, timeout=60)
        cluster.wait_for_full_isr(topic, range(PARTITIONS))
        assert cluster.broker(old).is_alive()

    under_load(cluster, topic, fault)


def produce_refused(bootstrap: str, topic: str, partition: int, value: bytes) -> str:
    """One acks=all send with kafka-python, without retries; the name of the error it gets
    (or "acknowledged")."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", retries=0,
                             enable_idempotence=False, request_timeout_ms=10000,
                             max_block_ms=20000)
    try:
        try:
            producer.send(topic, value=value, partition=partition).get(timeout=30)
            return "acknowledged"
        except KafkaError as error:
            return type(error).__name__
    finally:
        producer.close(timeout=5)


@pytest.mark.fault
def test_two_of_three_brokers_down_refuse_writes_lose_nothing_and_resume(cluster):
    """min.insync.replicas=2: with one broker of three left, acks=all sends are refused with
    NOT_ENOUGH_REPLICAS and nothing is acknowledged; with the two back, producing resumes and
    every acknowledged send is there."""
    topic = "two-down"
    probes: list[bytes] = []
    grace = 2.0  # for answers already on their way when the brokers died

    def fault(load: ProduceLoad) -> None:
        survivor = cluster.controller_id()
        victims = [i for i in cluster.brokers if i != survivor]
        down = time.monotonic()
        for i in victims:
            cluster.kill9(i)
        for p in range(PARTITIONS):
            state = cluster.wait_for_isr(topic, p, 1, timeout=60)
            assert state.isr == (survivor,) and state.leader == survivor, state
        print(f"two brokers {victims} killed: every ISR is [{survivor}] after "
              f"{time.monotonic() - down:.2f} s")
        deadline = time.monotonic() + 30
        answer = None
        while answer != "NotEnoughReplicasError" and time.monotonic() < deadline:
            probes.append(f"probe-{len(probes)}".encode())
            answer = produce_refused(cluster.bootstrap_of([survivor]), topic, 0, probes[-1])
            assert answer != "acknowledged", "a send was acknowledged by one replica of three"
        assert answer == "NotEnoughReplicasError", f"the last probe got {answer}"
        wait_until(lambda: time.monotonic() - down > grace + 3, 10, what="an outage to watch")
        restarting = time.monotonic()
        late = load.acked_between(down + grace, restarting)
        assert not late, f"{len(late)} sends acknowledged with one broker up: {late[:3]}"
        for i in victims:
            cluster.start_broker(i)
        cluster.wait_for_full_isr(topic, range(PARTITIONS))
        print(f"brokers back: full ISRs {time.monotonic() - restarting:.2f} s after restarting")

    create_topic(cluster, topic)
    with ProduceLoad(cluster.bootstrap, topic) as load:
        load.wait_for_more(300)
        fault(load)
        load.wait_for_more(300)
    verify(cluster, topic, load, also_attempted=probes)


class GroupMember(threading.Thread):
    """A confluent-kafka consumer of a group, committing synchronously after each batch it
    consumed; it records what it read and when commits succeeded. It commits holding
    `commits`: a test holding that lock knows no commit of this member is in flight."""

    def __init__(self, name: str, bootstrap: str, group: str, topic: str) -> None:
        super().__init__(name=name, daemon=True)
        self.config = {"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
                       "enable.auto.commit": False, "auto.offset.reset": "earliest",
                       "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                       "socket.timeout.ms": 10000}
        self.topic = topic
        self.reads: list[Read] = []
        self.committed_at: list[float] = []
        self.commit_errors: list[str] = []
        self.assigned: list[int] = []
        self.stopping = threading.Event()
        self.commits = threading.Lock()
        self.failure: Optional[BaseException] = None

    def run(self) -> None:
        try:
            consumer = Consumer(self.config)
            consumer.subscribe([self.topic], on_assign=self._on_assign)
            try:
                while not self.stopping.is_set():
                    messages = [m for m in consumer.consume(200, timeout=0.5) if not m.error()]
                    for m in messages:
                        self.reads.append(Read(m.partition(), m.offset(), m.value()))
                    if messages:
                        with self.commits:
                            try:
                                consumer.commit(asynchronous=False)
                                self.committed_at.append(time.monotonic())
                            except KafkaException as error:
                                self.commit_errors.append(str(error))
            finally:
                consumer.close()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.failure = error

    def _on_assign(self, consumer, partitions) -> None:
        self.assigned = [tp.partition for tp in partitions]


def java_string_hash(text: str) -> int:
    """Java's String.hashCode (as a signed 32-bit int)."""
    h = 0
    for unit in struct.unpack(f"<{len(text.encode('utf-16-le')) // 2}H",
                              text.encode("utf-16-le")):
        h = (31 * h + unit) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def offsets_partition_of(group: str, partitions: int) -> int:
    """The __consumer_offsets partition of a group, as Kafka chooses it
    (Utils.abs(groupId.hashCode) % offsets.topic.num.partitions); its leader coordinates the
    group."""
    return (java_string_hash(group) & 0x7FFFFFFF) % partitions


def describe_group(cluster: BrokerCluster, group: str):
    """DescribeGroups with a fresh confluent-kafka AdminClient. Only while every broker is up:
    librdkafka 2.16's admin client aborts the process (rd_kafka_enq_once_del_source_return:
    assertion `eonce->refcnt > 0') when a group request waits on a coordinator that was
    killed."""
    admin = admin_of(cluster)
    return admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)


def committed_offsets(cluster: BrokerCluster, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets (OffsetFetch through a consumer of the group that does not
    join it); partitions without one are left out."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)],
                                   timeout=15)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in found if tp.error is None and tp.offset >= 0}


def first_clean_committed_offsets(cluster: BrokerCluster, group: str, topic: str,
                                  timeout: float = 60) -> dict[int, int]:
    """The group's committed offsets as a coordinator first answers them without an error (one
    being elected or loading answers with an error, and is asked again): that answer must be
    the whole truth, an offset missing from it is one the coordinator lost."""
    deadline = time.monotonic() + timeout
    while True:
        consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group,
                             "enable.auto.commit": False})
        try:
            found = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)],
                                       timeout=15)
            errors = [tp.error for tp in found if tp.error is not None]
            if not errors:
                return {tp.partition: tp.offset for tp in found}
            last: object = errors
        except KafkaException as error:
            last = error
        finally:
            consumer.close()
        assert time.monotonic() < deadline, f"no OffsetFetch answered without error: {last}"
        time.sleep(0.2)


@pytest.mark.fault
def test_a_consumer_group_of_three_keeps_its_offsets_through_the_coordinators_kill9(cluster):
    """Three confluent-kafka consumers in a group, committing after every batch, while the
    group's coordinator (the leader of its __consumer_offsets partition) is killed: another
    broker coordinates, answers OffsetFetch with exactly the offsets the killed one had
    acknowledged (the members' commits are held meanwhile), the members commit through it, no
    committed offset goes back, and in the end the group has read every acknowledged send and
    committed up to the high watermarks."""
    topic, group = "grouped", "three"
    create_topic(cluster, topic)
    offsets_partitions = int(cluster.broker(1).overrides["offsets.topic.num.partitions"])
    offsets_partition = offsets_partition_of(group, offsets_partitions)

    members = [GroupMember(f"member-{n}", cluster.bootstrap, group, topic) for n in range(3)]
    with ProduceLoad(cluster.bootstrap, topic) as load:
        load.wait_for_more(200)
        for member in members:
            member.start()
        try:
            wait_until(lambda: (lambda d: d.state == ConsumerGroupState.STABLE
                                and len(d.members) == 3)(describe_group(cluster, group)),
                       60, interval=0.2, what="the group to be stable with three members")
            wait_until(lambda: all(m.committed_at and m.assigned for m in members), 60,
                       interval=0.1, what="every member to consume and commit")
            coordinator = describe_group(cluster, group).coordinator.id
            cluster.wait_for_full_isr("__consumer_offsets", [offsets_partition])
            assert coordinator == cluster.leader_of("__consumer_offsets", offsets_partition), (
                f"the coordinator is not the leader of __consumer_offsets-{offsets_partition}")
            # No commit in flight from here until the new coordinator has answered: what the
            # killed coordinator acknowledged is exactly what the new one must have.
            for member in members:
                member.commits.acquire()
            try:
                before = committed_offsets(cluster, group, topic)
                assert sorted(before) == [0, 1, 2], before
                killed = time.monotonic()
                cluster.kill9(coordinator)
                new = cluster.wait_for_leader("__consumer_offsets", offsets_partition,
                                              excluding=(coordinator,), timeout=60)
                answered = first_clean_committed_offsets(cluster, group, topic)
                print(f"new coordinator {new} answered OffsetFetch "
                      f"{time.monotonic() - killed:.2f} s after the kill: {answered}")
                assert answered == before, (
                    f"the new coordinator {new} answered {answered}; the killed coordinator "
                    f"had acknowledged {before}")
            finally:
                for member in members:
                    member.commits.release()
            wait_until(lambda: all(m.committed_at and m.committed_at[-1] > killed
                                   for m in members), 60, interval=0.1,
                       what="every member to commit through the new coordinator (commit "
                            f"errors: {[m.commit_errors[-2:] for m in members]})")
            print(f"group coordinator {coordinator} killed: broker {new} leads "
                  f"__consumer_offsets-{offsets_partition}, every member committed again "
                  f"after {time.monotonic() - killed:.2f} s")
            after = committed_offsets(cluster, group, topic)
            for p, offset in before.items():
                assert after.get(p, -1) >= offset, (
                    f"committed offsets went back: before the kill {before}, after {after}")
            load.wait_for_more(150)
            cluster.start_broker(coordinator)
            cluster.wait_for_full_isr(topic, range(PARTITIONS))
            cluster.wait_for_full_isr("__consumer_offsets", [offsets_partition])
            assert describe_group(cluster, group).coordinator.id == cluster.leader_of(
                "__consumer_offsets", offsets_partition)
            load.stop()
            ends = high_watermarks(cluster, topic)
            wait_until(lambda: committed_offsets(cluster, group, topic) == ends, 60,
                       interval=0.2, what=f"the group to commit up to the high watermarks {ends}")
        finally:
            for member in members:
                member.stopping.set()
            for member in members:
                member.join(60)
    for member in members:
        assert member.failure is None, f"{member.name} failed: {member.failure!r}"
    # What the group read (positions read twice after a rebalance are no anomaly).
    assert_no_anomalies(load.acks(), [r for m in members for r in m.reads], load.attempted)
    assert committed_offsets(cluster, group, topic) == ends
    verify(cluster, topic, load)


@pytest.mark.fault
def test_kafka_python_clients_through_a_leader_failover(cluster):
    """kafka-python's admin client creates and describes the topic, its idempotent producer
    sends and its consumer reads while partition 0's leader is killed and returns."""
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTopicPartition

    topic = "kafka-python"
    bootstrap = cluster.bootstrap.split(",")
    cluster.wait_for_metadata()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        admin.create_topics({topic: {"num_partitions": PARTITIONS, "replication_factor": 3,
                                     "configs": {"min.insync.replicas": str(MIN_INSYNC)}}},
                            timeout_ms=30000)
        cluster.wait_for_full_isr(topic, range(PARTITIONS))
        described = wait_until(lambda: (lambda t: t if t and all(
            sorted(p["isr_nodes"]) == [1, 2, 3] for p in t[0]["partitions"]) else None)(
            admin.describe_topics([topic])), 30, interval=0.2,
            what="kafka-python's describe_topics to show full ISRs")
        for partition in described[0]["partitions"]:
            assert sorted(partition["replica_nodes"]) == [1, 2, 3], partition
        # (Not describe_cluster: kafka-python 3.0 fails on DescribeCluster v0 answers, which
        # lack the EndpointType field of v1, as Kafka before 3.7 gives them.)
    finally:
        admin.close()

    delivered: list[Ack] = []
    failures: list[str] = []
    attempted: list[bytes] = []
    reads: list[Read] = []
    stop_reading = threading.Event()
    lock = threading.Lock()

    def on_sent(seq: int, metadata) -> None:
        with lock:
            delivered.append(Ack(f"k-{seq:08d}".encode(), metadata.partition, metadata.offset,
                                 producer="kafka-python", seq=seq))

    def consume() -> None:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                 enable_auto_commit=False, auto_offset_reset="earliest",
                                 request_timeout_ms=30000)
        try:
            consumer.assign([KTopicPartition(topic, p) for p in range(PARTITIONS)])
            while not stop_reading.is_set():
                for records in consumer.poll(timeout_ms=500).values():
                    reads.extend(Read(r.partition, r.offset, r.value) for r in records)
        finally:
            consumer.close()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                             linger_ms=5, request_timeout_ms=10000, delivery_timeout_ms=120000,
                             retry_backoff_ms=100)
    seq = 0

    def send(count: int) -> None:
        nonlocal seq
        for _ in range(count):
            value = f"k-{seq:08d}".encode()
            future = producer.send(topic, value=value, partition=seq % PARTITIONS)
            future.add_callback(functools.partial(on_sent, seq))
            future.add_errback(lambda error: failures.append(repr(error)))
            attempted.append(value)
            seq += 1
            time.sleep(0.003)

    try:
        send(300)
        old = cluster.leader_of(topic, 0)
        led = cluster.partitions_led_by(topic, old)
        killed = time.monotonic()
        cluster.kill9(old)
        sender = threading.Thread(target=send, args=(600,), daemon=True)
        sender.start()
        new = cluster.wait_for_leader(topic, 0, excluding=(old,), timeout=60)
        wait_until(lambda: sum(1 for a in list(delivered) if a.partition in led
                               and a.seq >= 300) >= 50, 60, interval=0.05,
                   what=f"kafka-python's sends to {led} acknowledged after the failover "
                        f"(failures: {failures[-3:]})")
        print(f"kafka-python: leader {old} killed, broker {new} leads, sends acknowledged "
              f"again after {time.monotonic() - killed:.2f} s")
        sender.join(120)
        cluster.start_broker(old)
        cluster.wait_for_full_isr(topic, range(PARTITIONS))
        send(300)
        producer.flush(timeout=90)
    finally:
        producer.close(timeout=10)
    # The consumer, reading all along, reads up to the high watermarks.
    ends = high_watermarks(cluster, topic)
    try:
        wait_until(lambda: all(any(r.partition == p and r.offset == ends[p] - 1
                                   for r in list(reads)) for p in ends if ends[p] > 0),
                   60, interval=0.2, what=f"kafka-python's consumer to reach {ends}")
    finally:
        stop_reading.set()
        reader.join(30)
    assert_no_anomalies(delivered, reads, attempted)
    verify_reads = read_all(cluster.bootstrap, topic)
    assert_no_anomalies(delivered, verify_reads, attempted)
    assert_replicas_identical(cluster, topic)


@pytest.mark.fault
def test_leader_kill9_on_an_apache_zookeeper_ensemble(make_cluster):
    cluster = make_cluster(zookeeper="apache")
    assert cluster.registered_ids() == {1, 2, 3}
    topic = "on-apache"
    under_load(cluster, topic, lambda load: kill_a_leader(cluster, topic, load))


@pytest.mark.fault
@needs_netns
def test_a_leader_cut_off_from_zookeeper_and_the_brokers_then_healed_loses_nothing(
        make_cluster):
    """Keepers on test hosts 1-3, brokers on 4-6. Partition 0's leader's host is cut off:
    the others elect new leaders once its session expires, and producing goes on; healed, it
    registers again, truncates what it wrote alone, and rejoins every ISR."""
    cluster = make_cluster(on_test_hosts=True)
    topic = "cut-off"

    def fault(load: ProduceLoad) -> None:
        old = cluster.leader_of(topic, 0)
        led = cluster.partitions_led_by(topic, old)
        cluster.cut(old)
        cut = time.monotonic()
        try:
            new = cluster.wait_for_leader(topic, 0, excluding=(old,), timeout=60)
            print(f"leader {old} cut off: broker {new} leads {topic}-0 after "
                  f"{time.monotonic() - cut:.2f} s")
            cluster.wait_for_unregistered(old, timeout=60)
            acked = load.first_ack_after(cut, led, timeout=60)
            print(f"failover (cut to the first acknowledged produce to {led}): "
                  f"{acked - cut:.2f} s")
            load.wait_for_more(150, partitions=led)
        finally:
            cluster.heal(old)
        cluster.wait_for_registered({old}, timeout=60)
        cluster.wait_for_full_isr(topic, range(PARTITIONS))
        assert cluster.broker(old).is_alive()

    under_load(cluster, topic, fault)
