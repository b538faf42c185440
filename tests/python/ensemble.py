"""A ferry keeper ensemble for the tests: N `FerryKeeper` servers on loopback, each with its own
client port, quorum port, dataDir and myid, and the same `server.N` lines, as an operator
writes them for Apache ZooKeeper."""

from __future__ import annotations

import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
import time
from pathlib import Path
from typing import Optional

from servers import ApacheZooKeeper, FerryKeeper, four_letter_word, free_port, wait_until


class ApacheQuorumPeer(ApacheZooKeeper):
    """One server of an Apache ZooKeeper 3.8 ensemble (QuorumPeerMain reads the same zoo.cfg
    and myid)."""

    kind = "apache"

    def command(self) -> list[str]:
        command = super().command()
        command[command.index("org.apache.zookeeper.server.ZooKeeperServerMain")] = (
            "org.apache.zookeeper.server.quorum.QuorumPeerMain")
        return command


def mode_of(server: FerryKeeper) -> Optional[str]:
    """The `Mode:` line of `srvr`, or None when the server does not answer."""
    if not server.is_alive():
        return None
    try:
        answer = four_letter_word(server.host, server.port, "srvr", timeout=1.0)
    except OSError:
        return None
    for line in answer.splitlines():
        if line.startswith("Mode: "):
            return line.removeprefix("Mode: ").strip()
    return None


def mntr_of(server) -> dict[str, str]:
    """`mntr` as a dict (anything with `host` and `port`)."""
    answer = four_letter_word(server.host, server.port, "mntr", timeout=2)
    return dict(line.split("\t", 1) for line in answer.splitlines() if "\t" in line)


class HostedKeeper(FerryKeeper):
    """A ferry keeper on a test host (`netns.TestHosts`): its own address, ZooKeeper's usual
    ports."""

    def __init__(self, workdir: Path, config: dict, hosts, i: int) -> None:
        super().__init__(workdir, config, port=2181)
        self.host = hosts.address(i)
        self.config["clientPortAddress"] = self.host
        self.test_hosts, self.index = hosts, i

    def command(self) -> list[str]:
        return self.test_hosts.command(self.index, super().command())

    def four_letter_from_inside(self, word: str) -> str:
        """A four-letter word sent from the server's own host (which a cut leaves reachable)."""
        script = (f"exec 3<>/dev/tcp/{self.host}/{self.port}; printf {word} >&3; "
                  f"timeout 5 cat <&3")
        done = subprocess.run(self.test_hosts.command(self.index, ["bash", "-c", script]),
                              capture_output=True, text=True, timeout=30)
        return done.stdout


