"""The broker's Prometheus page (`ferry.http.port`) on a three-broker cluster: the figures
operators chart, under the names the JMX exporter's Kafka rules give Kafka's MBeans, parsed by
the Prometheus client library's own parser (so the text format is checked too).

Traffic per topic (bytes and messages in, bytes out to consumers and to followers), request
counts and times per API, partitions and leaders, under-replicated partitions and ISR shrinks
and expands (a follower paused past replica.lag.time.max.ms, then resumed), the active
controller, log size and offsets per partition, and consumer lag per group and partition.
"""

from __future__ import annotations

import contextlib
import urllib.request
import uuid
from collections import defaultdict

import pytest
from confluent_kafka import Consumer, Producer
from prometheus_client.parser import text_string_to_metric_families

from cluster import BrokerCluster
from ensemble import FerryEnsemble
from servers import free_port, wait_until
from test_cluster import REPLICATION, create_topic, running

TOPIC = "metered"
PARTITIONS = 3
MESSAGES = 100


@pytest.fixture
def cluster(tmp_path, request):
    cluster = BrokerCluster(tmp_path / "brokers", FerryEnsemble(tmp_path / "keepers", size=3),
                            overrides={**REPLICATION, "replica.lag.time.max.ms": 3000})
    for broker in cluster.brokers.values():
        broker.metrics_port = free_port()
        broker.overrides["ferry.http.port"] = broker.metrics_port
    with contextlib.ExitStack() as stack:
        yield stack.enter_context(running(cluster, request.node))


def scrape(broker) -> dict[str, list[tuple[dict, float]]]:
    """Every sample of the broker's page: name -> [(labels, value)]."""
    url = f"http://127.0.0.1:{broker.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, list[tuple[dict, float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def value(samples, name: str, **labels) -> float:
    """The one sample of `name` with exactly `labels`; 0 when absent."""
    found = [v for l, v in samples.get(name, []) if l == {k: str(v) for k, v in labels.items()}]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else 0.0


def total(cluster, name: str, skip: tuple[int, ...] = (), **labels) -> float:
    """The sum over the running brokers (but `skip`: a paused one would not answer)."""
    return sum(value(scrape(b), name, **labels) for i, b in cluster.brokers.items()
               if b.is_alive() and i not in skip)


def test_traffic_partitions_controller_logs_and_lag(cluster):
    create_topic(cluster, TOPIC, PARTITIONS)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(MESSAGES):
        producer.produce(TOPIC, value=f"m-{i:04}".encode(), partition=i % PARTITIONS)
    assert producer.flush(30) == 0

    group = f"metrics-{uuid.uuid4()}"
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([TOPIC])
    consumed, next_offsets = 0, {}
    try:
        while consumed < 60:
            msg = consumer.poll(1.0)
            if msg is not None and not msg.error():
                consumed += 1
                next_offsets[msg.partition()] = msg.offset() + 1
                consumer.commit(message=msg, asynchronous=False)
    finally:
        consumer.close()

    # Each record was appended once by its leader; followers' copies are replication.
    assert total(cluster, "kafka_server_brokertopicmetrics_messagesin_total",
                 topic=TOPIC) == MESSAGES
    assert total(cluster, "kafka_server_brokertopicmetrics_bytesin_total", topic=TOPIC) > 0
    assert total(cluster, "kafka_server_brokertopicmetrics_bytesout_total", topic=TOPIC) > 0
    wait_until(lambda: total(cluster, "kafka_server_brokertopicmetrics_replicationbytesout_total",
                             topic=TOPIC) > 0, 30, what="followers' fetches to be counted")
    assert total(cluster, "kafka_network_requestmetrics_totaltimems_count",
                 request="Produce") > 0

    assert total(cluster, "kafka_controller_kafkacontroller_activecontrollercount") == 1
    assert total(cluster, "kafka_controller_kafkacontroller_offlinepartitionscount") == 0
    for broker in cluster.brokers.values():
        samples = scrape(broker)
        hosted = value(samples, "kafka_server_replicamanager_partitioncount")
        assert hosted >= PARTITIONS, "every broker hosts every partition (replication 3)"
        for p in range(PARTITIONS):
            assert value(samples, "kafka_log_log_size", topic=TOPIC, partition=p) > 0
    wait_until(lambda: total(cluster, "kafka_server_replicamanager_underreplicatedpartitions")
               == 0, 30, what="no under-replicated partition")
    ends = {p: max(value(scrape(b), "kafka_log_log_logendoffset", topic=TOPIC, partition=p)
                   for b in cluster.brokers.values()) for p in range(PARTITIONS)}
    assert sum(ends.values()) == MESSAGES

    # The coordinator (which hosts every partition) reports the group's lag on each partition
    # it committed: what is left after the committed offset.
    expected = {str(p): ends[p] - offset for p, offset in next_offsets.items()}

    def lag() -> dict[str, float]:
        return {l["partition"]: v for b in cluster.brokers.values()
                for l, v in scrape(b).get("kafka_consumergroup_lag", [])
                if l.get("consumergroup") == group}
    wait_until(lambda: lag() == expected, 30, what=f"the group's lag {expected}")


@pytest.mark.fault
def test_isr_shrinks_and_expands_and_under_replicated_partitions(cluster):
    """A follower paused past replica.lag.time.max.ms (3 s here, under the 6 s session) leaves the ISRs its leaders
    keep (shrinks, under-replicated partitions), and rejoins them when resumed (expands)."""
    create_topic(cluster, TOPIC, PARTITIONS)
    controller = cluster.controller_id()
    paused = next(i for i in cluster.brokers if i != controller)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "1"})
    cluster.pause(paused)
    try:
        def under_replicated() -> float:
            for i in range(20):
                producer.produce(TOPIC, value=f"x-{i}".encode(), partition=i % PARTITIONS)
            producer.flush(10)
            return total(cluster, "kafka_server_replicamanager_underreplicatedpartitions",
                         skip=(paused,))
        wait_until(lambda: under_replicated() > 0, 60,
                   what="leaders to count under-replicated partitions")
        assert total(cluster, "kafka_server_replicamanager_isrshrinks_total",
                     skip=(paused,)) > 0
    finally:
        cluster.resume(paused)
    cluster.wait_for_full_isr(TOPIC, range(PARTITIONS))
    wait_until(lambda: total(cluster, "kafka_server_replicamanager_isrexpands_total") > 0, 30,
               what="the ISR expansions to be counted")
    wait_until(lambda: total(cluster, "kafka_server_replicamanager_underreplicatedpartitions")
               == 0, 30, what="no under-replicated partition left")
