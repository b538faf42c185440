"""The ferry image and its compose files (docker/), run for real on this machine's Docker engine.

The image is built once per session by docker/build-image.sh from $FERRY_BIN (default
target/debug/ferry, stripped by the script) under a tag of its own, and removed at the end.
Each test brings up one of docker/compose/*.yml as a compose project of its own, on a /24 of
its own (FERRY_SUBNET=172.30.<n>, chosen among the subnets no Docker network and no route of
this host uses), and takes it down at teardown, also when it fails: `down -v --remove-orphans`,
then whatever carries the project's label (containers, volumes, networks) is removed. Clients
run on the host and reach every container at its address on the bridge, as the brokers
advertise it (no port mappings):

- standalone.yml: the container gets healthy (its HEALTHCHECK, `ferry container health`) and
  runs as uid 1000 (the image's USER and the main process's Uid in /proc); kcat and
  confluent-kafka produce and consume through it, kazoo creates and reads znodes on it and finds
  the broker registered with its advertised address;
- cluster.yml (3 keepers + 3 brokers): kcat produces and consumes on a partition with three
  replicas; a topic with replication factor 3 and min.insync.replicas=2 under an idempotent
  acks=all producer while the container leading partition 0 gets `docker kill`ed, then started
  again; every acknowledged value is read back once (queue_checker.py), and after `down`
  (volumes kept) and `up` again, so are the records and a znode written before;
- combined.yml (3 `server` nodes): the same shape, shorter: `docker kill` of the node leading
  partition 0 under the load, nothing acknowledged lost, and the ensemble still serves reads
  and writes with 2 of 3 nodes.

Every wait is bounded and on a condition. The tests are skipped only when `docker info` fails
(no engine); a missing compose tool or kcat fails them. Failing tests' reports show the
containers' logs. Marked `docker` (and the two cluster tests `fault`): `-m 'not docker'` skips
them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import re
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Iterable, Optional

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from cluster import metadata_of  # noqa: E402
from queue_checker import Read, check  # noqa: E402
from servers import FERRY_BIN, REPO_ROOT, wait_until  # noqa: E402
from test_cluster import ProduceLoad, assert_no_anomalies, read_all  # noqa: E402

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]

COMPOSE_DIR = REPO_ROOT / "docker" / "compose"
BUILD_SCRIPT = REPO_ROOT / "docker" / "build-image.sh"
PARTITIONS = 3
# How long a container may take to report healthy: the image's HEALTHCHECK runs every 5 s.
HEALTHY_TIMEOUT = 120.0
# The compose files' default zookeeper.session.timeout.ms: a killed broker's registration goes
# after this (rounded up to the keeper's ticks).
SESSION_TIMEOUT_S = 6.0


# ----- the engine and the image ---------------------------------------------------------------

def run(command: list[str], timeout: float = 60.0, check: bool = True,
        env: Optional[dict] = None) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited with {done.returncode}:\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def inspect(what: str, template: str) -> str:
    return run(["docker", "inspect", "-f", template, what], timeout=30).stdout.strip()


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker client: the image and compose tests need a Docker engine")
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.skip("`docker info` did not answer within 30 s: no usable Docker engine")
    if info.returncode != 0:
        pytest.skip(f"`docker info` failed (no Docker engine): {info.stderr.strip()[-500:]}")


@pytest.fixture(scope="session")
def compose_command(docker_engine) -> list[str]:
    """`docker compose` (v2) when the plugin is there, else `docker-compose` (v1)."""
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        if subprocess.run(["docker", "compose", "version"], capture_output=True,
                          timeout=30).returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed "
                "(Debian: apt-get install docker-compose)")


@pytest.fixture(scope="session")
def ferry_image(docker_engine) -> Iterable[str]:
    """`docker/build-image.sh` with FERRY_BIN (the debug binary by default) under a tag of the
    session's own; removed at the end."""
    if not FERRY_BIN.exists():
        pytest.fail(f"no ferry binary at {FERRY_BIN}: run `cargo build -p ferry` or set FERRY_BIN")
    tag = f"ferry-test:{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    done = run(["bash", str(BUILD_SCRIPT)], timeout=300,
               env={**os.environ, "FERRY_BIN": str(FERRY_BIN), "FERRY_IMAGE": tag})
    size = int(done.stdout.strip().splitlines()[-1])
    print(f"built {tag} from {FERRY_BIN} in {time.monotonic() - started:.1f} s: "
          f"{size / 2**20:.1f} MiB")
    try:
        yield tag
    finally:
        run(["docker", "image", "rm", "-f", tag], timeout=120, check=False)


