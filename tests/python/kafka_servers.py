"""Kafka-side server processes for the broker's compatibility and crash tests.

Two ways to run a ferry broker, so that every broker test runs on both metadata stores:

- `standalone`: `ferry standalone` (the embedded ferry keeper and the broker in one process);
- `apache-zk`: `ferry broker start --foreground` with its metadata in an Apache ZooKeeper 3.8
  (Debian's `zookeeper` package) started for it.

A `KafkaServer` owns a directory; `start()` returns once the broker answers an ApiVersions
request on its port, so a started broker is serving. `stop()` (SIGTERM), `kill9()` and
`restart()` keep the data, so a restarted broker finds its logs, topics and group offsets.
Broker settings for the test go in `overrides` (`--override key=value`).
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import Optional

from servers import (FERRY_BIN, STOP_GRACE, ApacheZooKeeper, ManagedProcess, free_port,
                     wait_until)

START_TIMEOUT = 30.0

# Settings that make tests quick without changing what they prove: groups form without
# Kafka's 3 s initial delay, and the offsets topic has few partitions to open.
TEST_OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "4",
}


def answers_api_versions(host: str, port: int, timeout: float = 2.0) -> bool:
    """True when the port answers an ApiVersions v0 request with error code 0."""
    client_id = b"ferry-tests"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        header = read_exact(sock, 4)
        (size,) = struct.unpack(">i", header)
        response = read_exact(sock, size)
    correlation_id, error_code = struct.unpack(">ih", response[:6])
    return correlation_id == 1 and error_code == 0


def read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class KafkaServer(ManagedProcess):
    """One ferry broker process (and, for `apache-zk`, the ZooKeeper it uses)."""

    kind = "?"
    stop_grace = STOP_GRACE * 3  # a broker closes its logs and ZooKeeper session first

    def __init__(self, workdir: Path, overrides: Optional[dict] = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(self.workdir / "broker.log")
        self.port = free_port()
        self.host = "127.0.0.1"
        self.overrides = {**TEST_OVERRIDES, **(overrides or {})}
        STARTED_BROKERS.append(self)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def zookeeper_connect(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<ferry broker ({self.kind}) {self.bootstrap}>"

    def command(self) -> list[str]:
        raise NotImplementedError

    def override_args(self) -> list[str]:
        return [arg for k, v in self.overrides.items() for arg in ("--override", f"{k}={v}")]

    def start(self, timeout: float = START_TIMEOUT) -> "KafkaServer":
        if not FERRY_BIN.exists():
            raise FileNotFoundError(f"ferry binary not found at {FERRY_BIN}: run `cargo build -p ferry`")
        for attempt in range(3):
            self.launch(self.command(), self.workdir)
            try:
                wait_until(self._serving, timeout, what=f"{self} to serve")
                return self
            except (TimeoutError, RuntimeError) as error:
                self.kill9()
                # A free port can be taken by a client's ephemeral port before the broker binds
                # it (tests with thousands of connections): take other ports, but only for a
                # broker that has never run (a restart must keep its address).
                in_use = "Address already in use" in self.log_tail(5)
                if in_use and self.starts == attempt + 1 and attempt < 2 and self.choose_ports():
                    continue
                raise RuntimeError(f"{self} did not start; log tail:\n{self.log_tail()}") from error
        return self

    def choose_ports(self) -> bool:
        """Takes new free ports before a first start; False if this kind cannot."""
        return False

    def _serving(self) -> bool:
        if not self.is_alive():
            raise RuntimeError(f"{self} exited with {self.process.returncode}; log tail:\n"
                               f"{self.log_tail()}")
        return answers_api_versions(self.host, self.port)

    def restart(self, timeout: float = START_TIMEOUT) -> "KafkaServer":
        self.stop()
        return self.start(timeout)

    def shutdown(self) -> None:
        """Stops the broker and whatever it depends on (teardown)."""
        self.stop()


class Standalone(KafkaServer):
    """`ferry standalone`: the keeper is in the same process, so kill -9 takes both down."""

    kind = "standalone"

    def __init__(self, workdir: Path, overrides: Optional[dict] = None) -> None:
        super().__init__(workdir, overrides)
        self.keeper_port = free_port()

    def choose_ports(self) -> bool:
        self.port, self.keeper_port = free_port(), free_port()
        return True

    @property
    def zookeeper_connect(self) -> str:
        return f"{self.host}:{self.keeper_port}"

    def command(self) -> list[str]:
        return [str(FERRY_BIN), "standalone", "--data-dir", str(self.workdir / "data"),
                "--keeper-port", str(self.keeper_port), "--broker-port", str(self.port),
                *self.override_args()]


class BrokerOnZooKeeper(KafkaServer):
    """`ferry broker` with its metadata in a ZooKeeper of its own: Apache ZooKeeper 3.8 by
    default (started with the broker, kept running across broker restarts), or the one given
    (e.g. an `ensemble.FerryEnsemble`; anything with `hosts`, `start`, `stop`, `is_alive` and
    `log_tail`), whose servers all go in zookeeper.connect."""

    kind = "apache-zk"

    def __init__(self, workdir: Path, overrides: Optional[dict] = None,
                 zookeeper=None) -> None:
        super().__init__(workdir, overrides)
        if zookeeper is not None:
            self.kind = "ferry-ensemble"
        self.zookeeper = zookeeper or ApacheZooKeeper(self.workdir / "zookeeper")
        self.config_path = self.workdir / "server.properties"
        self.write_config()

    def properties(self) -> dict:
        """The broker's server.properties (subclasses add or change keys)."""
        return {
            "broker.id": 0,
            "listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "log.dirs": self.workdir / "kafka-logs",
            "zookeeper.connect": self.zookeeper_connect,
            "zookeeper.session.timeout.ms": 6000,
        }

    def write_config(self) -> None:
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))

    @property
    def zookeeper_connect(self) -> str:
        return f"{self.zookeeper.hosts}/kafka"

    def command(self) -> list[str]:
        return [str(FERRY_BIN), "broker", "start", "--foreground", "--config",
                str(self.config_path), *self.override_args()]

    def start(self, timeout: float = START_TIMEOUT) -> "KafkaServer":
        if not self.zookeeper.is_alive():
            self.zookeeper.start()
        return super().start(timeout)

    def shutdown(self) -> None:
        super().shutdown()
        self.zookeeper.stop()

    def log_tail(self, lines: Optional[int] = None) -> str:
        return (super().log_tail(lines) + "\n----- zookeeper -----\n"
                + self.zookeeper.log_tail(30))


KAFKA_KINDS = {"standalone": Standalone, "apache-zk": BrokerOnZooKeeper}
STARTED_BROKERS: list[KafkaServer] = []