class FerryEnsemble:
    """`size` participants and `observers` observers of ferry keeper (or, with
    `kind="apache"`, of Apache ZooKeeper 3.8); on loopback ports, or with `hosts` (a
    `netns.TestHosts`) one server per test host on ZooKeeper's usual ports. `peer_host` is
    what the `server.N` lines name (a host name works as well as an address)."""

    def __init__(self, workdir: Path, size: int = 3, observers: int = 0,
                 extra_config: Optional[dict] = None, hosts=None, kind: str = "ferry",
                 peer_host: str = "127.0.0.1") -> None:
        self.servers: dict[int, FerryKeeper] = {}
        ids = range(1, size + observers + 1)
        lines = {}
        for my_id in ids:
            role = ":observer" if my_id > size else ""
            address = (f"{hosts.address(my_id)}:2888:3888" if hosts else
                       f"{peer_host}:{free_port()}:{free_port()}")
            lines[f"server.{my_id}"] = address + role
        for my_id in ids:
            workdir_of = Path(workdir) / f"server{my_id}"
            config = {"initLimit": 10, "syncLimit": 5, **lines, **(extra_config or {})}
            if hosts:
                server = HostedKeeper(workdir_of, config, hosts, my_id)
            elif kind == "apache":
                server = ApacheQuorumPeer(workdir_of, config)
            else:
                server = FerryKeeper(workdir_of, config)
            (server.data_dir / "myid").write_text(f"{my_id}\n")
            self.servers[my_id] = server

    @property
    def hosts(self) -> str:
        """A connect string naming every server."""
        return ",".join(s.hosts for s in self.servers.values())

    def start(self, timeout: float = 60.0) -> "FerryEnsemble":
        """Starts every server at once, then waits until each serves sessions."""
        for server in self.servers.values():
            server.write_config()
            server.launch(server.command(), server.workdir)
        for server in self.servers.values():
            wait_until(server._serving, timeout, interval=0.05,
                       what=f"ensemble server {server.hosts} to serve")
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def is_alive(self) -> bool:
        return any(server.is_alive() for server in self.servers.values())

    def log_tail(self, lines: Optional[int] = None) -> str:
        return "\n".join(f"----- server {i} -----\n{server.log_tail(lines or 30)}"
                         for i, server in self.servers.items())

    def modes(self, among: Optional[list[int]] = None) -> dict[int, Optional[str]]:
        """The mode of every server (or of those `among`), asked of all at once (a paused
        server answers nothing, and must not delay the others' answers)."""
        ids = among or list(self.servers)
        with ThreadPoolExecutor(len(ids)) as pool:
            return dict(zip(ids, pool.map(mode_of, (self.servers[i] for i in ids))))

    def leader(self, timeout: float = 30.0, excluding: tuple[int, ...] = ()) -> int:
        """The id of the one server that reports `Mode: leader` (waiting for an election),
        asking only servers not `excluding`."""
        among = [i for i in self.servers if i not in excluding]

        def single_leader() -> Optional[int]:
            leaders = [i for i, mode in self.modes(among).items() if mode == "leader"]
            return leaders[0] if len(leaders) == 1 else None
        return wait_until(single_leader, timeout, interval=0.02, what="a single leader")

    def time_to_new_leader(self, old: int, timeout: float = 30.0) -> tuple[int, float]:
        """Waits for a leader other than `old`; returns it and the seconds it took."""
        started = time.monotonic()
        leader = self.leader(timeout, excluding=(old,))
        return leader, time.monotonic() - started


class WriteLoad:
    """A client creating `/w/nNNNNNN` nodes one after another through `hosts`, recording each
    create the ensemble acknowledged; `check` then finds every one of them on every server.
    (A create that failed may or may not have happened: it is not checked.)"""

    def __init__(self, hosts: str) -> None:
        from kazoo.client import KazooClient
        from kazoo.retry import KazooRetry
        self.client = KazooClient(hosts=hosts, timeout=10.0, connection_retry=KazooRetry(
            max_tries=-1, delay=0.05, max_delay=0.5))
        self.client.start(timeout=30)
        self.client.ensure_path("/w")
        self.acknowledged: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "WriteLoad":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)
        self.client.stop()
        self.client.close()

    def _run(self) -> None:
        from kazoo.exceptions import KazooException
        n = 0
        while not self._stop.is_set():
            name = f"n{n:06d}"
            try:
                self.client.create(f"/w/{name}", b"x")
                self.acknowledged.append(name)
            except KazooException as error:
                self.failures.append(repr(error))
            n += 1

    def wait_for_more(self, count: int = 50, timeout: float = 30.0) -> None:
        """Waits until `count` more writes than now are acknowledged (writes flow)."""
        target = len(self.acknowledged) + count
        wait_until(lambda: len(self.acknowledged) >= target, timeout, interval=0.05,
                   what=f"{count} more acknowledged writes (last failures: "
                        f"{self.failures[-3:]})")

    def check(self, servers) -> None:
        """Every acknowledged write is on every one of `servers` (each read after a sync)."""
        from kazoo.client import KazooClient
        for server in servers:
            reader = KazooClient(hosts=server.hosts, timeout=10.0)
            reader.start(timeout=30)
            try:
                reader.retry(reader.sync, "/w")
                present = set(reader.retry(reader.get_children, "/w"))
            finally:
                reader.stop()
                reader.close()
            lost = [n for n in self.acknowledged if n not in present]
            assert not lost, f"{server} lost {len(lost)} acknowledged writes: {lost[:5]}"