def used_networks() -> list[ipaddress.IPv4Network]:
    """The subnets of every Docker network and every IPv4 route of this host."""
    nets = []
    ids = run(["docker", "network", "ls", "-q"], timeout=30).stdout.split()
    if ids:
        out = run(["docker", "network", "inspect", "-f",
                   "{{range .IPAM.Config}}{{.Subnet}} {{end}}", *ids], timeout=30).stdout
        nets += [n for n in out.split() if ":" not in n]
    routes = (run(["ip", "-4", "route", "show"], timeout=30, check=False).stdout
              if shutil.which("ip") else "")
    nets += [line.split()[0] for line in routes.splitlines()
             if line and line.split()[0] != "default"]
    parsed = []
    for net in nets:
        with contextlib.suppress(ValueError):
            parsed.append(ipaddress.ip_network(net, strict=False))
    return parsed


def free_subnet() -> str:
    """The first three octets of a /24 in 172.30.60-250 nobody uses here."""
    used = used_networks()
    candidates = list(range(60, 251))
    random.shuffle(candidates)
    for third in candidates:
        net = ipaddress.ip_network(f"172.30.{third}.0/24")
        if not any(net.overlaps(other) for other in used):
            return f"172.30.{third}"
    pytest.fail("no free /24 in 172.30.60-250.0/24 for the test's network")


# ----- compose projects -----------------------------------------------------------------------

