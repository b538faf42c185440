"""Dynamic reconfiguration of a ferry keeper ensemble (`reconfigEnabled=true`), driven by
Apache's zkCli.sh as an operator drives ZooKeeper 3.8's: a fourth server started to join waits
to be added, `reconfig -add` adds it (it catches up and serves), `reconfig -remove` takes a
server out (it stops serving, the others go on), `/zookeeper/config` says so on every server;
and the refusals: no super user, a stale `-v` version, reconfiguration disabled."""

from __future__ import annotations

import base64
import hashlib

import re

import pytest
from kazoo.client import KazooClient

import subprocess

from ensemble import FerryEnsemble, mode_of
from servers import FERRY_BIN, ZKCLI_SH, FerryKeeper, free_port, wait_until
from test_zkcli_sh import NOISE, run_zkcli

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(not ZKCLI_SH.exists(), reason=f"{ZKCLI_SH} is not installed")]

SUPER_PASSWORD = "s3cret"
RECONFIG = {
    "reconfigEnabled": "true",
    "superDigest": "super:" + base64.b64encode(
        hashlib.sha1(f"super:{SUPER_PASSWORD}".encode()).digest()).decode(),
}
AS_SUPER = f"addauth digest super:{SUPER_PASSWORD}\n"


@pytest.fixture
def ensemble(tmp_path):
    servers = FerryEnsemble(tmp_path, size=3, extra_config=RECONFIG).start()
    try:
        yield servers
    finally:
        servers.stop()


def run_ferry_zkcli(server, script: str) -> tuple[int, str]:
    """`ferry zk-cli` with `script` on its stdin, its output filtered as `run_zkcli` filters
    zkCli.sh's."""
    done = subprocess.run([str(FERRY_BIN), "zk-cli", "-server", server.hosts], input=script,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=60)
    return done.returncode, "\n".join(line for line in done.stdout.splitlines()
                                      if line.strip() and not NOISE.match(line))


def config_of(server) -> str:
    zk = KazooClient(hosts=server.hosts, timeout=10.0)
    zk.start(timeout=30)
    try:
        zk.sync("/zookeeper/config")
        return zk.get("/zookeeper/config")[0].decode()
    finally:
        zk.stop()
        zk.close()


def joiner(tmp_path, ensemble: FerryEnsemble):
    """A fourth server whose zoo.cfg names the running three and itself, as ZooKeeper's
    documentation has a joining server configured; started, not yet a member."""
    port = free_port()
    lines = {k: v for k, v in ensemble.servers[1].config.items() if k.startswith("server.")}
    spec = f"127.0.0.1:{free_port()}:{free_port()}:participant;127.0.0.1:{port}"
    server = FerryKeeper(tmp_path / "server4", {"initLimit": 10, "syncLimit": 5, **lines,
                                                "server.4": spec, **RECONFIG}, port=port)
    (server.data_dir / "myid").write_text("4\n")
    server.write_config()
    server.launch(server.command(), server.workdir)
    return server, f"server.4={spec}"


def test_zkcli_adds_a_server_and_removes_one(ensemble, tmp_path):
    static = config_of(ensemble.servers[1])
    # The static configuration is versioned by the zxid that opened the leader's epoch: epoch 1
    # usually, a later one when the first election did not hold on a loaded machine.
    assert static.count("server.") == 3, static
    assert re.search(r"\nversion=[1-9a-f][0-9a-f]*00000000$", static), static
    writer = KazooClient(hosts=ensemble.hosts, timeout=10.0)
    writer.start(timeout=30)
    try:
        writer.create("/before", b"kept")
        new, line = joiner(tmp_path, ensemble)
        try:
            wait_until(lambda: "waiting to be added" in new.log_tail(), timeout=30,
                       what="the joining server to wait for the ensemble")
            assert mode_of(new) is None, "a server not yet added serves"

            code, out = run_zkcli(ensemble.servers[1], script=AS_SUPER + f"reconfig -add {line}\n")
            assert code == 0 and "Committed new configuration" in out, out
            assert line in out and "version=" in out, out
            wait_until(lambda: mode_of(new) == "follower", timeout=60,
                       what="the added server to follow")
            assert config_of(new).count("server.") == 4
            reader = KazooClient(hosts=new.hosts, timeout=10.0)
            reader.start(timeout=30)
            try:
                assert reader.get("/before")[0] == b"kept", "the new server caught up"
            finally:
                reader.stop()
                reader.close()

            code, out = run_ferry_zkcli(ensemble.servers[2], AS_SUPER + "reconfig -remove 1\n")
            assert code == 0 and "Committed new configuration" in out, out
            assert "server.1=" not in out, out
            for server in (ensemble.servers[2], ensemble.servers[3], new):
                text = config_of(server)
                assert "server.1=" not in text and text.count("server.") == 3, text
            wait_until(lambda: mode_of(ensemble.servers[1]) is None, timeout=60,
                       what="the removed server to stop serving")
            writer.retry(writer.create, "/after", b"written by three of four")
            assert sorted(m for m in (mode_of(s) for s in (ensemble.servers[2],
                          ensemble.servers[3], new))) == ["follower", "follower", "leader"]
        finally:
            new.stop()
    finally:
        writer.stop()
        writer.close()


