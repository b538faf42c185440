"""Adversarial clients against `ferry standalone` (its keeper and its broker, one process): the
server stays up, answers a normal client throughout, and its resident memory stays under a
stated bound. Bounds are on memory, never on time.

- thousands of connections that each announce a huge frame and send only its start;
- clients that pipeline requests and never read the replies (throttled, then closed);
- a watcher that never reads while writes fire its watch (closed, not buffered forever);
- silent connections filling `maxClientCnxns` (closed after the handshake timeout; the embedded
  broker, which reaches its keeper in-process, is never locked out);
- floods of random frames, and connection churn (no descriptor left behind).

Each test prints the resident memory it saw (`-s` shows it): the figures for the closing note.
"""

from __future__ import annotations

import os
import random
import resource
import socket
import struct
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from kazoo.client import KazooClient

from kafka_servers import Standalone, answers_api_versions
from kafka_servers import read_exact as recv_exact
from servers import four_letter_word, wait_until

MiB = 1 << 20

# Stated bounds on the standalone process's resident memory while under attack (the idle
# process is ~25 MiB; see the closing note for the figures measured).
RSS_BOUND_MIB = 400


@pytest.fixture(scope="module", autouse=True)
def many_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def standalone(tmp_path):
    server = Standalone(tmp_path / "standalone",
                        overrides={"connections.max.idle.ms": "8000"})
    server.start()
    try:
        yield server
    finally:
        crashed = server.crashed()
        server.stop()
    assert not crashed, f"the server died during the test; log tail:\n{server.log_tail()}"


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class RssWatch:
    """Samples the process's RSS in the background; `peak` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_mib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except (OSError, RuntimeError):
                return

    def __enter__(self) -> "RssWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def connect_from(source: str, port: int, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # So that this client's port, once closed, never keeps a server from binding it.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def sources(count: int, per_address: int) -> list[str]:
    """Loopback source addresses for `count` connections, `per_address` each (127.0.0.1 is
    left to the normal clients)."""
    return [f"127.0.{10 + i // per_address // 250}.{1 + (i // per_address) % 250}"
            for i in range(count)]


def kafka_works(server: Standalone, topic: str, n: int = 200) -> None:
    """A normal librdkafka client produces `n` records (acks=all) and reads them back."""
    producer = Producer({"bootstrap.servers": server.bootstrap, "acks": "all",
                         "message.timeout.ms": 60000})
    errors = []
    for i in range(n):
        producer.produce(topic, b"normal %d" % i, on_delivery=lambda e, _m: e and errors.append(e))
    assert producer.flush(60) == 0 and errors == []
    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "normal",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen = 0
    deadline = time.monotonic() + 60
    while seen < n and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen += 1
    consumer.close()
    assert seen >= n


def keeper_works(server: Standalone, path: str) -> None:
    """A normal kazoo client writes and reads a znode."""
    zk = KazooClient(hosts=f"127.0.0.1:{server.keeper_port}", timeout=15)
    zk.start(timeout=30)
    try:
        zk.create(path, b"normal", makepath=True)
        assert zk.get(path)[0] == b"normal"
    finally:
        zk.stop()
        zk.close()


def zk_connect_frame(timeout_ms: int = 30000) -> bytes:
    body = struct.pack(">iqiqi", 0, 0, timeout_ms, 0, 16) + b"\0" * 16 + b"\0"
    return struct.pack(">i", len(body)) + body


def zk_handshake(sock: socket.socket) -> None:
    sock.sendall(zk_connect_frame())
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    recv_exact(sock, size)


def zk_request(xid: int, op: int, body: bytes) -> bytes:
    payload = struct.pack(">ii", xid, op) + body
    return struct.pack(">i", len(payload)) + payload


def jute_string(s: str) -> bytes:
    data = s.encode()
    return struct.pack(">i", len(data)) + data


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Drains what the server sent; True once it closed the connection."""
    sock.settimeout(1)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if sock.recv(1 << 20) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def metric(server: Standalone, name: str) -> int:
    """A `mntr` figure, asked from 127.0.0.2 (127.0.0.1 may be at maxClientCnxns)."""
    with connect_from("127.0.0.2", server.keeper_port) as sock:
        sock.sendall(b"mntr")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    for line in answer.decode().splitlines():
        key, _, value = line.partition("\t")
        if key == name:
            return int(value)
    raise KeyError(name)