class ComposeProject:
    """One compose file brought up as a project of its own (`-p <name>`) on its own subnet."""

    def __init__(self, compose: list[str], file: str, image: str, test_name: str,
                 env: Optional[dict] = None) -> None:
        self.compose_command = compose
        self.file = COMPOSE_DIR / file
        self.subnet = free_subnet()
        slug = re.sub(r"[^a-z0-9]", "", test_name.lower())[-20:]
        self.name = f"ferrytest{slug}{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "FERRY_IMAGE": image, "FERRY_SUBNET": self.subnet,
                    "COMPOSE_PROJECT_NAME": self.name}
        for name in ("KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS", "KAFKA_CREATE_TOPICS",
                     "ZOO_4LW_COMMANDS_WHITELIST"):
            self.env.pop(name, None)  # the compose files' defaults, unless the test says
        self.env.update(env or {})
        self.last_logs: Optional[str] = None

    def __str__(self) -> str:
        return f"compose project {self.name} ({self.file.name}, {self.subnet}.0/24)"

    def compose(self, *args: str, timeout: float = 180.0,
                check: bool = True) -> subprocess.CompletedProcess:
        return run([*self.compose_command, "-p", self.name, "-f", str(self.file), *args],
                   timeout=timeout, check=check, env=self.env)

    def ip(self, last_octet: int) -> str:
        return f"{self.subnet}.{last_octet}"

    def up(self) -> None:
        self.compose("up", "-d")

    def down(self, volumes: bool = False) -> None:
        """`down` (volumes kept unless `volumes`): every container stops with SIGTERM."""
        self.compose("down", *(["-v"] if volumes else []), "--remove-orphans", timeout=240)

    def _labelled(self, kind: str, extra: tuple[str, ...] = ()) -> list[str]:
        return run(["docker", kind, "ls", *extra, "-q", "--filter",
                    f"label=com.docker.compose.project={self.name}"],
                   timeout=30).stdout.split()

    def container(self, service: str) -> str:
        """The id of the service's container (running or not)."""
        ids = run(["docker", "ps", "-a", "-q", "--filter",
                   f"label=com.docker.compose.project={self.name}", "--filter",
                   f"label=com.docker.compose.service={service}"], timeout=30).stdout.split()
        assert len(ids) == 1, f"{self}: service {service} has containers {ids}"
        return ids[0]

    def services(self) -> list[str]:
        return self.compose("config", "--services", timeout=60).stdout.split()

    def state(self, service: str) -> str:
        """"running healthy", "running starting", "exited", ..., and the restart count."""
        return inspect(self.container(service),
                       "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}} "
                       "restarts={{.RestartCount}}")

    def wait_healthy(self, services: Optional[Iterable[str]] = None,
                     timeout: float = HEALTHY_TIMEOUT) -> None:
        """Until every one of `services` (default all) is running and healthy; fails at once
        when one has exited, or keeps failing (restarted 3 times by its restart policy)."""
        services = list(services or self.services())
        deadline = time.monotonic() + timeout
        while True:
            states = {s: self.state(s) for s in services}
            broken = {s: state for s, state in states.items()
                      if state.startswith(("exited", "dead"))
                      or int(state.rsplit("restarts=", 1)[1]) >= 3}
            assert not broken, f"{self}: containers failed: {broken}"
            if all(state.startswith("running healthy") for state in states.values()):
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self}: {services} not healthy after {timeout} s: {states}")
            time.sleep(0.5)

    def restart_counts(self) -> dict[str, int]:
        return {s: int(inspect(self.container(s), "{{.RestartCount}}"))
                for s in self.services()}

    def kill(self, service: str) -> None:
        run(["docker", "kill", self.container(service)], timeout=60)
        wait_until(lambda: self.state(service).startswith("exited"), 30, interval=0.2,
                   what=f"{service} to have exited after docker kill")

    def start(self, service: str) -> None:
        run(["docker", "start", self.container(service)], timeout=60)

    def log_tail(self, lines: int = 150) -> str:
        if self.last_logs is not None:
            return self.last_logs
        return self.logs(lines)

    def logs(self, lines: int = 150) -> str:
        done = self.compose("logs", "--no-color", f"--tail={lines}", timeout=60, check=False)
        return done.stdout + done.stderr

    def teardown(self) -> None:
        """Keeps the logs for the report, then removes everything of the project."""
        with contextlib.suppress(Exception):
            self.last_logs = self.logs()
        try:
            self.compose("down", "-v", "--remove-orphans", "--timeout", "10", timeout=240,
                         check=False)
        finally:
            # Whatever `down` left (it failed, or was interrupted).
            for cid in self._labelled("container", ("-a",)):
                run(["docker", "rm", "-f", "-v", cid], timeout=60, check=False)
            for volume in self._labelled("volume"):
                run(["docker", "volume", "rm", "-f", volume], timeout=60, check=False)
            for network in self._labelled("network"):
                run(["docker", "network", "rm", network], timeout=60, check=False)
        left = (self._labelled("container", ("-a",)) + self._labelled("volume")
                + self._labelled("network"))
        assert not left, f"{self}: left behind after teardown: {left}"


@pytest.fixture
def compose_project(request, compose_command, ferry_image):
    """`compose_project("cluster.yml", env={...})`: a project of the test's own (not started
    yet; `env`: variables for the compose file), taken down with its volumes at teardown;
    failing reports show its containers' logs."""
    projects: list[ComposeProject] = []

    def make(file: str, env: Optional[dict] = None) -> ComposeProject:
        project = ComposeProject(compose_command, file, ferry_image, request.node.name, env)
        projects.append(project)
        # conftest.py's report hook shows `log_tail()` of what the test lists here.
        request.node.__dict__.setdefault("kafka_servers", []).append(project)
        return project

    yield make
    errors = []
    for project in projects:
        try:
            project.teardown()
        except Exception as error:  # noqa: BLE001 - tear every project down, then report
            errors.append(f"{project}: {error}")
    assert not errors, "teardown failed: " + "; ".join(errors)


