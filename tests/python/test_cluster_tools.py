"""The replicated cluster's tools (issue 9): `ferry cluster` (a local cluster in one command),
`ferry topics --describe --under-replicated-partitions | --unavailable-partitions`,
`ferry reassign-partitions` (--generate, --execute, --verify with Kafka 2.x's JSON files) and
`ferry leader-election` (ElectLeaders), with the output of Kafka 2.8's scripts.

`ferry cluster` is run as a user would (a process printing its bootstrap servers, stopped
with SIGTERM); the other tools run against a `cluster.BrokerCluster` of three brokers on a
three-server ferry keeper ensemble, and are cross-checked with the partition state znodes
(read with kazoo) and confluent-kafka.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from cluster import BrokerCluster  # noqa: E402
from ensemble import FerryEnsemble  # noqa: E402
from servers import FERRY_BIN, REPO_ROOT, wait_until  # noqa: E402

pytestmark = pytest.mark.timeout(300)

TOOL_TIMEOUT = 60
# Brokers hand leadership back to the preferred replica on their own unless told not to;
# the election tests need the leadership to stay where a failover put it.
STAY_PUT = {"auto.leader.rebalance.enable": "false", "replica.lag.time.max.ms": 10000}


def ferry(*args: str, timeout: float = TOOL_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([str(FERRY_BIN), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def ok(*args: str) -> str:
    """Runs a tool that must succeed; returns its stdout."""
    result = ferry(*args)
    assert result.returncode == 0, f"ferry {' '.join(map(str, args))} failed:\n{result.stderr}"
    return result.stdout


def fails(*args: str) -> str:
    """Runs a tool that must fail with a readable message; returns its stderr."""
    result = ferry(*args)
    assert result.returncode != 0, f"ferry {' '.join(map(str, args))} succeeded:\n{result.stdout}"
    assert result.stderr.startswith("ferry: "), result.stderr
    return result.stderr


def consume(bootstrap: str, topic: str, group: str, count: int) -> list[str]:
    """The values a consumer of `group` reads from the start of `topic`, until it has `count`
    or a minute has passed."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while len(seen) < count and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            seen.append(message.value().decode())
    consumer.close()
    return seen


# ----- ferry cluster ------------------------------------------------------------------------

def cluster_ports(base: int, keepers: int = 3, brokers: int = 3) -> list[int]:
    """Every port `ferry cluster --base-port base` takes (see cluster_layout.rs)."""
    shift = base - 2181
    ports = []
    for i in range(keepers):
        ports += [2181 + shift + i, 2888 + shift + i, 3888 + shift + i]
    return ports + [9092 + shift + i for i in range(brokers)]


def free_base_port() -> int:
    """A base port whose every cluster port is free now (below the ephemeral range)."""
    for _ in range(200):
        base = random.randrange(20000, 25000)
        try:
            with contextlib.ExitStack() as stack:
                for port in cluster_ports(base):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free base port")


