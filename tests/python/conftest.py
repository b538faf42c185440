"""Fixtures for the keeper's compatibility, differential and crash tests.

Every server below runs on 127.0.0.1 on a free port, from a generated zoo.cfg (tickTime=2000,
dataDir in the test's temporary directory, 4lw.commands.whitelist=*, extendedTypesEnabled=true,
admin.enableServer=false, maxClientCnxns=60). A started server is serving: it has answered `ruok`
with `imok` and accepted a session. Servers are stopped at teardown; a server that died during a
test without the test stopping it fails that test; a failing test's report shows the log tail of
each server it used. Server objects (see servers.py) have `.hosts` ("127.0.0.1:port"), `.port`,
`.data_dir`, `.stop()`, `.kill9()`, `.restart()`, `.is_alive()`, `.kind` ("apache" or "ferry").

- `apache_zk`: Apache ZooKeeper 3.8 (Debian's `zookeeper` package), fresh for the test.
- `another_apache_zk`: a second fresh Apache ZooKeeper.
- `ferry_keeper`: `$FERRY_BIN keeper start --foreground --config zoo.cfg` (default
  target/debug/ferry, built by `cargo build -p ferry`), fresh for the test.
- `keeper`: parametrized over ["apache", "ferry"]: a server shared by the tests of one module (so
  do not stop it; use `fresh_keeper` for that). Pair it with `znode_base` for isolation.
- `fresh_keeper`: parametrized like `keeper`, but the test's own server: stop, kill -9 and restart
  it at will.
- `znode_base`: a znode path unique to the test ("/" + the test's name), not yet created.
- `kazoo_client`: a factory `kazoo_client(hosts=None, **kwargs)` of started kazoo clients for the
  `keeper` fixture's server (or `hosts`), chrooted to `znode_base` (which it creates); all
  are stopped at teardown.

Run one side only with `-k apache` or `-k ferry`.

Broker fixtures (see kafka_servers.py), parametrized over ["standalone", "apache-zk"] so that
every broker test runs with its metadata in ferry keeper and in Apache ZooKeeper 3.8. Objects
have `.bootstrap` ("127.0.0.1:port"), `.zookeeper_connect`, `.stop()`, `.kill9()`, `.restart()`,
`.log_tail()`, `.kind`:

- `kafka`: a broker shared by the tests of one module (use `topic_name` for isolation; do not
  stop it).
- `fresh_kafka`: the test's own broker: stop, kill -9 and restart it at will.
- `kafka_factory`: `kafka_factory(overrides={...})` starts a broker of the test's kind with
  extra `--override`s (for settings a test needs).
- `topic_name`: a topic name unique to the test.
"""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from kafka_servers import KAFKA_KINDS, STARTED_BROKERS, KafkaServer  # noqa: E402
from servers import SERVER_KINDS, STARTED, ServerProcess  # noqa: E402

KINDS = list(SERVER_KINDS)


@contextlib.contextmanager
def serving(server: ServerProcess, node=None):
    """Starts `server`, yields it, and stops it; fails if it died on its own meanwhile."""
    if node is not None:
        _attach(node, server)
    server.start()
    try:
        yield server
    finally:
        died = server.crashed()
        server.stop()
    if died:
        pytest.fail(f"{server.kind} keeper died during the test (exit code "
                    f"{server.process.returncode}); log tail:\n{server.log_tail()}")


def _attach(node, server: ServerProcess) -> None:
    """Remembers that the test `node` uses `server`, so that its log is shown if the test fails."""
    servers = node.__dict__.setdefault("keeper_servers", [])
    if server not in servers:
        servers.append(server)


def _serve(request, kind: str, workdir: Path):
    with serving(SERVER_KINDS[kind](workdir), request.node) as server:
        yield server


@pytest.fixture
def apache_zk(tmp_path, request):
    yield from _serve(request, "apache", tmp_path / "apache")


@pytest.fixture
def another_apache_zk(tmp_path, request):
    """A second, independent Apache ZooKeeper (to check that a scenario is deterministic)."""
    yield from _serve(request, "apache", tmp_path / "apache-2")


