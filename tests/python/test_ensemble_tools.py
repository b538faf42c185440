"""`ferry keeper ensemble` (a local ensemble in one command) as a new user tries it, with the
tools they already have: Apache's zkCli.sh against every server, `ferry keeper status` on each
generated zoo.cfg, and `mntr`'s ensemble figures."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import types
from pathlib import Path

import pytest

from ensemble import mntr_of
from servers import (APACHE_ZK_CLASSPATH, FERRY_BIN, ZKCLI_SH, four_letter_word, free_port,
                     port_range, wait_until)
from test_ensemble import client, ensemble  # noqa: F401 (a fixture)
from test_zkcli_sh import run_zkcli

pytestmark = pytest.mark.timeout(300)


def ports_free(ports) -> bool:
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def ensemble_ports(base: int, servers: int) -> list[int]:
    """What `ferry keeper ensemble --base-port base` listens on."""
    shift = base - 2181
    return [p + shift + i for p in (2181, 2888, 3888) for i in range(servers)]


@pytest.fixture
def local_ensemble(tmp_path):
    # All nine ports inside this test worker's own range (see servers.free_port), free now.
    own = port_range()
    base = wait_until(lambda: (lambda b: b if all(p in own for p in ensemble_ports(b, 3))
                               and ports_free(ensemble_ports(b, 3)) else None)(free_port()),
                      timeout=30, what="nine free ports")
    process = subprocess.Popen(
        [str(FERRY_BIN), "keeper", "ensemble", "--servers", "3", "--dir", str(tmp_path),
         "--base-port", str(base)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    servers = [types.SimpleNamespace(hosts=f"127.0.0.1:{base + i}", host="127.0.0.1",
                                     port=base + i,
                                     config=tmp_path / f"server{i + 1}" / "zoo.cfg")
               for i in range(3)]
    try:
        banner = process.stdout.readline()
        assert "ensemble of 3 servers" in banner, banner + process.stderr.read()
        yield servers
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def mode(server) -> str | None:
    answer = four_letter_word("127.0.0.1", server.port, "srvr", timeout=2)
    lines = [line for line in answer.splitlines() if line.startswith("Mode: ")]
    return lines[0].removeprefix("Mode: ") if lines else None


def test_the_generated_files_are_ordinary_zoo_cfg_and_myid(local_ensemble, tmp_path):
    for i, server in enumerate(local_ensemble, start=1):
        text = server.config.read_text()
        assert f"clientPort={server.port}\n" in text
        assert text.count("\nserver.") == 3, text
        assert (tmp_path / f"server{i}" / "data" / "myid").read_text().strip() == str(i)


def test_every_server_reports_its_mode_and_the_leader_its_followers(local_ensemble):
    wait_until(lambda: sorted(map(mode, local_ensemble)) == ["follower", "follower", "leader"],
               timeout=30, what="a leader and two followers")
    assert mode(local_ensemble[2]) == "leader", "a fresh ensemble elects the highest myid"
    for server in local_ensemble:
        status = subprocess.run([str(FERRY_BIN), "keeper", "status", "--config",
                                 str(server.config)], capture_output=True, text=True, timeout=30)
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.splitlines()[-1] == f"Mode: {mode(server)}"
    leader = wait_until(lambda: (lambda m: m if m.get("zk_synced_followers") == "2" else None)(
        mntr_of(local_ensemble[2])), timeout=30, what="two synced followers")
    assert leader["zk_server_state"] == "leader"
    assert leader["zk_peer_state"] == "leading - broadcast"
    assert leader["zk_followers"] == "2"
    assert leader["zk_pending_syncs"] == "0"
    follower = mntr_of(local_ensemble[0])
    assert follower["zk_peer_state"] == "following - broadcast"
    assert "zk_followers" not in follower


@pytest.mark.skipif(not ZKCLI_SH.exists(), reason=f"{ZKCLI_SH} is not installed")
def test_zkcli_writes_through_one_server_and_reads_on_every_server(local_ensemble):
    wait_until(lambda: all(mode(s) for s in local_ensemble), timeout=30, what="every server")
    code, out = run_zkcli(local_ensemble[0], ["create", "/written-on-1", "hello"])
    assert code == 0 and "Created /written-on-1" in out, out
    for server in local_ensemble:
        # One zkCli.sh session: sync, then read (a follower may lag by a heartbeat otherwise).
        code, out = run_zkcli(server, script="sync /written-on-1\nget /written-on-1\nquit\n")
        assert code == 0 and "hello" in out.splitlines(), f"{server.hosts}: {out}"
    code, out = run_zkcli(local_ensemble[1], ["set", "/written-on-1", "again"])
    assert code == 0, out
    code, out = run_zkcli(local_ensemble[2], script="sync /\nget /written-on-1\nquit\n")
    assert "again" in out.splitlines(), out


def test_bad_arguments_are_clear_errors(tmp_path):
    done = subprocess.run([str(FERRY_BIN), "keeper", "ensemble", "--servers", "0", "--dir",
                           str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "--servers must be between 1 and 15" in done.stderr
    done = subprocess.run([str(FERRY_BIN), "keeper", "ensemble", "--dir", str(tmp_path),
                           "--base-port", "65534"], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "--base-port" in done.stderr, done.stderr
    assert not Path(tmp_path / "server1" / "zoo.cfg").exists()


class ZkCliShell:
    """zkCli.sh in interactive mode on `hosts`, with commands sent on its stdin and every line
    it prints (stdout and stderr) collected. Its client logs nothing without an slf4j binding:
    the class path the Apache server tests use gives it slf4j-simple, which logs to stderr."""

    def __init__(self, hosts: str) -> None:
        self.process = subprocess.Popen(
            ["bash", str(ZKCLI_SH), "-server", hosts], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "CLIENT_JVMFLAGS": f"-cp {APACHE_ZK_CLASSPATH}"},
            start_new_session=True)  # zkCli.sh runs java as its child: kill the group
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def __enter__(self) -> "ZkCliShell":
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def send(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def wait_for(self, pattern: str, after: int = 0, timeout: float = 30.0):
        """The index and match of the first line from `after` on that `pattern` matches whole."""
        regex = re.compile(pattern)

        def found():
            return next(((i, m) for i, line in enumerate(self.lines[after:], start=after)
                         if (m := regex.fullmatch(line))), None)
        try:
            return wait_until(found, timeout, interval=0.05, what=pattern)
        except TimeoutError:
            raise AssertionError(f"zkCli.sh never printed {pattern!r}; it printed:\n"
                                 + "\n".join(self.lines[-40:])) from None


ESTABLISHED = (r".* Session establishment complete on server \S+/127\.0\.0\.1:(?P<port>\d+), "
               r"session id = (?P<session>0x[0-9a-f]+), negotiated timeout = \d+")


@pytest.mark.skipif(not ZKCLI_SH.exists(), reason=f"{ZKCLI_SH} is not installed")
def test_a_zkcli_session_moves_to_another_server_with_its_ephemeral_and_watch(ensemble):
    """Apache's zkCli.sh, given the whole ensemble, keeps its session when its server is
    killed -9: it resumes the same session id on another server, its ephemeral is still there
    (owned by that session), the data watch it set fires there, and `quit` ends the session,
    deleting the ephemeral."""
    with ZkCliShell(ensemble.hosts) as shell:
        at, first = shell.wait_for(ESTABLISHED)
        for command in ["create /watched x", "create -e /lease mine", "get -w /watched"]:
            shell.send(command)
        for answer in ["Created /watched", "Created /lease", "x"]:
            at, _ = shell.wait_for(answer, at)
        victim = next(s for s in ensemble.servers.values()
                      if s.port == int(first["port"]))
        # Connected before the kill, so that the checks below need not wait for an election.
        zk = client(",".join(s.hosts for s in ensemble.servers.values() if s is not victim))
        try:
            victim.kill9()
            at, moved = shell.wait_for(ESTABLISHED, at)
            assert moved["port"] != first["port"]
            assert moved["session"] == first["session"], "zkCli.sh got a new session"
            zk.retry(zk.sync, "/")
            lease = zk.retry(zk.exists, "/lease")
            assert lease is not None, "the ephemeral is gone"
            assert lease.ephemeralOwner == int(first["session"], 16)
            zk.retry(zk.set, "/watched", b"y")
            shell.wait_for("WatchedEvent state:SyncConnected type:NodeDataChanged path:/watched",
                           at)
            shell.send("quit")
            assert shell.process.wait(30) == 0, "\n".join(shell.lines[-40:])
            wait_until(lambda: zk.retry(zk.exists, "/lease") is None, timeout=30,
                       what="/lease to go with the closed session")
        finally:
            zk.stop()
            zk.close()
