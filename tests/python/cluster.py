"""A cluster of ferry brokers on a ZooKeeper ensemble, for the replication tests.

`BrokerCluster(workdir, ensemble, size=3)` makes `size` brokers, broker.id 1..size, each with
its own port, log directory and server.properties:

    broker.id=<i>
    listeners=PLAINTEXT://<host>:<port>
    log.dirs=<workdir>/broker<i>/kafka-logs
    zookeeper.connect=<every server of the ensemble>/kafka
    zookeeper.session.timeout.ms=6000
    default.replication.factor=3
    offsets.topic.replication.factor=3
    min.insync.replicas=1                      (Kafka's default; `overrides` change any key)
    controlled.shutdown.retry.backoff.ms=500   (a teardown stops every broker at once)
    (plus kafka_servers.TEST_OVERRIDES: group.initial.rebalance.delay.ms=0,
     offsets.topic.num.partitions=4)

The ensemble is anything with `hosts`, `start()`, `stop()`, `is_alive()` and `log_tail()`: an
`ensemble.FerryEnsemble` of ferry keepers, or an `ApacheEnsemble` (below) of Apache ZooKeeper 3.8
quorum peers. The cluster reads the brokers' metadata as the brokers write it, in Kafka 2.x's
znode layout under the `/kafka` chroot, with kazoo: /brokers/ids, /controller,
/brokers/topics/T (the assignment) and /brokers/topics/T/partitions/P/state (leader,
leader_epoch, isr).

On test hosts (`test_hosts=netns.TestHosts(...)`), broker i runs on host `first_host + i - 1`,
listening on that host's address at Kafka's usual port 9092, so that `cut(i)` takes it off the
network (away from ZooKeeper, the other brokers and the test's clients) and `heal(i)` brings it
back. Put the ensemble on other hosts of the same `TestHosts` (FerryEnsemble(hosts=...) uses
hosts 1..3; so `first_host=4` and `TestHosts(6)`).

`start()` returns once every broker answers ApiVersions, is registered under /brokers/ids and
a controller is elected; `wait_for_metadata()` then waits until every broker's Metadata lists
the live brokers and names that controller (a broker that has not heard from the controller yet
lists nobody, and librdkafka's admin client, looking for the controller, gives up). A broker
killed with -9 is started again (`start_broker`) only once ZooKeeper has expired its old
session's registration: like Kafka, a broker refuses an id another session holds.

Every wait is bounded and raises TimeoutError naming what it waited for (and, for the waits on
partition state, registrations and Metadata, what they were at the end).
"""

from __future__ import annotations

import json
import signal
import socket
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

from ensemble import FerryEnsemble
from kafka_servers import BrokerOnZooKeeper, KafkaServer, free_port, read_exact
from servers import wait_until

# zookeeper.session.timeout.ms of every broker: a killed or paused broker's registration and
# leaderships are taken away after this (the ZooKeeper server rounds it to its ticks).
SESSION_TIMEOUT_MS = 6000

CLUSTER_DEFAULTS = {
    "default.replication.factor": 3,
    "offsets.topic.replication.factor": 3,
    "min.insync.replicas": 1,
    # When every broker stops at once (a test's teardown), nobody can take the last ones'
    # leaderships and each retries its controlled shutdown: 0.5 s apart instead of Kafka's 5 s.
    "controlled.shutdown.retry.backoff.ms": 500,
}

# Kafka's port, used by a broker on a test host of its own.
KAFKA_PORT = 9092


class ApacheEnsemble(FerryEnsemble):
    """A 3-server (by default) Apache ZooKeeper 3.8 ensemble (`ensemble.ApacheQuorumPeer`s) on
    loopback; the JVMs take longer to form a quorum than ferry keepers."""

    def __init__(self, workdir: Path, size: int = 3, extra_config: Optional[dict] = None) -> None:
        super().__init__(workdir, size=size, extra_config=extra_config, kind="apache")

    def start(self, timeout: float = 120.0) -> "ApacheEnsemble":
        super().start(timeout)
        return self