REFUSALS = [
    ("reconfig -remove 3\n", "Insufficient permission : "),
    (AS_SUPER + "reconfig -remove 3 -v 12345\n", "version No is not valid : "),
    (AS_SUPER + "reconfig -remove 1,2,3\n", "Arguments are not valid : "),  # no voter left
    # No client address: ZooKeeper refuses such a spec too.
    (AS_SUPER + "reconfig -add server.9=127.0.0.1:1:2\n", "Arguments are not valid : "),
    (AS_SUPER + "reconfig -members server.1=a:1:2;3 -add server.9=b:1:2;3\n",
     "Can't use -file or -members together with -add or -remove (mixing incremental and "
     "non-incremental modes is not allowed)"),
]


def run_zkcli_sh(server, script: str) -> tuple[int, str]:
    return run_zkcli(server, script=script)


@pytest.mark.parametrize("cli", [run_zkcli_sh, run_ferry_zkcli], ids=["zkCli.sh", "ferry-zk-cli"])
def test_reconfig_refusals(ensemble, cli):
    server = ensemble.servers[1]
    for script, expected in REFUSALS:
        _, out = cli(server, script)
        assert out == expected, f"{script!r}: {out}"
    down = f"server.9=127.0.0.1:{free_port()}:{free_port()};{free_port()}"
    _, out = cli(server, AS_SUPER + f"reconfig -add {down}\n")  # server 9 is not up
    assert out.startswith("No quorum of new config is connected"), out
    assert sorted(filter(None, ensemble.modes().values())) == ["follower", "follower", "leader"]
    assert config_of(server).count("server.") == 3


def test_reconfig_is_refused_when_disabled(tmp_path):
    servers = FerryEnsemble(tmp_path, size=3).start()
    try:
        _, out = run_zkcli(servers.servers[1], script="reconfig -remove 3\n")
        assert "Reconfig is disabled" in out or "ReconfigDisabled" in out, out
    finally:
        servers.stop()


def test_the_leader_can_be_removed(ensemble):
    leader = ensemble.leader()
    asked = next(s for i, s in ensemble.servers.items() if i != leader)
    code, out = run_ferry_zkcli(asked, AS_SUPER + f"reconfig -remove {leader}\n")
    assert code == 0 and "Committed new configuration" in out, out
    assert f"server.{leader}=" not in out, out
    rest = [s for i, s in ensemble.servers.items() if i != leader]
    wait_until(lambda: sorted(filter(None, map(mode_of, rest))) == ["follower", "leader"],
               timeout=60, what="the two left to elect a leader among themselves")
    wait_until(lambda: mode_of(ensemble.servers[leader]) is None, timeout=60,
               what="the removed leader to stop serving")
    zk = KazooClient(hosts=",".join(s.hosts for s in rest), timeout=10.0)
    zk.start(timeout=30)
    try:
        zk.retry(zk.create, "/after-the-leader-left", b"x")
    finally:
        zk.stop()
        zk.close()
    for server in rest:
        assert f"server.{leader}=" not in config_of(server)