# ----- clients --------------------------------------------------------------------------------

def kazoo(hosts: str):
    from kazoo.client import KazooClient
    from kazoo.retry import KazooRetry
    client = KazooClient(hosts=hosts, timeout=10.0,
                         connection_retry=KazooRetry(max_tries=-1, delay=0.1, max_delay=1.0),
                         command_retry=KazooRetry(max_tries=30, delay=0.1, max_delay=1.0))
    client.start(timeout=30)
    return client


@contextlib.contextmanager
def zookeeper(hosts: str):
    client = kazoo(hosts)
    try:
        yield client
    finally:
        client.stop()
        client.close()


def partition_state(zk, topic: str, partition: int) -> Optional[dict]:
    from kazoo.exceptions import NoNodeError
    try:
        data, _ = zk.retry(zk.get, f"/brokers/topics/{topic}/partitions/{partition}/state")
    except NoNodeError:
        return None
    return json.loads(data)


def registered_ids(zk) -> set[int]:
    from kazoo.exceptions import NoNodeError
    try:
        return {int(c) for c in zk.retry(zk.get_children, "/brokers/ids")}
    except NoNodeError:
        return set()


def wait_for_isr(zk, topic: str, size: int, timeout: float = 60.0) -> dict[int, dict]:
    """Every partition with a leader and an ISR of `size`; returns the states."""
    def sized():
        states = {p: partition_state(zk, topic, p) for p in range(PARTITIONS)}
        ok = all(s and s["leader"] >= 0 and len(s["isr"]) == size for s in states.values())
        return states if ok else None
    return wait_until(sized, timeout, interval=0.2,
                      what=f"every partition of {topic} to have a leader and an ISR of {size} "
                           f"(now {[partition_state(zk, topic, p) for p in range(PARTITIONS)]})")


def wait_for_leader(zk, topic: str, partition: int, excluding: int,
                    timeout: float = 60.0) -> int:
    def elected():
        state = partition_state(zk, topic, partition)
        return state["leader"] if state and state["leader"] not in (-1, excluding) else None
    return wait_until(elected, timeout, interval=0.05,
                      what=f"a leader of {topic}-{partition} other than {excluding}")


def wait_for_metadata(hosts: dict[int, str], timeout: float = 90.0) -> None:
    """Until every broker's Metadata lists all of `hosts` (broker id -> address) and names a
    controller among them: the brokers have heard from the controller."""
    ids = set(hosts)

    def agreed() -> bool:
        answers = [metadata_of(host, 9092) for host in hosts.values()]
        return all(listed == ids and controller in ids for listed, controller in answers)
    wait_until(agreed, timeout, interval=0.5,
               what=f"brokers {sorted(ids)} to list each other and a controller in Metadata")


def create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})
    new = NewTopic(topic, num_partitions=PARTITIONS, replication_factor=3,
                   config={"min.insync.replicas": "2"})
    admin.create_topics([new], operation_timeout=30)[topic].result(timeout=60)


def four_letter(host: str, word: str, port: int = 2181) -> str:
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(word.encode())
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def admin_command(host: str, command: str) -> dict:
    """The keeper's admin HTTP server (port 8080): /commands/<command>."""
    with urllib.request.urlopen(f"http://{host}:8080/commands/{command}", timeout=5) as answer:
        return json.loads(answer.read())


def console_api(host: str, what: str) -> dict:
    """The web console's JSON on a keeper's admin port (no account: read-only, open)."""
    with urllib.request.urlopen(f"http://{host}:8080/console/api/{what}", timeout=10) as answer:
        return json.loads(answer.read())


def topic_partitions(zk, topic: str) -> Optional[dict[int, list[int]]]:
    """/brokers/topics/T: partition -> replicas (None while the topic does not exist)."""
    from kazoo.exceptions import NoNodeError
    try:
        data, _ = zk.retry(zk.get, f"/brokers/topics/{topic}")
    except NoNodeError:
        return None
    return {int(p): r for p, r in json.loads(data)["partitions"].items()}


