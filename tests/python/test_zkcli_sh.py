"""Apache's zkCli.sh (from Debian's zookeeper package) against the keeper: one-shot commands
(`zkCli.sh -server host:port cmd args`) and short scripts fed on stdin (for what needs one session,
like addauth). The expected outputs were taken from Apache ZooKeeper 3.8 and hold for both servers
(the `keeper` fixture runs each test against both); zxids, times and session ids are masked.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from servers import ZKCLI_SH
from zkwire import digest_id

pytestmark = pytest.mark.skipif(not ZKCLI_SH.exists(), reason=f"{ZKCLI_SH} is not installed")

# zkCli.sh's own chatter, printed by its event thread at any point of the output.
NOISE = re.compile(r"^(SLF4J:|Connecting to |WATCHER::$|WatchedEvent state:|Welcome to ZooKeeper!$"
                   r"|JLine support is )")
MASKS = [
    (re.compile(r"^(cZxid|mZxid|pZxid) = 0x[0-9a-f]+$", re.M), r"\1 = <zxid>"),
    (re.compile(r"^(ctime|mtime) = .*$", re.M), r"\1 = <time>"),
    (re.compile(r"^ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*$", re.M),
     "ephemeralOwner = <session>"),
]


def run_zkcli(keeper, args=(), script: str | None = None) -> tuple[int, str]:
    """Runs zkCli.sh against `keeper`; returns its exit code and what it printed (stdout and
    stderr in order), without its chatter and blank lines, volatile values masked."""
    done = subprocess.run(["bash", str(ZKCLI_SH), "-server", keeper.hosts, *args],
                          input=script, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60)
    text = "\n".join(line for line in done.stdout.splitlines()
                     if line.strip() and not NOISE.match(line))
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return done.returncode, text


def cli(keeper, *args) -> str:
    code, out = run_zkcli(keeper, args)
    assert code == 0, f"zkCli.sh {' '.join(args)} exited {code}:\n{out}"
    return out


def stat_block(version=0, cversion=0, aversion=0, owner="0x0", length=0, children=0) -> str:
    return "\n".join([
        "cZxid = <zxid>", "ctime = <time>", "mZxid = <zxid>", "mtime = <time>", "pZxid = <zxid>",
        f"cversion = {cversion}", f"dataVersion = {version}", f"aclVersion = {aversion}",
        f"ephemeralOwner = {owner}", f"dataLength = {length}", f"numChildren = {children}"])


@pytest.fixture
def base(keeper, znode_base):
    cli(keeper, "create", znode_base)
    return znode_base


def test_create_get_set_stat(keeper, base):
    node = f"{base}/node"
    assert cli(keeper, "create", node, "hello") == f"Created {node}"
    assert cli(keeper, "get", node) == "hello"
    assert cli(keeper, "get", "-s", node) == "hello\n" + stat_block(length=5)
    assert cli(keeper, "set", node, "world") == ""
    assert cli(keeper, "stat", node) == stat_block(version=1, length=5)
    assert cli(keeper, "set", "-v", "1", node, "again") == ""
    code, out = run_zkcli(keeper, ["set", "-v", "1", node, "stale"])
    assert (code, out) == (1, f"version No is not valid : {node}")


def test_ls_variants(keeper, base):
    for child in ("b", "a", "c"):
        cli(keeper, "create", f"{base}/{child}")
    cli(keeper, "create", f"{base}/a/deep")
    assert cli(keeper, "ls", base) == "[a, b, c]"
    assert cli(keeper, "ls", "-s", base) == "[a, b, c]\n" + stat_block(cversion=3, children=3)
    recursive = cli(keeper, "ls", "-R", base).splitlines()
    assert recursive[0] == base
    assert sorted(recursive[1:]) == [f"{base}/a", f"{base}/a/deep", f"{base}/b", f"{base}/c"]
    assert cli(keeper, "getAllChildrenNumber", base) == "4"


def test_node_modes(keeper, base):
    assert cli(keeper, "create", "-s", f"{base}/seq-", "x") == f"Created {base}/seq-0000000000"
    assert cli(keeper, "create", "-s", f"{base}/seq-", "x") == f"Created {base}/seq-0000000001"
    assert cli(keeper, "create", "-c", f"{base}/box") == f"Created {base}/box"
    assert cli(keeper, "create", "-t", "60000", f"{base}/ttl") == f"Created {base}/ttl"
    assert cli(keeper, "stat", f"{base}/box") == stat_block()
    assert cli(keeper, "stat", f"{base}/ttl") == stat_block()
    # One-shot zkCli.sh exits without closing its session: the ephemeral outlives the process.
    assert cli(keeper, "create", "-e", f"{base}/eph") == f"Created {base}/eph"
    assert cli(keeper, "stat", f"{base}/eph") == stat_block(owner="<session>")


def test_errors(keeper, base):
    node = f"{base}/node"
    cli(keeper, "create", node)
    cli(keeper, "create", f"{node}/child")
    assert run_zkcli(keeper, ["create", node]) == (1, f"Node already exists: {node}")
    assert run_zkcli(keeper, ["create", f"{base}/no/parent"]) == (
        1, f"Node does not exist: {base}/no/parent")
    assert run_zkcli(keeper, ["delete", node]) == (1, f"Node not empty: {node}")
    assert run_zkcli(keeper, ["delete", f"{base}/missing"]) == (
        1, f"Node does not exist: {base}/missing")
    assert cli(keeper, "deleteall", node) == ""
    assert run_zkcli(keeper, ["stat", node]) == (1, f"Node does not exist: {node}")


def test_acls(keeper, base):
    node = f"{base}/guarded"
    cli(keeper, "create", node)
    assert cli(keeper, "getAcl", node) == "'world,'anyone\n: cdrwa"
    assert cli(keeper, "setAcl", node, "world:anyone:r") == ""
    assert cli(keeper, "getAcl", node) == "'world,'anyone\n: r"
    assert run_zkcli(keeper, ["create", f"{node}/child"]) == (
        1, f"Insufficient permission : {node}/child")
    assert run_zkcli(keeper, ["set", node, "x"]) == (1, f"Insufficient permission : {node}")


def test_addauth_script(keeper, base):
    node = f"{base}/mine"
    script = "\n".join([
        "addauth digest alice:secret",
        f"create {node} data auth::cdrwa",
        f"getAcl {node}",
        "whoami",
        f"get {node}",
        "quit",
    ]) + "\n"
    code, out = run_zkcli(keeper, script=script)
    assert code == 0
    lines = out.splitlines()
    assert f"Created {node}" in lines  # printed on stderr, so its place in the output varies
    lines.remove(f"Created {node}")
    assert lines[:3] == [f"'digest,'{digest_id('alice', 'secret')}", ": cdrwa", "Auth scheme: User"]
    assert sorted(lines[3:5]) == ["digest: alice", "ip: 127.0.0.1"]  # in hash-set order
    assert lines[5:] == ["data"]
    # Another session, without the credentials, may not read it.
    assert run_zkcli(keeper, ["get", node]) == (1, f"Insufficient permission : {node}")


def test_misc_commands(keeper, base):
    assert cli(keeper, "sync", base) == "Sync is OK"
    assert cli(keeper, "whoami") == "Auth scheme: User\nip: 127.0.0.1"
    assert cli(keeper, "getEphemerals") == "[]"