class ClusterCommand:
    """`ferry cluster` as a child process, its stdout read line by line."""

    def __init__(self, workdir: Path, base: int) -> None:
        self.dir, self.base = workdir / "cluster", base
        self.log = (workdir / "cluster.err").open("w")
        self.process = subprocess.Popen(
            [str(FERRY_BIN), "cluster", "--brokers", "3", "--keepers", "3", "--dir",
             str(self.dir), "--base-port", str(base),
             "--override", "zookeeper.session.timeout.ms=6000"],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def line(self, prefix: str) -> Optional[str]:
        return next((line for line in self.lines if line.startswith(prefix)), None)

    def wait_ready(self, timeout: float = 180.0) -> None:
        def ready():
            assert self.process.poll() is None, (
                f"ferry cluster exited with {self.process.returncode}: {self.lines} "
                f"{(self.dir.parent / 'cluster.err').read_text()}")
            return self.line("cluster of ") is not None
        wait_until(ready, timeout, interval=0.2, what="ferry cluster to say it is running")

    def child_pids(self) -> list[int]:
        return [int(m.group(1)) for line in self.lines
                if (m := re.search(r"\(pid (\d+);", line))]

    def stop(self, timeout: float = 150.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._reader.join(10)
        self.log.close()
        return code

    def teardown(self) -> None:
        """After a failure: stops the cluster if it runs, then kills any of its servers left
        (those whose command line names the cluster's directory: a pid alone may have been
        reused)."""
        if self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.stop()
        if self.process.poll() is None:
            self.process.kill()
        for pid in self.child_pids():
            with contextlib.suppress(OSError):
                if str(self.dir) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(
                        errors="replace"):
                    os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie does not)."""
    try:
        return "(zombie)" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_ferry_cluster_runs_three_keepers_and_three_replicating_brokers(tmp_path):
    base = free_base_port()
    command = ClusterCommand(tmp_path, base)
    try:
        command.wait_ready()
        bootstrap = command.line("bootstrap servers: ").removeprefix("bootstrap servers: ")
        connect = command.line("zookeeper connect: ").removeprefix("zookeeper connect: ")
        brokers = [f"127.0.0.1:{9092 + base - 2181 + i}" for i in range(3)]
        keepers = [f"127.0.0.1:{base + i}" for i in range(3)]
        assert bootstrap == ",".join(brokers)
        assert connect == ",".join(keepers) + "/kafka"
        assert len(command.child_pids()) == 6, command.lines

        # Ordinary files, as an operator would write them.
        home = command.dir
        zoo = (home / "keeper2" / "zoo.cfg").read_text()
        assert f"clientPort={base + 1}\n" in zoo
        assert f"server.3=127.0.0.1:{base + 709}:{base + 1709}\n" in zoo
        assert (home / "keeper2" / "data" / "myid").read_text() == "2\n"
        properties = (home / "broker3" / "server.properties").read_text()
        for line in ["broker.id=3", f"listeners=PLAINTEXT://{brokers[2]}",
                     f"log.dirs={home / 'broker3' / 'kafka-logs'}",
                     f"zookeeper.connect={connect}", "default.replication.factor=3",
                     "offsets.topic.replication.factor=3", "min.insync.replicas=2",
                     "zookeeper.session.timeout.ms=6000"]:
            assert f"{line}\n" in properties, (line, properties)

        # A replicated topic, produced to with acks=all and consumed by a group.
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("tryout", num_partitions=3, replication_factor=3)],
                            operation_timeout=30)["tryout"].result(timeout=60)
        described = wait_until(
            lambda: (out := ok("topics", "--bootstrap-server", bootstrap, "--describe",
                               "--topic", "tryout")).count("\tIsr: ") == 3
            and all(len(m.split(",")) == 3 for m in re.findall(r"Isr: (\S+)", out)) and out,
            60, interval=0.5, what="three partitions with three in-sync replicas")
        assert re.findall(r"Replicas: (\S+)", described) and all(
            sorted(r.split(",")) == ["1", "2", "3"]
            for r in re.findall(r"Replicas: (\S+)", described)), described

        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                             "enable.idempotence": True})
        acked = []
        for i in range(30):
            producer.produce("tryout", key=str(i % 3), value=f"m{i}",
                             on_delivery=lambda err, msg: acked.append(err is None))
        assert producer.flush(60) == 0 and acked == [True] * 30, acked

        seen = consume(bootstrap, "tryout", "tryout-readers", 30)
        assert sorted(seen) == sorted(f"m{i}" for i in range(30)), seen

        pids = command.child_pids()
        assert command.stop() == 0, command.lines
        assert command.lines[-1] == "stopped", command.lines
        assert not [pid for pid in pids if alive(pid)], "servers outlived ferry cluster"
    finally:
        command.teardown()


def test_ferry_cluster_refuses_impossible_plans(tmp_path):
    assert "--brokers must be between" in fails("cluster", "--brokers", "0", "--dir", tmp_path)
    assert "--base-port leaves no room" in fails("cluster", "--dir", tmp_path,
                                                 "--base-port", "60000")


# ----- a cluster of three brokers for the other tools ----------------------------------------

@pytest.fixture
def cluster(tmp_path, request):
    keepers = FerryEnsemble(tmp_path / "keepers", size=3)
    brokers = BrokerCluster(tmp_path / "brokers", keepers, overrides=STAY_PUT)
    brokers.attach(request.node)
    try:
        brokers.start()
        brokers.wait_for_metadata()
        yield brokers
    finally:
        brokers.shutdown()


def create(cluster: BrokerCluster, topic: str, partitions: int = 1,
           replication_factor: int = 3, assignment: Optional[list[list[int]]] = None) -> None:
    """Creates the topic (CreateTopics through confluent-kafka) and waits for every
    partition's full ISR in ZooKeeper."""
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    new = (NewTopic(topic, len(assignment), replica_assignment=assignment) if assignment else
           NewTopic(topic, num_partitions=partitions, replication_factor=replication_factor))
    admin.create_topics([new], operation_timeout=30)[topic].result(timeout=60)
    replicas = assignment or [[0] * replication_factor] * partitions
    for p, r in enumerate(replicas):
        cluster.wait_for_isr(topic, p, len(r))


def describe(cluster: BrokerCluster, form: str, *flags: str) -> list[str]:
    where = (["--bootstrap-server", cluster.bootstrap] if form == "bootstrap" else
             ["--zookeeper", cluster.zookeeper_connect])
    return ok("topics", *where, "--describe", *flags).splitlines()


FORMS = ["bootstrap", "zookeeper"]


def test_under_replicated_and_unavailable_partitions(cluster):
    create(cluster, "wide", partitions=2)
    create(cluster, "solo", assignment=[[3]])
    for form in FORMS:
        assert describe(cluster, form, "--under-replicated-partitions") == []
        assert describe(cluster, form, "--unavailable-partitions") == []

    cluster.kill9(3)
    cluster.wait_for_unregistered(3, timeout=60)
    for p in range(2):
        cluster.wait_for_isr("wide", p, 2)
    wait_until(lambda: cluster.partition_state("solo", 0).leader == -1, 60, interval=0.2,
               what="solo-0 to lose its only leader")

    for form in FORMS:
        def reported(flag: str, topic: str) -> list[str]:
            return [line for line in describe(cluster, form, flag)
                    if line.startswith(f"\tTopic: {topic}\t")]
        # Brokers learn of the change from the controller a moment after ZooKeeper has it.
        under = wait_until(lambda: len(reported("--under-replicated-partitions", "wide")) == 2
                           and reported("--under-replicated-partitions", "wide"), 30,
                           interval=0.5, what=f"two under-replicated partitions ({form})")
        for p, line in enumerate(under):
            state = cluster.partition_state("wide", p)
            replicas = ",".join(map(str, cluster.assignment("wide")[p]))
            isr = ",".join(map(str, state.isr))
            assert re.fullmatch(rf"\tTopic: wide\tPartition: {p}\tLeader: {state.leader}\t"
                                rf"Replicas: {replicas}\tIsr: {isr}", line), (form, line)
            assert "3" not in isr.split(",")
        unavailable = wait_until(
            lambda: reported("--unavailable-partitions", "solo"), 30, interval=0.5,
            what=f"solo-0 reported unavailable ({form})")
        assert re.fullmatch(r"\tTopic: solo\tPartition: 0\tLeader: none\tReplicas: 3\tIsr: .*",
                            unavailable[0]), (form, unavailable)
        assert reported("--unavailable-partitions", "wide") == []
        # With a filter there are no topic lines, as kafka-topics.sh 2.8 prints none.
        both = describe(cluster, form, "--under-replicated-partitions",
                        "--unavailable-partitions")
        assert not [line for line in both if line.startswith("Topic:")], both
        assert not [line for line in both if "Offline" in line], both

    error = fails("topics", "--bootstrap-server", cluster.bootstrap, "--list",
                  "--unavailable-partitions")
    assert 'Option "[unavailable-partitions]" can\'t be used with option "[list]"' in error


# ----- reassign-partitions -------------------------------------------------------------------

def controller_reassigns() -> bool:
    """Whether the controller carries out /admin/reassign_partitions (the broker side of
    the reassignment, written apart from the tool)."""
    controller = REPO_ROOT / "crates" / "broker" / "src" / "controller"
    return any("reassign_partitions" in path.read_text() or "REASSIGN_PARTITIONS" in
               path.read_text() for path in controller.glob("*.rs"))


def test_reassign_partitions_generate_and_its_files(cluster, tmp_path):
    create(cluster, "moving", assignment=[[1], [2]])
    topics = tmp_path / "topics.json"
    topics.write_text('{"topics": [{"topic": "moving"}], "version": 1}')
    current = {"version": 1, "partitions": [
        {"topic": "moving", "partition": 0, "replicas": [1], "log_dirs": ["any"]},
        {"topic": "moving", "partition": 1, "replicas": [2], "log_dirs": ["any"]}]}
    for where in (["--bootstrap-server", cluster.bootstrap],
                  ["--zookeeper", cluster.zookeeper_connect]):
        out = ok("reassign-partitions", *where, "--generate", "--topics-to-move-json-file",
                 topics, "--broker-list", "3")
        lines = out.split("\n")
        assert lines[0] == "Current partition replica assignment", out
        assert json.loads(lines[1]) == current
        # Compact JSON, keys in Kafka's order, as kafka-reassign-partitions.sh prints it.
        assert lines[1].startswith('{"version":1,"partitions":[{"topic":"moving","partition":0,'
                                   '"replicas":[1],"log_dirs":["any"]}'), lines[1]
        assert lines[2:4] == ["", "Proposed partition reassignment configuration"], out
        proposed = json.loads(lines[4])
        assert [p["replicas"] for p in proposed["partitions"]] == [[3], [3]], out

    error = fails("reassign-partitions", "--zookeeper", cluster.zookeeper_connect,
                  "--generate", "--topics-to-move-json-file", topics, "--broker-list", "1,1")
    assert "Broker list contains duplicate entries: 1" in error
    assert "Command must include exactly one action" in fails(
        "reassign-partitions", "--zookeeper", cluster.zookeeper_connect)

    bad = tmp_path / "bad.json"
    bad.write_text('{"version":1,"partitions":[{"topic":"moving","partition":7,"replicas":[1]}]}')
    assert ("The proposed assignment contains non-existent partitions: List(moving-7)"
            in fails("reassign-partitions", "--zookeeper", cluster.zookeeper_connect,
                     "--execute", "--reassignment-json-file", bad))
    bad.write_text('{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[9]}]}')
    assert ("The proposed assignment contains non-existent brokerIDs: 9"
            in fails("reassign-partitions", "--zookeeper", cluster.zookeeper_connect,
                     "--execute", "--reassignment-json-file", bad))
    assert ("The proposed assignment contains non-existent brokerIDs: 9"
            in fails("reassign-partitions", "--bootstrap-server", cluster.bootstrap,
                     "--execute", "--reassignment-json-file", bad))
    assert "--cancel needs --bootstrap-server" in fails(
        "reassign-partitions", "--zookeeper", cluster.zookeeper_connect, "--cancel",
        "--reassignment-json-file", bad)


def test_reassign_partitions_execute_and_verify(cluster, tmp_path):
    create(cluster, "moving", assignment=[[1], [2]])
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(20):
        producer.produce("moving", value=f"v{i}", partition=i % 2)
    assert producer.flush(30) == 0

    plan = {"version": 1, "partitions": [
        {"topic": "moving", "partition": 0, "replicas": [2, 3]},
        {"topic": "moving", "partition": 1, "replicas": [2]}]}
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    zk = ["--zookeeper", cluster.zookeeper_connect]
    out = ok("reassign-partitions", *zk, "--execute", "--reassignment-json-file", plan_file)
    rollback = ('{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[1],'
                '"log_dirs":["any"]},{"topic":"moving","partition":1,"replicas":[2],'
                '"log_dirs":["any"]}]}')
    assert out == ("Current partition replica assignment\n\n"
                   f"{rollback}\n\n"
                   "Save this to use as the --reassignment-json-file option during rollback\n"
                   "Successfully started partition reassignments for moving-0,moving-1\n"), out

    # The request as Kafka 2.x writes it, unless the controller has carried it out already.
    node = cluster._get("/admin/reassign_partitions")
    if node is not None:
        written = json.loads(node)
        assert written["version"] == 1
        pending = {(p["topic"], p["partition"]): p["replicas"] for p in written["partitions"]}
        assert set(pending) <= {("moving", 0), ("moving", 1)}

    def status() -> list[str]:
        return ok("reassign-partitions", *zk, "--verify", "--reassignment-json-file",
                  plan_file).splitlines()

    first = status()
    assert first[0] == "Status of partition reassignment:", first
    for p in range(2):
        assert first[p + 1] in (f"Reassignment of partition moving-{p} is complete.",
                                f"Reassignment of partition moving-{p} is still in progress."), first

    if not controller_reassigns():
        assert node is not None, "nothing carries out the reassignment, yet the node is gone"
        assert first[1:3] == [f"Reassignment of partition moving-{p} is still in progress."
                              for p in range(2)]
        error = fails("reassign-partitions", *zk, "--execute", "--reassignment-json-file",
                      plan_file)
        assert "Cannot execute because there is an existing partition assignment." in error
        pytest.skip("the controller does not carry out /admin/reassign_partitions yet; "
                    "the data movement is checked once it does")

    done = wait_until(lambda: (lines := status())[1:3] == [
        f"Reassignment of partition moving-{p} is complete." for p in range(2)] and lines,
        120, interval=1.0, what="the reassignment to complete")
    assert done[3:] == ["Clearing broker-level throttles on brokers 1,2,3",
                        "Clearing topic-level throttles on topic moving"], done
    assert cluster._get("/admin/reassign_partitions") is None
    assert cluster.assignment("moving") == {0: [2, 3], 1: [2]}
    cluster.wait_for_isr("moving", 0, 2)
    seen = consume(cluster.bootstrap, "moving", "movers", 20)
    assert sorted(seen) == sorted(f"v{i}" for i in range(20)), seen


def test_reassignment_apis_start_list_cancel_and_complete(cluster, tmp_path):
    """AlterPartitionReassignments and ListPartitionReassignments (KIP-455) through
    kafka-python's admin client and `ferry reassign-partitions --bootstrap-server`: a move to a
    paused broker stays in progress, is listed, and is cancelled (the partition keeps its
    replicas); a move to running brokers copies the data and completes."""
    from kafka import TopicPartition as KpTopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.errors import InvalidReplicationAssignmentError, NoReassignmentInProgressError

    create(cluster, "shifting", assignment=[[1], [2]])
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(20):
        producer.produce("shifting", value=f"v{i}", partition=i % 2)
    assert producer.flush(30) == 0
    controller = cluster.wait_for_controller()
    spare = next(b for b in (2, 3) if b != controller)
    tp0 = KpTopicPartition("shifting", 0)
    bootstrap = ["--bootstrap-server", cluster.bootstrap]
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        assert admin.list_partition_reassignments() == {}
        assert "No partition reassignments found." in ok("reassign-partitions", *bootstrap,
                                                         "--list")
        # The new replica is paused: the move cannot complete while it is.
        cluster.pause(spare)
        try:
            assert admin.alter_partition_reassignments({tp0: [1, spare]}) == {tp0: None}
            listed = admin.list_partition_reassignments()
            assert listed == {tp0: {"replicas": [1, spare], "adding_replicas": [spare],
                                    "removing_replicas": []}}, listed
            out = ok("reassign-partitions", *bootstrap, "--list")
            assert out.splitlines() == ["Current partition reassignments:",
                                        f"shifting-0: replicas: 1,{spare}. adding: {spare}. "
                                        "removing: ."], out
            plan = tmp_path / "plan.json"
            plan.write_text(json.dumps({"version": 1, "partitions": [
                {"topic": "shifting", "partition": 0, "replicas": [1, spare]}]}))
            out = ok("reassign-partitions", *bootstrap, "--cancel",
                     "--reassignment-json-file", plan)
            assert out == "Successfully cancelled partition reassignment for: shifting-0\n", out
            assert admin.list_partition_reassignments() == {}
            assert cluster.assignment("shifting")[0] == [1]
            assert admin.alter_partition_reassignments({tp0: None}) == {
                tp0: NoReassignmentInProgressError}
            assert admin.alter_partition_reassignments({tp0: [1, 9]}) == {
                tp0: InvalidReplicationAssignmentError}
        finally:
            cluster.resume(spare)

        plan = tmp_path / "move.json"
        plan.write_text(json.dumps({"version": 1, "partitions": [
            {"topic": "shifting", "partition": 0, "replicas": [2, 3]},
            {"topic": "shifting", "partition": 1, "replicas": [3]}]}))
        out = ok("reassign-partitions", *bootstrap, "--execute", "--reassignment-json-file", plan)
        assert out.splitlines()[-1] == ("Successfully started partition reassignments for "
                                        "shifting-0,shifting-1"), out

        def status() -> list[str]:
            return ok("reassign-partitions", *bootstrap, "--verify", "--reassignment-json-file",
                      plan).splitlines()

        done = wait_until(lambda: (lines := status())[1:3] == [
            f"Reassignment of partition shifting-{p} is complete." for p in range(2)] and lines,
            120, interval=1.0, what="the reassignment to complete")
        assert done[3:] == ["Clearing broker-level throttles on brokers 1,2,3",
                            "Clearing topic-level throttles on topic shifting"], done
        assert cluster.assignment("shifting") == {0: [2, 3], 1: [3]}
        assert admin.list_partition_reassignments() == {}
    finally:
        admin.close()
    cluster.wait_for_isr("shifting", 0, 2)
    seen = consume(cluster.bootstrap, "shifting", "shifters", 20)
    assert sorted(seen) == sorted(f"v{i}" for i in range(20)), seen


# ----- leader-election -----------------------------------------------------------------------

def elect(cluster: BrokerCluster, *args: str) -> subprocess.CompletedProcess:
    """`ferry leader-election`; skips the test while the brokers do not serve ElectLeaders."""
    result = ferry("leader-election", "--bootstrap-server", cluster.bootstrap, *args)
    if "does not support ElectLeaders" in result.stderr:
        pytest.skip("the brokers do not serve ElectLeaders (key 43) yet")
    return result


def test_leader_election_arguments_as_kafka_checks_them():
    assert "Missing required option(s): election-type, bootstrap-server" in fails(
        "leader-election")
    assert ("One and only one of the following options is required: topic, "
            "all-topic-partitions, path-to-json-file") in fails(
        "leader-election", "--bootstrap-server", "127.0.0.1:1", "--election-type", "preferred")
    assert "Missing required option(s): partition" in fails(
        "leader-election", "--bootstrap-server", "127.0.0.1:1", "--election-type", "preferred",
        "--topic", "t")


def test_preferred_leader_election_moves_leadership_back(cluster, tmp_path):
    create(cluster, "elect", partitions=2)
    preferred = cluster.assignment("elect")[0][0]
    result = elect(cluster, "--election-type", "preferred", "--topic", "elect",
                   "--partition", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Valid replica already elected for partitions elect-0\n"
    # Every partition already led by its preferred replica: nothing to print (Kafka's
    # controller leaves such partitions out of an all-partitions answer).
    result = elect(cluster, "--election-type", "PREFERRED", "--all-topic-partitions")
    assert (result.returncode, result.stdout) == (0, ""), (result.stdout, result.stderr)

    cluster.kill9(preferred)
    cluster.wait_for_leader("elect", 0, excluding=(preferred,))
    cluster.start_broker(preferred)
    cluster.wait_for_isr("elect", 0, 3)
    assert cluster.partition_state("elect", 0).leader != preferred

    partitions = tmp_path / "election.json"
    partitions.write_text('{"partitions": [{"topic": "elect", "partition": 0}]}')
    result = elect(cluster, "--election-type", "preferred", "--path-to-json-file", partitions)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("Successfully completed leader election (PREFERRED) for "
                             "partitions elect-0\n"), result.stdout
    assert cluster.partition_state("elect", 0).leader == preferred