def test_thousands_of_huge_length_prefixes_hold_little_memory(standalone) -> None:
    pid = standalone.process.pid
    idle = rss_mib(pid)
    kafka_conns, keeper_conns = 3000, 1500
    with ExitStack() as held, RssWatch(pid) as rss:
        for source in sources(kafka_conns, per_address=200):
            sock = held.enter_context(connect_from(source, standalone.port))
            # A 100 MiB request (the socket.request.max.bytes default) of which 4 KiB arrive.
            sock.sendall(struct.pack(">i", 100 * MiB) + os.urandom(4096))
        for source in sources(keeper_conns, per_address=50):
            sock = held.enter_context(connect_from(source, standalone.keeper_port))
            # A handshake frame at jute.maxbuffer of which 4 KiB arrive.
            sock.sendall(struct.pack(">i", 0xFFFFF) + os.urandom(4096))
        held_rss = rss_mib(pid)
        kafka_works(standalone, f"huge-{uuid.uuid4().hex[:8]}")
        keeper_works(standalone, "/adversarial/huge")
    # Some normal traffic after the attack: the allocator gives freed memory back to the
    # system as its threads next allocate.
    time.sleep(2)
    keeper_works(standalone, "/adversarial/huge-after")
    kafka_works(standalone, f"huge-after-{uuid.uuid4().hex[:8]}")
    after = rss_mib(pid)
    print(f"\nRSS MiB: idle {idle:.1f}, holding {kafka_conns} + {keeper_conns} huge partial "
          f"frames {held_rss:.1f}, peak {rss.peak:.1f}, after closing {after:.1f}")
    assert rss.peak < RSS_BOUND_MIB


def test_clients_that_never_read_replies_are_throttled_then_closed(standalone) -> None:
    pid = standalone.process.pid
    zk = KazooClient(hosts=f"127.0.0.1:{standalone.keeper_port}", timeout=15)
    zk.start(timeout=30)
    zk.create("/adversarial/big", b"x" * 500_000, makepath=True)
    zk.stop()
    zk.close()
    metadata = struct.pack(">hhih", 3, 1, 1, 2) + b"rd" + struct.pack(">i", -1)  # all topics
    kafka_burst = (struct.pack(">i", len(metadata)) + metadata) * 20_000
    get_big = zk_request(1, 4, jute_string("/adversarial/big") + b"\0")
    with ExitStack() as held, RssWatch(pid) as rss:
        kafka_socks, keeper_socks = [], []
        for source in sources(50, per_address=50):
            sock = held.enter_context(connect_from(source, standalone.port, rcvbuf=4096))
            sock.setblocking(False)
            try:
                sock.send(kafka_burst)
            except BlockingIOError:
                pass
            kafka_socks.append(sock)
        for source in sources(20, per_address=20):
            sock = held.enter_context(connect_from(source, standalone.keeper_port, rcvbuf=4096))
            zk_handshake(sock)
            sock.setblocking(False)
            try:
                sock.send(get_big * 2000)  # 2000 x 500 kB of replies asked for, none read
            except BlockingIOError:
                pass
            keeper_socks.append(sock)
        kafka_works(standalone, f"slow-{uuid.uuid4().hex[:8]}")
        keeper_works(standalone, "/adversarial/slow")
        # Closed by the server: the broker after connections.max.idle.ms (8 s here) without
        # the answer taken, the keeper when the session times out (nothing it sends is read,
        # so no ping gets through either).
        for sock in kafka_socks[:5] + keeper_socks[:5]:
            assert closed_by_server(sock, within=120)
    print(f"\nRSS MiB with 50 + 20 clients not reading their replies: peak {rss.peak:.1f}")
    assert rss.peak < RSS_BOUND_MIB


