"""Test hosts made of network namespaces, so that a test can cut one server off from the
others instead of only killing it.

`TestHosts(n)` makes n namespaces ("hosts"), each with one address (10.X.Y.1 ... 10.X.Y.n) on
a switch: a bridge inside its own namespace (so the machine's own firewall, Docker's among
them, never sees the traffic). The test process reaches every host through one more veth pair
into the switch (its address is 10.X.Y.254). `cut(i)` takes host i's switch port down: host i
then reaches nobody and nobody reaches it; `heal(i)` brings it back. `command(i, argv)` runs a
program on host i. Everything is removed on `close()` (also when a test fails), and names carry
the test process's pid, so parallel test workers do not collide.

Needs root and iproute2 (`ip`); `available()` says whether this machine can.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def available() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"fyprobe{os.getpid() % 100000}"
    try:
        _ip("netns", "add", probe)
    except (subprocess.CalledProcessError, OSError):
        return False
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)
    return True


class TestHosts:
    def __init__(self, count: int) -> None:
        tag = f"{os.getpid() % 100000}"
        self.count = count
        self.switch = f"fy{tag}sw"
        self.hosts = [f"fy{tag}h{i}" for i in range(1, count + 1)]
        # 10.200-249.Y.0/24: a subnet of its own (chosen at random, per test).
        self.prefix = f"10.{random.randint(200, 249)}.{random.randint(0, 255)}"
        self._created_links: list[str] = []
        self._created_namespaces: list[str] = []
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def address(self, i: int) -> str:
        """Host i's address (i from 1)."""
        return f"{self.prefix}.{i}"

    def _port(self, i: int) -> str:
        return f"fy{os.getpid() % 100000}p{i}"  # the switch's port for host i (0: the test)

    def _build(self) -> None:
        _ip("netns", "add", self.switch)
        self._created_namespaces.append(self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        # The test process's own way in.
        outside = f"fy{os.getpid() % 100000}t"
        _ip("link", "add", outside, "type", "veth", "peer", "name", self._port(0))
        self._created_links.append(outside)
        self._attach(self._port(0))
        _ip("addr", "add", f"{self.prefix}.254/24", "dev", outside)
        _ip("link", "set", outside, "up")
        for i, host in enumerate(self.hosts, start=1):
            _ip("netns", "add", host)
            self._created_namespaces.append(host)
            _ip("-n", host, "link", "set", "lo", "up")
            _ip("-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", self._port(i))
            _ip("-n", host, "link", "set", self._port(i), "netns", self.switch)
            self._attach(self._port(i))
            _ip("-n", host, "addr", "add", f"{self.address(i)}/24", "dev", "eth0")
            _ip("-n", host, "link", "set", "eth0", "up")

    def _attach(self, port: str) -> None:
        if port == self._port(0):
            _ip("link", "set", port, "netns", self.switch)
        _ip("-n", self.switch, "link", "set", port, "master", "br0")
        _ip("-n", self.switch, "link", "set", port, "up")

    def cut(self, i: int) -> None:
        """Host i can reach no one, and no one it."""
        _ip("-n", self.switch, "link", "set", self._port(i), "down")

    def heal(self, i: int) -> None:
        _ip("-n", self.switch, "link", "set", self._port(i), "up")

    def command(self, i: int, argv: list[str]) -> list[str]:
        """`argv` as run on host i."""
        return ["ip", "netns", "exec", self.hosts[i - 1], *argv]

    def close(self) -> None:
        for link in self._created_links:
            subprocess.run(["ip", "link", "del", link], capture_output=True, timeout=30)
        for namespace in reversed(self._created_namespaces):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)
        self._created_links.clear()
        self._created_namespaces.clear()

    def __enter__(self) -> "TestHosts":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