@pytest.fixture
def ferry_keeper(tmp_path, request):
    yield from _serve(request, "ferry", tmp_path / "ferry")


@pytest.fixture(params=KINDS)
def fresh_keeper(tmp_path, request):
    yield from _serve(request, request.param, tmp_path / request.param)


@pytest.fixture(scope="module", params=KINDS)
def _shared_keeper(tmp_path_factory, request):
    workdir = tmp_path_factory.mktemp(f"shared-{request.param}")
    with serving(SERVER_KINDS[request.param](workdir)) as server:
        yield server


@pytest.fixture
def keeper(_shared_keeper, request):
    server = _shared_keeper
    _attach(request.node, server)
    if not server.is_alive():
        # An earlier test of the module killed it (and failed for it): start it again.
        server.start()
    yield server
    if server.crashed():
        pytest.fail(f"{server.kind} keeper died during the test; log tail:\n{server.log_tail()}")


@pytest.fixture
def znode_base(request) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    return f"/{name}"


@pytest.fixture
def kazoo_client(keeper, znode_base):
    from kazoo.client import KazooClient

    clients = []

    def make(hosts: str | None = None, **kwargs) -> KazooClient:
        hosts = hosts or keeper.hosts
        if not clients:  # the first client makes the chroot exist
            root = KazooClient(hosts=hosts, timeout=10)
            root.start(timeout=15)
            root.ensure_path(znode_base)
            root.stop()
            root.close()
        kwargs.setdefault("timeout", 10)
        client = KazooClient(hosts=hosts + znode_base, **kwargs)
        clients.append(client)
        client.start(timeout=15)
        return client

    yield make
    for client in clients:
        client.stop()
        client.close()


@contextlib.contextmanager
def broker_serving(server: KafkaServer, node=None):
    """Starts a broker, yields it, shuts it down; fails the test if it died on its own."""
    if node is not None:
        node.__dict__.setdefault("kafka_servers", []).append(server)
    server.start()
    try:
        yield server
    finally:
        died = server.crashed()
        server.shutdown()
    if died:
        pytest.fail(f"{server} died during the test (exit code {server.process.returncode}); "
                    f"log tail:\n{server.log_tail()}")


@pytest.fixture(scope="module", params=list(KAFKA_KINDS))
def _shared_kafka(tmp_path_factory, request):
    workdir = tmp_path_factory.mktemp(f"kafka-{request.param}")
    with broker_serving(KAFKA_KINDS[request.param](workdir)) as server:
        yield server


@pytest.fixture
def kafka(_shared_kafka, request):
    request.node.__dict__.setdefault("kafka_servers", []).append(_shared_kafka)
    if not _shared_kafka.is_alive():
        _shared_kafka.start()
    yield _shared_kafka
    if _shared_kafka.crashed():
        pytest.fail(f"{_shared_kafka} died during the test; log tail:\n{_shared_kafka.log_tail()}")


@pytest.fixture(params=list(KAFKA_KINDS))
def kafka_factory(tmp_path, request):
    with contextlib.ExitStack() as stack:
        count = 0

        def make(overrides: dict | None = None) -> KafkaServer:
            nonlocal count
            count += 1
            server = KAFKA_KINDS[request.param](tmp_path / f"kafka-{count}", overrides)
            return stack.enter_context(broker_serving(server, request.node))

        yield make


@pytest.fixture
def fresh_kafka(kafka_factory):
    return kafka_factory()


@pytest.fixture
def topic_name(request) -> str:
    return "t-" + re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:200]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in item.__dict__.get("keeper_servers", []):
            report.sections.append((f"{server.kind} keeper log tail ({server.log_path})",
                                    server.log_tail()))
        for server in item.__dict__.get("kafka_servers", []):
            report.sections.append((f"{server} log tail", server.log_tail()))


def pytest_sessionfinish(session, exitstatus):
    for broker in STARTED_BROKERS:
        broker.kill9()
    for server in STARTED:
        server.kill9()