def kcat_binary() -> str:
    found = shutil.which("kcat") or shutil.which("kafkacat")
    if found is None:
        pytest.fail("kcat not found (Debian: apt-get install kafkacat; scripts/test.sh does)")
    return found


def kcat_round_trip(bootstrap: str, topic: str, partition: int) -> None:
    """kcat produces keyed records with acks=all to one partition and consumes them back."""
    kcat = kcat_binary()
    lines = [f"k{i}:value {i}" for i in range(20)]
    produced = subprocess.run([kcat, "-P", "-b", bootstrap, "-t", topic, "-p", str(partition),
                               "-K:", "-X", "acks=all"], input="\n".join(lines) + "\n",
                              capture_output=True, text=True, timeout=60)
    assert produced.returncode == 0, produced.stderr
    consumed = run([kcat, "-C", "-b", bootstrap, "-t", topic, "-p", str(partition),
                    "-o", "beginning", "-e", "-f", "%k:%s\n"], timeout=60)
    assert consumed.stdout.splitlines() == lines, consumed.stderr


def uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])  # real uid (then effective, saved, filesystem)
    raise AssertionError(f"no Uid line in /proc/{pid}/status")


def kill_the_leader_under_load(project: ComposeProject, zk, topic: str, load: ProduceLoad,
                               service_of) -> int:
    """`docker kill` of the container leading partition 0 while `load` produces; returns the
    killed broker's id once another broker leads partition 0 and sends to every partition the
    killed one led are acknowledged again."""
    old = partition_state(zk, topic, 0)["leader"]
    led = [p for p in range(PARTITIONS) if partition_state(zk, topic, p)["leader"] == old]
    project.kill(service_of(old))
    killed = time.monotonic()  # (once the container has exited: sends after it are not its)
    new = wait_for_leader(zk, topic, 0, excluding=old)
    acked = load.first_ack_after(killed, led, timeout=60) - killed
    print(f"docker kill {service_of(old)} (leader of {topic} partitions {led}): broker {new} "
          f"leads partition 0; first acknowledged send to them {acked:.2f} s after the kill")
    load.wait_for_more(150, partitions=led)
    return old


def reads_by_position(reads: list[Read]) -> dict[tuple, bytes]:
    return {(r.partition, r.offset): r.value for r in reads}


# ----- the tests ------------------------------------------------------------------------------