class ClusterBroker(BrokerOnZooKeeper):
    """One broker of a `BrokerCluster`: its own broker.id, the cluster's settings, and (on a
    test host) its host's address."""

    kind = "cluster"

    def __init__(self, workdir: Path, broker_id: int, zookeeper, overrides: dict,
                 test_hosts=None, host_index: Optional[int] = None) -> None:
        self.broker_id = broker_id
        self.test_hosts, self.host_index = test_hosts, host_index
        self.paused = False
        super().__init__(workdir, overrides, zookeeper=zookeeper)
        self.kind = f"cluster broker {broker_id}"
        if test_hosts is not None:
            self.host, self.port = test_hosts.address(host_index), KAFKA_PORT
            self.write_config()

    def __repr__(self) -> str:
        return (f"<ferry broker {self.broker_id} {self.bootstrap} "
                f"pid={self.process and self.process.pid}>")

    def properties(self) -> dict:
        return {**super().properties(), "broker.id": self.broker_id}

    def command(self) -> list[str]:
        command = super().command()
        if self.test_hosts is not None:
            command = self.test_hosts.command(self.host_index, command)
        return command

    def choose_ports(self) -> bool:
        if self.test_hosts is not None:
            return False
        self.port = free_port()
        self.write_config()
        return True

    def start(self, timeout: float = 60.0) -> "KafkaServer":
        # (The cluster starts the ensemble: a broker never starts or stops it.)
        self.paused = False
        return KafkaServer.start(self, timeout)

    def shutdown(self) -> None:
        self.stop()

    def stop(self) -> Optional[int]:
        self.resume()  # a stopped process would not act on SIGTERM
        return super().stop()

    def kill9(self) -> None:
        super().kill9()
        self.paused = False

    def pause(self) -> None:
        assert self.is_alive(), f"{self} is not running"
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.paused and self.is_alive():
            self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def log_tail(self, lines: Optional[int] = None) -> str:
        return KafkaServer.log_tail(self, lines)  # the ensemble's logs are reported once, apart

    @property
    def log_dir(self) -> Path:
        return self.workdir / "kafka-logs"

    def partition_dir(self, topic: str, partition: int) -> Path:
        return self.log_dir / f"{topic}-{partition}"


def waiting(condition, timeout: float, what: str, state: Callable[[], object],
            interval: float = 0.1):
    """`wait_until`, with what `state()` says at the end in the TimeoutError."""
    try:
        return wait_until(condition, timeout, interval=interval, what=what)
    except TimeoutError as error:
        try:
            now = state()
        except Exception as failure:  # noqa: BLE001 - only for the message
            now = repr(failure)
        raise TimeoutError(f"{error}; at the end: {now}") from error.__cause__


def metadata_of(host: str, port: int, timeout: float = 5.0) -> tuple[set[int], int]:
    """Asks one broker for Metadata (v1, no topics): the broker ids it lists and the
    controller id it names (-1: none). A broker answers from what the controller told it, so
    a broker that has not heard from the controller yet lists nobody."""
    client_id = b"ferry-tests"
    body = (struct.pack(">hhih", 3, 1, 7, len(client_id)) + client_id
            + struct.pack(">i", 0))  # topics: an empty array (v1: null would mean all)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", read_exact(sock, 4))
        response = read_exact(sock, size)
    correlation_id, count = struct.unpack_from(">ii", response, 0)
    assert correlation_id == 7, correlation_id
    pos, ids = 8, set()
    for _ in range(count):
        (node_id,) = struct.unpack_from(">i", response, pos)
        (host_len,) = struct.unpack_from(">h", response, pos + 4)
        pos += 6 + host_len + 4  # host, port
        (rack_len,) = struct.unpack_from(">h", response, pos)
        pos += 2 + max(rack_len, 0)
        ids.add(node_id)
    (controller,) = struct.unpack_from(">i", response, pos)
    return ids, controller


@dataclass(frozen=True)
class PartitionState:
    """/brokers/topics/T/partitions/P/state."""

    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    controller_epoch: int

    @classmethod
    def decode(cls, data: bytes) -> "PartitionState":
        state = json.loads(data)
        return cls(state["leader"], state["leader_epoch"], tuple(state["isr"]),
                   state.get("controller_epoch", -1))


