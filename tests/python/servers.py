"""Keeper server processes for the tests: Apache ZooKeeper 3.8 (the reference, from Debian's
`zookeeper` package) and ferry keeper, both started from a generated zoo.cfg on a free loopback
port, plus the small waiting helpers every test uses.

A `ServerProcess` owns a directory (zoo.cfg, dataDir, a log file that receives the process's stdout
and stderr). `start()` returns once the server answers `ruok` with `imok` *and* accepts a session
(Apache answers `imok` before it has loaded its database), so a started server is serving.
`stop()` terminates it (SIGTERM, then SIGKILL after a grace period), `kill9()` kills it outright,
`restart()` starts it again on the same port and dataDir. Every server ever started is kept in
`STARTED` so that the pytest hook in conftest.py can show the log of each server a failing test
used, and stop any left running.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional, TypeVar

from zkwire import ProtocolError, ZkWire

REPO_ROOT = Path(__file__).resolve().parents[2]
CARGO_TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
FERRY_BIN = Path(os.environ.get("FERRY_BIN", CARGO_TARGET_DIR / "debug" / "ferry"))

# Debian's zookeeper package: the server jar's manifest names its dependencies; slf4j-simple makes
# the server log to stderr (which we capture) instead of nowhere.
APACHE_ZK_CLASSPATH = os.environ.get(
    "APACHE_ZK_CLASSPATH", "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar")
APACHE_ZK_MAIN = "org.apache.zookeeper.server.ZooKeeperServerMain"
ZKCLI_SH = Path(os.environ.get("ZKCLI_SH", "/usr/share/zookeeper/bin/zkCli.sh"))

START_TIMEOUT = 30.0
STOP_GRACE = 10.0

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.02,
               what: str = "condition") -> T:
    """Polls `condition` until it returns a truthy value (returned) or `timeout` seconds pass
    (TimeoutError naming `what`). Exceptions from `condition` count as "not yet"; the last one
    is chained to the TimeoutError."""
    deadline = time.monotonic() + timeout
    last_error: Optional[BaseException] = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - any failure means "not yet"
            last_error = error
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from last_error
        time.sleep(interval)


# Ports handed out by `free_port`: below Linux's ephemeral range (32768-60999), so no client
# connection's local port can take one between the test choosing it and its server binding it,
# and split between pytest-xdist workers (PYTEST_XDIST_WORKER gw0, gw1, ...), so that two
# workers never choose the same one.
_PORT_BLOCK = 3000
_handed_out: set[int] = set()


def port_range() -> range:
    """The ports `free_port` hands out in this test worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    first = 20000 + (index % 4) * _PORT_BLOCK
    return range(first, first + _PORT_BLOCK)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, never handed out before in
    this process."""
    candidates = [p for p in port_range() if p not in _handed_out]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port left in {port_range()}")


def four_letter_word(host: str, port: int, word: str, timeout: float = 5.0) -> str:
    """Sends a 4-letter word and returns the whole answer (the server closes after it)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(word.encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def accepts_session(address: str) -> bool:
    """True when the server completes a session handshake (and the session is closed again)."""
    try:
        client = ZkWire(address, timeout_ms=10000, io_timeout=2.0)
    except (OSError, ProtocolError):
        return False
    serving = client.timeout > 0
    client.close()
    return serving


class ManagedProcess:
    """A server process the tests start, stop and kill: its log file receives stdout and
    stderr; `crashed()` tells an exit the test did not ask for from `stop()`/`kill9()`."""

    report_lines = 150  # how much of the log a failing test's report shows
    stop_grace = STOP_GRACE

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: Optional[subprocess.Popen] = None
        self.starts = 0
        self.stopped_on_purpose = False

    def launch(self, command: list[str], cwd: Path) -> None:
        """Starts `command` (in its own session, so signals to the test do not reach it)."""
        assert not self.is_alive(), f"{self} is already running"
        self.stopped_on_purpose = False
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts + 1}: {' '.join(command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=cwd,
                                            start_new_session=True)
        self.starts += 1

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def crashed(self) -> bool:
        """True when the process was started and has exited without `stop()` or `kill9()`."""
        return self.process is not None and not self.is_alive() and not self.stopped_on_purpose

    def stop(self) -> Optional[int]:
        """Terminates the process gracefully; returns its exit code (None if it was not running)."""
        self.stopped_on_purpose = True
        if not self.is_alive():
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(self.stop_grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(STOP_GRACE)

    def kill9(self) -> None:
        self.stopped_on_purpose = True
        if self.is_alive():
            self.process.kill()
            self.process.wait(STOP_GRACE)

    def log_tail(self, lines: Optional[int] = None) -> str:
        lines = lines or self.report_lines
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class ServerProcess(ManagedProcess):
    """One keeper server process; subclasses say how to launch it."""

    kind = "?"

    def __init__(self, workdir: Path, extra_config: Optional[dict] = None,
                 port: Optional[int] = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(self.workdir / "server.log")
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.config_path = self.workdir / "zoo.cfg"
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.config = {
            "tickTime": 2000,
            "dataDir": str(self.data_dir),
            "clientPort": self.port,
            "clientPortAddress": self.host,
            "maxClientCnxns": 60,
            "4lw.commands.whitelist": "*",
            "extendedTypesEnabled": "true",
            "admin.enableServer": "false",
            **(extra_config or {}),
        }
        STARTED.append(self)

    @property
    def hosts(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"<{self.kind} keeper {self.hosts} pid={self.process and self.process.pid}>"

    def command(self) -> list[str]:
        raise NotImplementedError

    def write_config(self) -> None:
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.config.items()))

    def start(self, timeout: float = START_TIMEOUT) -> "ServerProcess":
        self.write_config()
        self.launch(self.command(), self.workdir)
        try:
            wait_until(self._serving, timeout, what=f"{self.kind} keeper on {self.hosts} to serve")
        except TimeoutError:
            self.kill9()
            raise RuntimeError(f"{self.kind} keeper did not start; log tail:\n{self.log_tail()}")
        return self

    def _serving(self) -> bool:
        if not self.is_alive():
            raise RuntimeError(f"{self.kind} keeper exited with {self.process.returncode}; "
                               f"log tail:\n{self.log_tail()}")
        return (four_letter_word(self.host, self.port, "ruok", timeout=2.0) == "imok"
                and accepts_session(self.hosts))

    def restart(self, timeout: float = START_TIMEOUT) -> "ServerProcess":
        self.stop()
        return self.start(timeout)


class ApacheZooKeeper(ServerProcess):
    kind = "apache"
    report_lines = 40  # the reference's log matters less when a test fails

    def command(self) -> list[str]:
        return ["java", "-Xmx512m", "-XX:+UseSerialGC", "-cp", APACHE_ZK_CLASSPATH,
                "-Dzookeeper.jmx.log4j.disable=true",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                APACHE_ZK_MAIN, str(self.config_path)]


class FerryKeeper(ServerProcess):
    kind = "ferry"

    def command(self) -> list[str]:
        return [str(FERRY_BIN), "keeper", "start", "--foreground", "--config",
                str(self.config_path)]

    def start(self, timeout: float = START_TIMEOUT) -> "ServerProcess":
        if not FERRY_BIN.exists():
            raise FileNotFoundError(
                f"ferry binary not found at {FERRY_BIN}: run `cargo build -p ferry` "
                f"or set FERRY_BIN")
        return super().start(timeout)


SERVER_KINDS = {"apache": ApacheZooKeeper, "ferry": FerryKeeper}
STARTED: list[ServerProcess] = []