def test_a_watcher_that_never_reads_is_closed(standalone) -> None:
    pid = standalone.process.pid
    long_name = "n" * 900
    zk = KazooClient(hosts=f"127.0.0.1:{standalone.keeper_port}", timeout=15)
    zk.start(timeout=30)
    zk.create(f"/adversarial/watched/{long_name}", b"", makepath=True)
    watcher = connect_from("127.0.0.2", standalone.keeper_port, rcvbuf=4096)
    zk_handshake(watcher)
    # addWatch(path, PERSISTENT_RECURSIVE): every change below fires an event to this client.
    watcher.sendall(zk_request(1, 106, jute_string("/adversarial/watched") + struct.pack(">i", 1)))
    (size,) = struct.unpack(">i", recv_exact(watcher, 4))
    recv_exact(watcher, size)
    try:
        with RssWatch(pid) as rss:
            # ~1 kB events, far more than the watcher's hard limit plus the kernel's buffers.
            pending = [zk.set_async(f"/adversarial/watched/{long_name}", b"%d" % i)
                       for i in range(30_000)]
            for result in pending:
                result.get(timeout=60)
        assert closed_by_server(watcher, within=60)
        assert metric(standalone, "zk_connections_closed_slow_reader") >= 1
        keeper_works(standalone, "/adversarial/after-watcher")
    finally:
        watcher.close()
        zk.stop()
        zk.close()
    print(f"\nRSS MiB while 30,000 events went to a watcher that reads nothing: "
          f"peak {rss.peak:.1f}")
    assert rss.peak < RSS_BOUND_MIB


def test_silent_connections_are_closed_and_the_embedded_broker_is_never_locked_out(
        standalone) -> None:
    with ExitStack() as held:
        silent = []
        for _ in range(70):  # maxClientCnxns is 60 per address
            try:
                sock = held.enter_context(connect_from("127.0.0.1", standalone.keeper_port))
                sock.sendall(struct.pack(">i", 45))  # a handshake's length, then nothing
                silent.append(sock)
            except OSError:
                pass
        # The broker's own metadata writes go through: topic creation needs ZooKeeper.
        kafka_works(standalone, f"locked-{uuid.uuid4().hex[:8]}")
        assert metric(standalone, "zk_connection_rejected") >= 10
        # Closed after the handshake timeout (10 s), not held for ever.
        for sock in silent[:60]:
            assert closed_by_server(sock, within=60)
    wait_until(lambda: metric(standalone, "zk_handshake_timeouts") >= 60, timeout=60,
               what="handshake timeouts counted")
    keeper_works(standalone, "/adversarial/after-silence")


def test_random_frame_floods_and_connection_churn(standalone) -> None:
    pid = standalone.process.pid
    rng = random.Random(11)
    baseline_fds = open_fds(pid)
    with RssWatch(pid) as rss:
        for round_ in range(3000):
            port = standalone.port if round_ % 2 else standalone.keeper_port
            try:
                with connect_from(f"127.0.0.{3 + round_ % 50}", port) as sock:
                    kind = round_ % 4
                    if kind == 0:  # random bytes
                        sock.sendall(os.urandom(rng.randrange(1, 3000)))
                    elif kind == 1:  # a plausible length, random contents
                        body = os.urandom(rng.randrange(0, 2000))
                        sock.sendall(struct.pack(">i", len(body)) + body)
                    elif kind == 2:  # a negative or absurd length
                        sock.sendall(struct.pack(">i", rng.choice([-1, -(1 << 31), 1 << 30])))
                    # kind 3: connect and close at once
            except OSError:
                pass  # the server may close first; that is its right
        assert answers_api_versions("127.0.0.1", standalone.port)
        keeper_works(standalone, "/adversarial/after-flood")
        kafka_works(standalone, f"flood-{uuid.uuid4().hex[:8]}")
    wait_until(lambda: open_fds(pid) <= baseline_fds + 20, timeout=60,
               what="descriptors of closed connections released")
    print(f"\nRSS MiB during 3000 random/churning connections: peak {rss.peak:.1f}; "
          f"descriptors {baseline_fds} before, {open_fds(pid)} after")
    assert rss.peak < RSS_BOUND_MIB