def test_standalone_container_serves_kafka_and_zookeeper_clients_as_uid_1000(compose_project):
    project = compose_project("standalone.yml",
                              env={"KAFKA_CREATE_TOPICS": "docker-created:2:1"})
    project.up()
    project.wait_healthy(["ferry"])
    ip = project.ip(10)
    cid = project.container("ferry")

    # Not root: the image's user, and the process the container runs.
    assert inspect(cid, "{{.Config.User}}") == "1000:1000"
    pid = int(inspect(cid, "{{.State.Pid}}"))
    assert pid > 0 and uid_of(pid) == 1000, f"the container's process {pid} is not uid 1000"

    kcat_round_trip(f"{ip}:9092", "docker-kcat", partition=0)

    # confluent-kafka: the broker advertises the container's address; produce and consume.
    admin = AdminClient({"bootstrap.servers": f"{ip}:9092"})
    brokers = admin.list_topics(timeout=30).brokers
    assert [(b.host, b.port) for b in brokers.values()] == [(ip, 9092)], brokers
    producer = Producer({"bootstrap.servers": f"{ip}:9092", "enable.idempotence": True,
                         "acks": "all"})
    values = [f"confluent-{i}".encode() for i in range(200)]
    for value in values:
        producer.produce("docker-confluent", value=value, partition=0)
    assert producer.flush(60) == 0, "confluent-kafka could not deliver everything"
    reads = read_all(f"{ip}:9092", "docker-confluent", partitions=1)
    assert [r.value for r in sorted(reads, key=lambda r: r.offset)] == values

    # kazoo: znodes, and the broker's registration with its advertised address.
    with zookeeper(f"{ip}:2181") as zk:
        zk.create("/docker-standalone/child", b"hello", makepath=True)
        assert zk.get("/docker-standalone/child")[0] == b"hello"
        assert zk.get_children("/docker-standalone") == ["child"]
        ids = zk.get_children("/brokers/ids")
        assert len(ids) == 1, ids
        registration = json.loads(zk.get(f"/brokers/ids/{ids[0]}")[0])
        assert f"PLAINTEXT://{ip}:9092" in registration["endpoints"], registration
        # KAFKA_CREATE_TOPICS: created once the broker was up.
        created = wait_until(lambda: topic_partitions(zk, "docker-created"), 60, interval=0.5,
                             what="KAFKA_CREATE_TOPICS' topic docker-created")
        assert sorted(created) == [0, 1] and all(len(r) == 1 for r in created.values()), created

    # The data is in the named volume, owned by the container's user.
    volume = f"{project.name}_data"
    mountpoint = Path(run(["docker", "volume", "inspect", "-f", "{{.Mountpoint}}", volume],
                          timeout=30).stdout.strip())
    if mountpoint.is_dir():  # (a local engine: its volumes are on this file system)
        owners = {(p, p.stat().st_uid) for p in [mountpoint, *mountpoint.rglob("*")]
                  if not p.is_symlink()}
        assert len(owners) > 3, f"nothing written in the volume: {owners}"
        assert {uid for _, uid in owners} == {1000}, sorted(
            (str(p), uid) for p, uid in owners if uid != 1000)[:10]
    assert project.restart_counts() == {"ferry": 0}


@pytest.mark.fault
def test_cluster_compose_keeps_acknowledged_records_through_a_leader_kill_and_a_restart(
        compose_project):
    project = compose_project("cluster.yml",
                              env={"KAFKA_CREATE_TOPICS": "docker-created:3:3,docker-two:1:2"})
    project.up()
    project.wait_healthy()
    brokers = {i: project.ip(20 + i) for i in (1, 2, 3)}
    bootstrap = ",".join(f"{ip}:9092" for ip in brokers.values())
    keeper_ips = [project.ip(10 + i) for i in (1, 2, 3)]
    keepers = ",".join(f"{ip}:2181" for ip in keeper_ips)
    topic = "docker-cluster"

    # Every keeper serves: the four-letter words ZOO_4LW_COMMANDS_WHITELIST allows, one leader,
    # and the admin server on 8080.
    modes = []
    for ip in keeper_ips:
        assert four_letter(ip, "ruok") == "imok"
        mntr = dict(line.split("\t", 1) for line in four_letter(ip, "mntr").splitlines()
                    if "\t" in line)
        modes.append(mntr["zk_server_state"])
        assert admin_command(ip, "ruok")["error"] is None
    assert sorted(modes) == ["follower", "follower", "leader"], modes

    with zookeeper(keepers) as zk:
        zk.create("/docker-cluster/kept", b"before the restart", makepath=True)
        wait_for_metadata(brokers)
        # KAFKA_CREATE_TOPICS (given to every broker): created once, as asked.
        for name, partitions, replicas in (("docker-created", 3, 3), ("docker-two", 1, 2)):
            created = wait_until(lambda name=name: topic_partitions(zk, name), 60, interval=0.5,
                                 what=f"KAFKA_CREATE_TOPICS' topic {name}")
            assert sorted(created) == list(range(partitions)), created
            assert all(len(set(r)) == replicas for r in created.values()), created
        # kcat from the host, through every broker's advertised address, on a partition with
        # three replicas.
        kcat_round_trip(bootstrap, "docker-created", partition=1)
        # The web console on a keeper's admin port: the ensemble from ZOO_SERVERS' client
        # addresses, and the brokers it finds registered in it.
        ensemble = console_api(keeper_ips[0], "ensemble")["servers"]
        assert sorted(s["mode"] for s in ensemble) == ["follower", "follower", "leader"], ensemble
        cluster = console_api(keeper_ips[0], "cluster")
        assert sorted(b["id"] for b in cluster["brokers"]) == [1, 2, 3], cluster
        create_topic(bootstrap, topic)
        wait_for_isr(zk, topic, 3)

        with ProduceLoad(bootstrap, topic, PARTITIONS) as load:
            load.wait_for_more(300)
            killed = kill_the_leader_under_load(project, zk, topic, load,
                                                lambda i: f"broker{i}")
            # Started again once ZooKeeper has expired its old registration (a broker refuses
            # an id another session holds), it catches up and rejoins every ISR.
            wait_until(lambda: killed not in registered_ids(zk), SESSION_TIMEOUT_S * 3 + 10,
                       interval=0.2, what=f"broker {killed}'s registration to expire")
            project.start(f"broker{killed}")
            project.wait_healthy([f"broker{killed}"])
            wait_for_isr(zk, topic, 3, timeout=90)
            load.wait_for_more(150)
        assert not load.fatal, load.fatal
        reads = read_all(bootstrap, topic, PARTITIONS)
        assert_no_anomalies(load.acks(), reads, load.attempted)

    # down (volumes kept) and up: every record and the znode are still there.
    assert project.restart_counts() == {s: 0 for s in project.services()}
    project.down()
    project.up()
    project.wait_healthy()
    with zookeeper(keepers) as zk:
        assert zk.get("/docker-cluster/kept")[0] == b"before the restart"
        wait_for_metadata(brokers)
        wait_for_isr(zk, topic, 3, timeout=90)
    again = read_all(bootstrap, topic, PARTITIONS)
    report = check(load.acks(), again, load.attempted)
    assert report.ok, "after down and up: " + report.summary()
    assert reads_by_position(again) == reads_by_position(reads), (
        "the topic read after down and up differs from the one read before")
    assert project.restart_counts() == {s: 0 for s in project.services()}