class BrokerCluster:
    def __init__(self, workdir: Path, zookeeper, size: int = 3, overrides: Optional[dict] = None,
                 test_hosts=None, first_host: int = 1) -> None:
        self.workdir = Path(workdir)
        self.zookeeper = zookeeper
        self.test_hosts = test_hosts
        self.overrides = {**CLUSTER_DEFAULTS, **(overrides or {})}
        self.brokers: dict[int, ClusterBroker] = {}
        for i in range(1, size + 1):
            self.brokers[i] = ClusterBroker(
                self.workdir / f"broker{i}", i, zookeeper, dict(self.overrides),
                test_hosts=test_hosts,
                host_index=None if test_hosts is None else first_host + i - 1)
        self._zk = None

    def __repr__(self) -> str:
        return f"<BrokerCluster {self.bootstrap} on {self.zookeeper.hosts}>"

    # ----- processes --------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> "BrokerCluster":
        """Starts the ensemble (unless it runs) and every broker at once; returns when every
        broker serves, is registered under /brokers/ids, and a controller is elected."""
        if not self.zookeeper.is_alive():
            self.zookeeper.start()
        with ThreadPoolExecutor(len(self.brokers)) as pool:
            for future in [pool.submit(b.start, timeout) for b in self.brokers.values()]:
                future.result()
        self.wait_for_registered(set(self.brokers), timeout)
        wait_until(self.controller_id, timeout, interval=0.1, what="a controller")
        return self

    def stop(self) -> None:
        """Stops every broker (all at once: a controlled shutdown may wait on the others)."""
        with ThreadPoolExecutor(len(self.brokers)) as pool:
            list(pool.map(lambda b: b.stop(), self.brokers.values()))
        self._close_zk()

    def shutdown(self) -> None:
        """Stops the brokers and the ensemble (teardown)."""
        try:
            self.stop()
        finally:
            self.zookeeper.stop()

    def crashed(self) -> list[ClusterBroker]:
        """The brokers that exited without the test stopping or killing them."""
        return [b for b in self.brokers.values() if b.crashed()]

    def broker(self, i: int) -> ClusterBroker:
        return self.brokers[i]

    def kill9(self, i: int) -> None:
        self.brokers[i].kill9()

    def stop_broker(self, i: int) -> None:
        self.brokers[i].stop()

    def start_broker(self, i: int, timeout: float = 60.0) -> ClusterBroker:
        """Starts broker i again (on its port and log directory). A broker killed with -9
        leaves its registration behind until ZooKeeper expires its session, and a broker
        refuses to start while another session holds its id (as Kafka does): so this waits for
        the old registration to go first."""
        self.wait_for_unregistered(i, timeout=SESSION_TIMEOUT_MS / 1000 * 3 + 10)
        self.brokers[i].start(timeout)
        self.wait_for_registered({i}, timeout)
        return self.brokers[i]

    def restart(self, i: int, timeout: float = 60.0) -> ClusterBroker:
        """Stops broker i if it runs (SIGTERM: a controlled shutdown), then starts it."""
        if self.brokers[i].is_alive():
            self.brokers[i].stop()
        return self.start_broker(i, timeout)

    def pause(self, i: int) -> None:
        """SIGSTOP: the broker neither answers nor heartbeats its ZooKeeper session."""
        self.brokers[i].pause()

    def resume(self, i: int) -> None:
        self.brokers[i].resume()

    def cut(self, i: int) -> None:
        """Takes broker i's test host off the network."""
        assert self.test_hosts is not None, "cut needs test hosts"
        self.test_hosts.cut(self.brokers[i].host_index)

    def heal(self, i: int) -> None:
        assert self.test_hosts is not None, "heal needs test hosts"
        self.test_hosts.heal(self.brokers[i].host_index)

    @property
    def bootstrap(self) -> str:
        """Every broker, as bootstrap.servers."""
        return ",".join(b.bootstrap for b in self.brokers.values())

    def bootstrap_of(self, ids: Iterable[int]) -> str:
        return ",".join(self.brokers[i].bootstrap for i in ids)

    def alive(self) -> list[int]:
        return [i for i, b in self.brokers.items() if b.is_alive()]

    # ----- metadata in ZooKeeper --------------------------------------------------------------

    @property
    def zookeeper_connect(self) -> str:
        return f"{self.zookeeper.hosts}/kafka"

    def zk(self):
        """A kazoo client chrooted to /kafka (started on first use, stopped by `stop()`)."""
        if self._zk is None:
            from kazoo.client import KazooClient
            from kazoo.retry import KazooRetry
            client = KazooClient(hosts=self.zookeeper_connect, timeout=10.0,
                                 connection_retry=KazooRetry(max_tries=-1, delay=0.05,
                                                             max_delay=0.5),
                                 command_retry=KazooRetry(max_tries=20, delay=0.05,
                                                          max_delay=0.5))
            client.start(timeout=30)
            self._zk = client
        return self._zk

    def _close_zk(self) -> None:
        if self._zk is not None:
            try:
                self._zk.stop()
                self._zk.close()
            finally:
                self._zk = None

    def _get(self, path: str) -> Optional[bytes]:
        from kazoo.exceptions import NoNodeError
        zk = self.zk()
        try:
            return zk.retry(zk.get, path)[0]
        except NoNodeError:
            return None

    def registered_ids(self) -> set[int]:
        """The ids under /brokers/ids (the brokers ZooKeeper holds a live session for)."""
        from kazoo.exceptions import NoNodeError
        zk = self.zk()
        try:
            return {int(c) for c in zk.retry(zk.get_children, "/brokers/ids")}
        except NoNodeError:
            return set()

    def registration(self, i: int) -> Optional[dict]:
        """The JSON of /brokers/ids/i."""
        data = self._get(f"/brokers/ids/{i}")
        return None if data is None else json.loads(data)

    def wait_for_registered(self, ids: set[int], timeout: float = 60.0) -> None:
        waiting(lambda: ids <= self.registered_ids(), timeout,
                f"brokers {sorted(ids)} to be registered under /brokers/ids",
                lambda: sorted(self.registered_ids()))

    def wait_for_unregistered(self, i: int, timeout: float = 30.0) -> None:
        wait_until(lambda: i not in self.registered_ids(), timeout, interval=0.1,
                   what=f"the registration of broker {i} to go (its session to expire)")

    def controller_id(self) -> Optional[int]:
        """The broker /controller names, or None while there is none."""
        data = self._get("/controller")
        return None if data is None else json.loads(data)["brokerid"]

    def wait_for_metadata(self, timeout: float = 60.0) -> None:
        """Waits until every live broker's Metadata lists every live broker and names the
        controller ZooKeeper names: the brokers have heard from the controller (until then a
        broker's Metadata lists nobody, and clients looking for the controller give up)."""
        def agreed() -> bool:
            alive = set(self.alive())
            controller = self.controller_id()
            return controller in alive and all(
                metadata_of(b.host, b.port) == (alive, controller)
                for i, b in self.brokers.items() if i in alive)
        waiting(agreed, timeout,
                "every broker's Metadata to list the live brokers and the controller",
                lambda: {"zookeeper": (sorted(self.alive()), self.controller_id()),
                         **{i: self._metadata_or_error(b) for i, b in self.brokers.items()
                            if b.is_alive()}})

    @staticmethod
    def _metadata_or_error(broker) -> str:
        try:
            return str(metadata_of(broker.host, broker.port, timeout=1.0))
        except (OSError, ConnectionError, struct.error) as error:
            return repr(error)

    def controller_epoch(self) -> Optional[int]:
        data = self._get("/controller_epoch")
        return None if data is None else int(data)

    def wait_for_controller(self, excluding: tuple[int, ...] = (), timeout: float = 60.0) -> int:
        """A controller that is none of `excluding` (and a live broker)."""
        def elected() -> Optional[int]:
            c = self.controller_id()
            return c if c is not None and c not in excluding and c in self.alive() else None
        return wait_until(elected, timeout, interval=0.1,
                          what=f"a controller other than {list(excluding)}")

    def assignment(self, topic: str) -> dict[int, list[int]]:
        """/brokers/topics/T: partition -> replicas."""
        data = self._get(f"/brokers/topics/{topic}")
        if data is None:
            return {}
        return {int(p): list(r) for p, r in json.loads(data)["partitions"].items()}

    def partition_state(self, topic: str, partition: int) -> Optional[PartitionState]:
        data = self._get(f"/brokers/topics/{topic}/partitions/{partition}/state")
        return None if data is None else PartitionState.decode(data)

    def wait_for_isr(self, topic: str, partition: int, size: int,
                     timeout: float = 60.0) -> PartitionState:
        """Waits until the partition's ISR has `size` members (and a leader); returns the
        state."""
        def sized() -> Optional[PartitionState]:
            state = self.partition_state(topic, partition)
            return state if state and len(state.isr) == size and state.leader >= 0 else None
        return waiting(sized, timeout, f"{topic}-{partition} to have an ISR of {size}",
                       lambda: self.partition_state(topic, partition))

    def wait_for_full_isr(self, topic: str, partitions: Iterable[int], size: Optional[int] = None,
                          timeout: float = 60.0) -> dict[int, PartitionState]:
        """Every one of `partitions` with an ISR of `size` (default: the cluster's size)."""
        size = size or len(self.brokers)
        return {p: self.wait_for_isr(topic, p, size, timeout) for p in partitions}

    def leader_of(self, topic: str, partition: int, timeout: float = 60.0) -> int:
        """The partition's leader as the partition state names it (waiting for one)."""
        return self.wait_for_leader(topic, partition, timeout=timeout)

    def wait_for_leader(self, topic: str, partition: int, excluding: tuple[int, ...] = (),
                        timeout: float = 60.0) -> int:
        """Waits for the partition state to name a leader (-1 is none) that is none of
        `excluding`; returns it."""
        def elected() -> Optional[int]:
            state = self.partition_state(topic, partition)
            if state is None or state.leader < 0 or state.leader in excluding:
                return None
            return state.leader
        return waiting(elected, timeout,
                       f"a leader of {topic}-{partition} other than {list(excluding)}",
                       lambda: self.partition_state(topic, partition), interval=0.05)

    def partitions_led_by(self, topic: str, broker: int) -> list[int]:
        return [p for p in self.assignment(topic)
                if (s := self.partition_state(topic, p)) and s.leader == broker]

    # ----- for failing tests' reports ---------------------------------------------------------

    def attach(self, node) -> None:
        """Makes a failing test `node`'s report show every broker's and keeper's log tail."""
        node.__dict__.setdefault("kafka_servers", []).extend(self.brokers.values())
        servers = getattr(self.zookeeper, "servers", None)
        if servers:
            node.__dict__.setdefault("keeper_servers", []).extend(servers.values())
