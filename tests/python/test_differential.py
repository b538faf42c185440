"""Differential tests: each scenario runs against Apache ZooKeeper 3.8 and against ferry keeper
(both fresh, started by the test) and the normalised transcripts of what every connection saw
(replies with error codes, header zxids and full Stats; watch events in arrival order) must be
equal. See differential.py for what normalisation hides.

`test_scenario_is_deterministic_on_apache` runs each scenario against two Apache servers: it
proves the scenario and the normalisation deterministic, so a difference found against ferry is
real. `-k apache` runs only those; `-k ferry` only the comparisons.
"""

from __future__ import annotations

import select
import socket

import pytest

import zkwire as zk
from differential import Run, assert_same_transcripts, transcript_of
from zkwire import Acl, ProtocolError

SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


def is_closed(run: Run, client: zk.ZkWire) -> None:
    """Notes whether the server has closed `client`'s connection: it closes it within half a
    second, or a ping gets no answer. (A server that answers and then closes, as both do after
    an unknown opcode, may still answer a ping sent at once: Apache ZooKeeper did under load.)"""
    if closes_within(client.sock, 0.5):
        run.note(f"{client.name} connection", "closed")
        client.closed = True
        return
    try:
        client.ping()
        run.note(f"{client.name} connection", "open")
    except (ProtocolError, OSError):
        run.note(f"{client.name} connection", "closed")
        client.closed = True