@pytest.mark.fault
def test_combined_nodes_lose_nothing_acknowledged_when_one_is_killed(compose_project):
    project = compose_project("combined.yml")
    project.up()
    project.wait_healthy()
    nodes = {i: project.ip(10 + i) for i in (1, 2, 3)}
    bootstrap = ",".join(f"{ip}:9092" for ip in nodes.values())
    topic = "docker-combined"

    with zookeeper(",".join(f"{ip}:2181" for ip in nodes.values())) as zk:
        zk.create("/docker-combined/before", b"3 of 3", makepath=True)
        wait_for_metadata(nodes)
        create_topic(bootstrap, topic)
        wait_for_isr(zk, topic, 3)
        with ProduceLoad(bootstrap, topic, PARTITIONS) as load:
            load.wait_for_more(300)
            killed = kill_the_leader_under_load(project, zk, topic, load, lambda i: f"node{i}")
            wait_for_isr(zk, topic, 2)
            load.wait_for_more(150)
        assert not load.fatal, load.fatal

    live = {i: ip for i, ip in nodes.items() if i != killed}
    # The ensemble serves reads and writes with 2 of its 3 servers, through each of them.
    for i, ip in live.items():
        with zookeeper(f"{ip}:2181") as zk:
            zk.sync("/")
            assert zk.get("/docker-combined/before")[0] == b"3 of 3"
            zk.create(f"/docker-combined/with-2-of-3-via-{i}", b"ok")
    with zookeeper(",".join(f"{ip}:2181" for ip in live.values())) as zk:
        zk.sync("/")
        assert sorted(zk.get_children("/docker-combined")) == sorted(
            ["before", *(f"with-2-of-3-via-{i}" for i in live)])

    reads = read_all(",".join(f"{ip}:9092" for ip in live.values()), topic, PARTITIONS)
    assert_no_anomalies(load.acks(), reads, load.attempted)
    assert project.restart_counts() == {s: 0 for s in project.services()}