def closes_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the peer closes `sock` within `seconds` (what is already there stays unread)."""
    if not select.select([sock], [], [], seconds)[0]:
        return False
    try:
        # Nothing left to read and the stream ended: closed. Data to read: open.
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


# --- the tree as a fresh server has it -----------------------------------------------------------

@scenario
def initial_tree(run: Run):
    a = run.client("a")
    for path in ("/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"):
        a.get_data(path)
        a.get_children2(path)
        a.get_acl(path)
    a.get_children("/")
    a.submit(zk.GetAllChildrenNumber("/"))
    a.submit(zk.GetAllChildrenNumber("/zookeeper"))
    a.submit(zk.GetEphemerals("/"))
    a.whoami()
    a.set_data("/", b"root data")
    a.get_data("/")


@scenario
def root_children_and_sequentials(run: Run):
    a = run.client("a")
    a.create("/seq-", flags=zk.PERSISTENT_SEQUENTIAL)
    a.create("/plain")
    a.create("/seq-", flags=zk.PERSISTENT_SEQUENTIAL)
    a.delete("/plain")
    a.create("/seq-", flags=zk.PERSISTENT_SEQUENTIAL)
    a.exists("/")
    a.get_children2("/")


# --- create --------------------------------------------------------------------------------------

@scenario
def create_persistent_and_parent_stats(run: Run):
    a = run.client("a")
    a.create("/p", b"parent")
    a.create("/p/one", b"1", op="create")
    a.create("/p/two", b"2")
    a.create("/p/null", None)
    a.create("/p/empty", b"")
    for path in ("/p", "/p/one", "/p/null", "/p/empty"):
        a.get_data(path)
    a.get_children2("/p")
    a.exists("/p/two")
    a.set_data("/p/one", b"changed")
    a.get_children2("/p")  # setData on a child does not touch the parent
    a.submit(zk.GetAllChildrenNumber("/p"))


@scenario
def create_errors_and_bad_paths(run: Run):
    a = run.client("a")
    a.create("/x")
    a.create("/x")  # NODEEXISTS
    a.create("/missing/child")  # NONODE
    a.create("/zookeeper")
    for path in ("a", "", "/", "/a/", "/x/", "/a//b", "/x//y", "/a/.", "/x/.", "/x/..", "/.",
                 "/..", "/x/./y", "/a\x00b", "/x/a\x00b", "/x/a\x01b", "/x/a\x7fb",
                 "/x/a\ufff0b", "/x/caf\u00e9", "/x/with space"):
        a.create(path)
    a.get_children("/x")


@scenario
def create_ephemerals(run: Run):
    a = run.client("a")
    b = run.client("b")
    a.create("/e")
    a.create("/e/eph", b"mine", flags=zk.EPHEMERAL)
    a.create("/e/ephemeral", flags=zk.EPHEMERAL)
    a.create("/e/eph/child")  # NOCHILDRENFOREPHEMERALS
    a.create("/e/eph/child", flags=zk.EPHEMERAL)
    a.create("/e/eph/", flags=zk.PERSISTENT_SEQUENTIAL)
    b.create("/e/theirs-", flags=zk.EPHEMERAL_SEQUENTIAL)
    a.get_data("/e/eph")
    b.exists("/e/eph")
    a.get_children2("/e")
    for prefix in ("/", "/e", "/e/eph", "/e/", "/nope"):
        a.submit(zk.GetEphemerals(prefix))
        b.submit(zk.GetEphemerals(prefix))
    a.delete("/e")  # NOTEMPTY


@scenario
def sequential_names_follow_cversion(run: Run):
    a = run.client("a")
    a.create("/s")
    a.create("/s/", flags=zk.PERSISTENT_SEQUENTIAL)
    a.create("/s/n-", flags=zk.PERSISTENT_SEQUENTIAL)
    a.create("/s/plain")
    a.create("/s/n-", flags=zk.EPHEMERAL_SEQUENTIAL)
    a.exists("/s")
    a.delete("/s/0000000000")
    a.delete("/s/plain")
    a.exists("/s")
    a.create("/s/after-delete-", flags=zk.PERSISTENT_SEQUENTIAL)
    a.create("/s/plain")  # a create that fails does not count
    a.create("/s/plain")
    a.create("/s/n-", flags=zk.PERSISTENT_SEQUENTIAL)
    a.get_children2("/s")
    a.create("/nope/n-", flags=zk.PERSISTENT_SEQUENTIAL)


@scenario
def containers_and_ttl_nodes(run: Run):
    a = run.client("a")
    a.create("/c", b"box", flags=zk.CONTAINER)
    a.create("/c/child")
    a.get_data("/c")
    a.create("/t", b"short-lived", flags=zk.PERSISTENT_WITH_TTL, ttl=60_000)
    a.create("/t/", flags=zk.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl=1)
    a.get_data("/t")
    a.get_children2("/t")
    for ttl in (0, -5, 1 << 40, (1 << 40) - 1):
        a.create("/t-bounds", flags=zk.PERSISTENT_WITH_TTL, ttl=ttl)
    a.create("/t-bad-mode", flags=zk.EPHEMERAL, ttl=100)  # createTTL with a non-TTL mode
    a.create("/t-persistent-mode", flags=zk.PERSISTENT, ttl=100)
    a.create("/c-via-create", flags=zk.CONTAINER, op="create")
    w = zk.JuteWriter().string("/c-opcode-1").buffer(b"").acls(zk.OPEN_ACL_UNSAFE)
    a.submit(zk.Raw(zk.OPCODES["create"], w.int(zk.CONTAINER).getvalue()))
    w = zk.JuteWriter().string("/t-opcode-1").buffer(b"").acls(zk.OPEN_ACL_UNSAFE)
    a.submit(zk.Raw(zk.OPCODES["create"], w.int(zk.PERSISTENT_WITH_TTL).getvalue()))
    w = zk.JuteWriter().string("/bad-mode").buffer(b"").acls(zk.OPEN_ACL_UNSAFE)
    a.submit(zk.Raw(zk.OPCODES["create"], w.int(7).getvalue()))
    a.get_children("/")


# --- delete, setData, reads ----------------------------------------------------------------------

@scenario
def delete_with_versions(run: Run):
    a = run.client("a")
    a.create("/d", b"v0")
    a.set_data("/d", b"v1")
    a.delete("/d", version=0)  # BADVERSION
    a.delete("/d", version=2)
    a.delete("/d", version=1)
    a.delete("/d")  # NONODE
    a.create("/d")
    a.create("/d/child")
    a.delete("/d")  # NOTEMPTY
    a.delete("/d/child", version=-1)
    a.delete("/d")
    for path in ("/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota", "bad", "/bad/",
                 "/nope/child"):
        a.delete(path)


@scenario
def set_data_versions_and_sizes(run: Run):
    a = run.client("a")
    a.create("/v", b"start")
    a.set_data("/v", b"one", version=0)
    a.set_data("/v", b"two", version=0)  # BADVERSION
    a.set_data("/v", b"two", version=1)
    a.set_data("/v", b"three", version=-1)
    a.set_data("/v", None)
    a.get_data("/v")
    a.set_data("/v", b"")
    a.get_data("/v")
    a.set_data("/v", b"x" * 100_000)
    a.exists("/v")
    a.set_data("/missing", b"x")
    a.set_data("bad", b"x")
    a.set_data("/v", b"y", version=-2)


@scenario
def reads_of_missing_and_bad_paths(run: Run):
    a = run.client("a")
    a.create("/r")
    for path in ("/missing", "/r/missing", "bad", "/r/", ""):
        a.exists(path)
        a.get_data(path)
        a.get_children(path)
        a.get_children2(path)
        a.get_acl(path)
        a.submit(zk.GetAllChildrenNumber(path))


@scenario
def cversion_and_pzxid(run: Run):
    a = run.client("a")
    a.create("/cv")
    a.exists("/cv")
    a.create("/cv/a")
    a.exists("/cv")
    a.create("/cv/b", flags=zk.EPHEMERAL)
    a.exists("/cv")
    a.set_data("/cv/a", b"data")
    a.exists("/cv")
    a.delete("/cv/a")
    a.exists("/cv")
    a.create("/cv/a")
    a.create("/cv/a/deep")
    a.exists("/cv")
    a.get_children2("/cv/a")
    a.delete("/cv/a/deep")
    a.get_children2("/cv")
    a.get_children2("/cv/a")


@scenario
def nested_counts(run: Run):
    a = run.client("a")
    for path in ("/n", "/n/a", "/n/a/b", "/n/a/b/c", "/n/d", "/nx"):
        a.create(path)
    for path in ("/n", "/n/a", "/n/a/b/c", "/nx", "/"):
        a.submit(zk.GetAllChildrenNumber(path))


# --- multi ---------------------------------------------------------------------------------------

@scenario
def multi_success(run: Run):
    a = run.client("a")
    a.create("/m", b"")
    a.multi(
        zk.Create("/m/a", b"1", op="create"),
        zk.Create("/m/b", b"2", op="create2"),
        zk.Create("/m/seq-", flags=zk.PERSISTENT_SEQUENTIAL, op="create"),
        zk.Create("/m/eph", flags=zk.EPHEMERAL, op="create"),
        zk.Create("/m/a/child", op="create"),
        zk.SetData("/m/a", b"3"),
        zk.Check("/m/a", 1),
        zk.Delete("/m/b"),
        zk.Create("/m/b", b"again", op="create"),
        zk.Create("/m/box", flags=zk.CONTAINER),
        zk.Create("/m/ttl", flags=zk.PERSISTENT_WITH_TTL, ttl=10_000),
    )
    a.get_children2("/m")
    a.get_data("/m/a")
    a.get_data("/m/b")
    a.multi()


@scenario
def multi_failures_roll_back(run: Run):
    a = run.client("a")
    a.create("/f", b"")
    a.create("/f/existing", b"")
    failing = [
        [zk.Create("/f/new", op="create"), zk.Check("/f/existing", 5), zk.Delete("/f/nope")],
        [zk.Create("/f/new", op="create"), zk.Create("/f/existing", op="create")],
        [zk.SetData("/f/existing", b"x"), zk.SetData("/f/existing", b"y", version=0)],
        [zk.Delete("/f"), zk.Create("/f/x")],
        [zk.Create("/f/new", op="create"), zk.Create("/f/nope/deeper", op="create")],
        [zk.Create("/f/eph", flags=zk.EPHEMERAL, op="create"), zk.Create("/f/eph/c", op="create")],
        [zk.Create("bad path", op="create")],
        [zk.Create("/f/t", flags=zk.PERSISTENT_WITH_TTL, ttl=0)],
        [zk.Check("/f/nope", -1)],
    ]
    for ops in failing:
        a.multi(*ops)
    a.get_children2("/f")
    a.get_data("/f/existing")


@scenario
def multi_read(run: Run):
    a = run.client("a")
    a.create("/mr", b"top")
    a.create("/mr/child", b"c")
    a.multi_read(zk.GetData("/mr"), zk.GetChildren("/mr"), zk.GetData("/nope"),
                 zk.GetChildren("/nope"), zk.GetData("/mr/child"))
    a.multi_read()


@scenario
def sync_answers(run: Run):
    a = run.client("a")
    a.create("/sy")
    a.sync("/sy")
    a.sync("/")
    a.sync("/nope")
    a.sync("bad")


# --- ACLs ----------------------------------------------------------------------------------------

@scenario
def get_and_set_acl_versions(run: Run):
    a = run.client("a")
    a.create("/acl", b"", acl=zk.READ_ACL_UNSAFE + (Acl(zk.PERM_ADMIN, "world", "anyone"),))
    a.get_acl("/acl")
    a.set_acl("/acl", zk.OPEN_ACL_UNSAFE, version=1)  # BADVERSION
    a.set_acl("/acl", zk.OPEN_ACL_UNSAFE, version=0)
    a.set_acl("/acl", zk.OPEN_ACL_UNSAFE, version=0)  # BADVERSION: aversion is now 1
    a.set_acl("/acl", zk.READ_ACL_UNSAFE, version=-1)
    a.get_acl("/acl")
    a.set_acl("/acl", zk.OPEN_ACL_UNSAFE)  # NOAUTH: admin permission is gone
    a.set_acl("/nope", zk.OPEN_ACL_UNSAFE)
    a.exists("/acl")


@scenario
def invalid_acls(run: Run):
    a = run.client("a")
    bad = [
        [], None, [Acl(zk.PERM_ALL, "digest", "no-colon")], [Acl(zk.PERM_ALL, "foo", "bar")],
        [Acl(zk.PERM_ALL, "ip", "300.0.0.1")], [Acl(zk.PERM_ALL, "world", "nobody")],
        list(zk.CREATOR_ALL_ACL),
    ]
    for i, acl in enumerate(bad):
        a.create(f"/bad{i}", acl=acl)
    good = [
        [Acl(0, "world", "anyone")], [Acl(99, "world", "anyone")],
        [Acl(zk.PERM_ALL, "ip", "127.0.0.1")], [Acl(zk.PERM_ALL, "ip", "10.0.0.0/8")],
        [Acl(zk.PERM_READ, "world", "anyone"), Acl(zk.PERM_READ, "world", "anyone")],
    ]
    for i, acl in enumerate(good):
        a.create(f"/good{i}", acl=acl)
        a.get_acl(f"/good{i}")
    a.set_acl("/good0", [])
    a.create("/target")
    a.set_acl("/target", [Acl(zk.PERM_ALL, "foo", "bar")])
    a.set_acl("/target", zk.CREATOR_ALL_ACL)
    a.get_acl("/target")


@scenario
def digest_and_auth_acls(run: Run):
    owner = run.client("owner")
    other = run.client("other")
    owner.add_auth("digest", b"alice:secret")
    owner.create("/private", b"secret", acl=zk.CREATOR_ALL_ACL)
    owner.get_acl("/private")
    owner.create("/private/child")
    alice_reads = Acl(zk.PERM_READ, "digest", zk.digest_id("alice", "secret"))
    owner.create("/readonly", b"r", acl=[alice_reads])
    owner.set_data("/readonly", b"w")  # NOAUTH
    owner.get_data("/readonly")
    for client in (other,):
        client.get_data("/private")
        client.exists("/private")
        client.get_acl("/private")
        client.get_children("/private")
        client.get_children2("/private")
        client.set_data("/private", b"x")
        client.create("/private/mine")
        client.delete("/private/child")
        client.set_acl("/private", zk.OPEN_ACL_UNSAFE)
        client.multi_read(zk.GetData("/private"), zk.GetChildren("/private"))
        client.multi(zk.SetData("/private", b"x"))
    other.add_auth("digest", b"alice:wrong")
    other.get_data("/private")
    other.add_auth("digest", b"alice:secret")
    other.get_data("/private")
    other.whoami()
    owner.delete("/private/child")
    other.delete("/private")


@scenario
def ip_and_world_acls(run: Run):
    a = run.client("a")
    a.create("/local", b"l", acl=[Acl(zk.PERM_ALL, "ip", "127.0.0.1")])
    a.create("/net", b"n", acl=[Acl(zk.PERM_ALL, "ip", "127.0.0.0/8")])
    a.create("/elsewhere", b"e", acl=[Acl(zk.PERM_ALL, "ip", "10.1.2.3")])
    a.create("/world-read", b"w", acl=zk.READ_ACL_UNSAFE)
    for path in ("/local", "/net", "/elsewhere", "/world-read"):
        a.get_data(path)
        a.set_data(path, b"changed")
        a.create(f"{path}/child")


@scenario
def auth_and_whoami(run: Run):
    a = run.client("a")
    a.whoami()
    a.add_auth("digest", b"alice:secret")
    a.add_auth("digest", b"alice:secret")
    a.add_auth("digest", b"bob:pw")
    a.add_auth("digest", b"no-colon")
    a.add_auth("ip", b"10.9.8.7")
    a.whoami()
    b = run.client("b")
    b.add_auth("no-such-scheme", b"x")
    is_closed(run, b)


# --- watches -------------------------------------------------------------------------------------

@scenario
def one_shot_watches(run: Run):
    a = run.client("a")
    b = run.client("b")
    a.create("/w")
    b.exists("/w/x", watch=True)
    b.get_data("/w", watch=True)
    b.get_children("/w", watch=True)
    a.create("/w/x", b"")
    b.take_events()
    a.create("/w/y")  # the child watch fired already: no event
    b.take_events()
    b.get_data("/w/x", watch=True)
    b.get_children("/w/x", watch=True)
    b.exists("/w/x", watch=True)
    b.get_children2("/w", watch=True)
    a.delete("/w/x")  # one NodeDeleted for data+child+exist watches, then the parent's event
    b.take_events()
    a.set_data("/w", b"1")
    b.take_events()
    b.exists("/w", watch=True)
    a.delete("/w/y")
    a.delete("/w")
    b.take_events()


@scenario
def events_arrive_before_later_replies(run: Run):
    a = run.client("a")
    b = run.client("b")
    a.create("/o", b"")
    a.get_data("/o", watch=True)  # the writer watches too: its event precedes its own reply
    b.get_data("/o", watch=True)
    b.get_children("/o", watch=True)
    a.set_data("/o", b"1")
    b.get_data("/o")  # event first, then this reply showing the new data
    a.get_children("/o", watch=True)
    a.multi(zk.Create("/o/a", op="create"), zk.Create("/o/b", op="create"),
            zk.SetData("/o", b"2"))
    b.take_events()
    a.exists("/o/a", watch=True)
    a.get_data("/o/b", watch=True)
    b.exists("/o/a", watch=True)
    a.multi(zk.Delete("/o/a"), zk.Delete("/o/b"))
    b.take_events()


@scenario
def persistent_watches(run: Run):
    a = run.client("a")
    b = run.client("b")
    a.create("/pw")
    b.add_watch("/pw", zk.ADD_WATCH_PERSISTENT)
    a.create("/pw/c1")
    a.set_data("/pw", b"1")
    a.set_data("/pw", b"2")
    a.create("/pw/c1/deep")  # not a child of /pw: no event
    a.delete("/pw/c1/deep")
    a.delete("/pw/c1")
    b.take_events()
    b.check_watches("/pw", zk.WATCH_ANY)
    b.check_watches("/pw", zk.WATCH_DATA)
    b.check_watches("/pw", zk.WATCH_CHILDREN)
    b.remove_watches("/pw", zk.WATCH_ANY)
    b.check_watches("/pw", zk.WATCH_ANY)
    a.set_data("/pw", b"3")
    b.take_events()
    b.add_watch("/missing", zk.ADD_WATCH_PERSISTENT)
    a.create("/missing")
    a.delete("/missing")
    a.create("/missing")
    b.take_events()


@scenario
def persistent_recursive_watches(run: Run):
    a = run.client("a")
    b = run.client("b")
    a.create("/rw")
    b.add_watch("/rw", zk.ADD_WATCH_PERSISTENT_RECURSIVE)
    a.create("/rw/a")
    a.create("/rw/a/b")
    a.set_data("/rw/a/b", b"x")
    a.set_data("/rw", b"y")
    a.delete("/rw/a/b")
    a.multi(zk.Create("/rw/m1", op="create"), zk.Create("/rw/m1/m2", op="create"))
    a.create("/rwx")  # a sibling with the same prefix is not under /rw
    b.take_events()
    b.get_data("/rw/a", watch=True)  # a one-shot watch beside the recursive one
    a.set_data("/rw/a", b"z")
    b.take_events()
    b.add_watch("/rw", zk.ADD_WATCH_PERSISTENT)  # the same watcher switches mode
    a.create("/rw/after-switch")
    b.take_events()
    b.remove_watches("/rw", zk.WATCH_ANY)
    a.create("/rw/after-remove")
    b.take_events()


@scenario
def check_and_remove_watches(run: Run):
    a = run.client("a")
    b = run.client("b")
    a.create("/cw")
    b.check_watches("/cw", zk.WATCH_DATA)  # NOWATCHER
    b.check_watches("/cw", zk.WATCH_CHILDREN)
    b.check_watches("/cw", zk.WATCH_ANY)
    b.get_data("/cw", watch=True)
    b.get_children("/cw", watch=True)
    b.check_watches("/cw", zk.WATCH_DATA)
    b.check_watches("/cw", zk.WATCH_CHILDREN)
    a.check_watches("/cw", zk.WATCH_DATA)  # another session's watches are not a's
    b.remove_watches("/cw", zk.WATCH_CHILDREN)
    b.check_watches("/cw", zk.WATCH_CHILDREN)
    b.remove_watches("/cw", zk.WATCH_CHILDREN)
    a.create("/cw/child")  # child watch removed: no event
    a.set_data("/cw", b"x")  # data watch kept: event
    b.take_events()
    b.exists("/cw/absent", watch=True)
    b.check_watches("/cw/absent", zk.WATCH_DATA)
    b.remove_watches("/cw/absent", zk.WATCH_ANY)
    b.remove_watches("/nope", zk.WATCH_ANY)
    b.check_watches("/cw", 4)
    b.remove_watches("/cw", 5)
    b.check_watches("/cw", 0)


# --- sessions ------------------------------------------------------------------------------------

@scenario
def session_close_removes_ephemerals_and_fires_watches(run: Run):
    a = run.client("a")
    b = run.client("b")
    b.create("/sc")
    a.create("/sc/eph", b"", flags=zk.EPHEMERAL)
    a.create("/sc/kept", b"")
    b.exists("/sc/eph", watch=True)
    b.get_children("/sc", watch=True)
    b.submit(zk.GetEphemerals("/"))
    a.close()
    b.take_events()
    b.exists("/sc/eph")
    b.get_children2("/sc")
    b.submit(zk.GetEphemerals("/"))


@scenario
def connect_negotiation_and_resume(run: Run):
    run.client("short", timeout_ms=1000)
    run.client("long", timeout_ms=1_000_000)
    a = run.client("a", timeout_ms=6000)
    a.create("/resume", flags=zk.EPHEMERAL)
    a.drop()
    for name, sid, passwd in (("wrong-password", a.session_id, b"x" * 16),
                              ("unknown-session", 0x1234, b"x" * 16)):
        client = run.client(name, session_id=sid, passwd=passwd)
        is_closed(run, client)
    try:  # a client that has seen more than the server is refused without an answer
        run.client("from-the-future", last_zxid=a.last_zxid + (1 << 40))
    except (ProtocolError, OSError):
        run.note("from-the-future", "refused")
    resumed = run.client("a", session_id=a.session_id, passwd=a.passwd, timeout_ms=8000,
                         last_zxid=a.last_zxid)
    resumed.exists("/resume")
    resumed.get_data("/resume")


@scenario
def set_watches_on_reconnect(run: Run):
    a = run.client("a")
    b = run.client("b")
    for path in ("/sw", "/sw/changed", "/sw/deleted", "/sw/same", "/sw/kids"):
        a.create(path)
    b.get_data("/sw/changed", watch=True)
    b.get_data("/sw/deleted", watch=True)
    b.get_data("/sw/same", watch=True)
    b.exists("/sw/created", watch=True)
    b.get_children("/sw/kids", watch=True)
    b.add_watch("/sw", zk.ADD_WATCH_PERSISTENT_RECURSIVE)
    b.drop()  # while b is away:
    a.set_data("/sw/changed", b"x")
    a.delete("/sw/deleted")
    a.create("/sw/created")
    a.create("/sw/kids/k")
    b = run.client("b", session_id=b.session_id, passwd=b.passwd, last_zxid=b.last_zxid)
    b.submit(zk.SetWatches(b.last_zxid,
                           data=("/sw/changed", "/sw/deleted", "/sw/same"),
                           exist=("/sw/created",), child=("/sw/kids",),
                           persistent=(), persistent_recursive=("/sw",)))
    b.take_events()
    a.set_data("/sw/same", b"now")
    b.take_events()


@scenario
def set_watches_version_one(run: Run):
    a = run.client("a")
    a.create("/sv")
    a.create("/sv/d")
    relative = a.last_zxid
    a.set_data("/sv/d", b"changed")
    a.submit(zk.SetWatches(relative, data=("/sv/d", "/sv/missing"), exist=("/sv/missing",),
                           child=("/sv",)))
    a.take_events()
    a.create("/sv/missing")
    a.create("/sv/e")
    a.take_events()


# --- bad input -----------------------------------------------------------------------------------

@scenario
def unknown_opcode(run: Run):
    a = run.client("a")
    a.submit(zk.Raw(999, b""))
    is_closed(run, a)
    b = run.client("b")
    b.create("/still-serving")


@scenario
def oversized_frame(run: Run):
    a = run.client("a")
    try:
        a.create("/too-big", b"x" * (1024 * 1024))
        run.note("oversized create", "answered")
    except (ProtocolError, OSError):
        run.note("oversized create", "connection closed")
    b = run.client("b")
    b.create("/fits", b"x" * (1024 * 1024 - 1024))
    b.exists("/too-big")


@pytest.mark.parametrize("script", SCENARIOS, ids=lambda f: f.__name__)
def test_ferry_matches_reference(script, apache_zk, ferry_keeper):
    expected = transcript_of(script, apache_zk)
    actual = transcript_of(script, ferry_keeper, reference=False)
    assert_same_transcripts(expected, actual, "apache", "ferry")


@pytest.mark.parametrize("script", SCENARIOS, ids=lambda f: f.__name__)
def test_scenario_is_deterministic_on_apache(script, apache_zk, another_apache_zk):
    first = transcript_of(script, apache_zk)
    second = transcript_of(script, another_apache_zk)
    assert_same_transcripts(first, second, "apache", "apache again")
