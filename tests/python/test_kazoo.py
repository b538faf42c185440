"""kazoo, a client we did not write, against the keeper (Apache ZooKeeper and ferry alike):
sessions, ephemerals, sequentials, watches, transactions and the lock/election/counter/barrier
recipes. Each test works under its own chroot (`znode_base`) on the module's shared server; the
tests that restart a server use `fresh_keeper`.
"""

from __future__ import annotations

import threading

import pytest
from kazoo.client import KazooState
from kazoo.exceptions import (BadVersionError, KazooException, NoAuthError, NodeExistsError,
                              NoNodeError, NotEmptyError, RolledBackError, RuntimeInconsistency)
from kazoo.protocol.states import EventType
from kazoo.security import make_digest_acl

from servers import wait_until
from tcpproxy import TcpProxy


class StateLog:
    """Records a kazoo client's connection states, for `wait_until`."""

    def __init__(self, client) -> None:
        self.states: list[str] = []
        client.add_listener(self.states.append)

    def saw(self, *states) -> bool:
        return all(state in self.states for state in states)


@pytest.fixture
def proxy(keeper):
    with TcpProxy(keeper.port) as p:
        yield p


def test_crud_versions_and_errors(kazoo_client):
    zk = kazoo_client()
    assert zk.create("/a/b/c", b"deep", makepath=True) == "/a/b/c"
    data, stat = zk.get("/a/b/c")
    assert (data, stat.version, stat.data_length) == (b"deep", 0, 4)
    assert zk.set("/a/b/c", b"new", version=0).version == 1
    with pytest.raises(BadVersionError):
        zk.set("/a/b/c", b"stale", version=0)
    with pytest.raises(NodeExistsError):
        zk.create("/a/b/c")
    with pytest.raises(NoNodeError):
        zk.create("/missing/child")
    with pytest.raises(NotEmptyError):
        zk.delete("/a")
    assert sorted(zk.get_children("/a/b")) == ["c"]
    zk.delete("/a", recursive=True)
    assert zk.exists("/a") is None
    with pytest.raises(NoNodeError):
        zk.get("/a")


def test_ephemeral_vanishes_when_its_session_closes(kazoo_client):
    owner, observer = kazoo_client(), kazoo_client()
    owner.create("/eph", b"mine", ephemeral=True)
    stat = observer.exists("/eph")
    assert stat is not None and stat.ephemeralOwner == owner.client_id[0]
    gone = threading.Event()
    observer.exists("/eph", watch=lambda event: event.type == EventType.DELETED and gone.set())
    owner.stop()
    assert gone.wait(10), "no NodeDeleted event after the owner closed its session"
    assert observer.exists("/eph") is None


def test_sequential_nodes_have_ten_digit_increasing_suffixes(kazoo_client):
    zk = kazoo_client()
    zk.create("/q")
    names = [zk.create("/q/item-", sequence=True) for _ in range(5)]
    assert names == [f"/q/item-{i:010d}" for i in range(5)]
    zk.delete(names[0])
    assert zk.create("/q/item-", sequence=True, ephemeral=True) == "/q/item-0000000005"
    assert sorted(zk.get_children("/q")) == [n.rsplit("/", 1)[1] for n in names[1:]] + [
        "item-0000000005"]


def test_data_watch_and_children_watch(kazoo_client):
    writer, watcher = kazoo_client(), kazoo_client()
    writer.create("/watched", b"v0")
    seen_data, seen_children = [], []
    watcher.DataWatch("/watched", lambda data, stat: seen_data.append(data))
    watcher.ChildrenWatch("/watched", lambda children: seen_children.append(sorted(children)))
    wait_until(lambda: seen_data == [b"v0"] and seen_children == [[]], what="initial calls")
    writer.set("/watched", b"v1")
    wait_until(lambda: seen_data[-1] == b"v1", what="DataWatch to see v1")
    writer.create("/watched/kid")
    wait_until(lambda: seen_children[-1] == ["kid"], what="ChildrenWatch to see the child")
    writer.delete("/watched/kid")
    wait_until(lambda: seen_children[-1] == [], what="ChildrenWatch to see the delete")
    writer.set("/watched", b"v2")
    wait_until(lambda: seen_data[-1] == b"v2", what="DataWatch to see v2")
    assert seen_data == [b"v0", b"v1", b"v2"]


def test_one_shot_watch_fires_once(kazoo_client):
    writer, watcher = kazoo_client(), kazoo_client()
    writer.create("/once")
    events = []
    watcher.get("/once", watch=events.append)
    writer.set("/once", b"1")
    writer.set("/once", b"2")
    wait_until(lambda: events, what="the watch event")
    watcher.sync("/once")  # any second event would have been delivered before this answer
    assert [(e.type, e.path) for e in events] == [(EventType.CHANGED, "/once")]


def test_transaction_commits_atomically(kazoo_client):
    zk = kazoo_client()
    zk.create("/tx", b"0")
    t = zk.transaction()
    t.create("/tx/a", b"a")
    t.create("/tx/b", b"b")
    t.check("/tx", 0)
    t.set_data("/tx", b"1")
    t.delete("/tx/b")
    created_a, created_b, checked, stat, deleted = t.commit()
    assert (created_a, created_b, checked, deleted) == ("/tx/a", "/tx/b", True, True)
    # setData's stat is the node's as of that op, before the later delete in the same multi.
    assert (stat.version, stat.numChildren) == (1, 2)
    assert sorted(zk.get_children("/tx")) == ["a"]
    assert zk.get("/tx")[0] == b"1"


def test_failed_transaction_changes_nothing(kazoo_client):
    zk = kazoo_client()
    zk.create("/tx", b"0")
    t = zk.transaction()
    t.create("/tx/new")
    t.set_data("/tx", b"x", version=7)
    t.delete("/tx/missing")
    results = t.commit()
    assert [type(r) for r in results] == [RolledBackError, BadVersionError, RuntimeInconsistency]
    assert zk.get_children("/tx") == []
    assert zk.get("/tx")[0] == b"0"


def test_lock_gives_mutual_exclusion(kazoo_client):
    clients = [kazoo_client() for _ in range(4)]
    holders, max_holders, rounds = [0], [0], 5
    guard = threading.Lock()
    errors = []

    def worker(client, name):
        try:
            lock = client.Lock("/lock", name)
            for _ in range(rounds):
                with lock:
                    with guard:
                        holders[0] += 1
                        max_holders[0] = max(max_holders[0], holders[0])
                    client.sync("/")  # hold the lock across a round trip
                    with guard:
                        holders[0] -= 1
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(c, f"w{i}")) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert max_holders[0] == 1
    assert clients[0].get_children("/lock") == []


def test_lock_contenders_are_listed_in_order(kazoo_client):
    first, second = kazoo_client(), kazoo_client()
    held = first.Lock("/ordered", "first")
    assert held.acquire(timeout=10)
    waiting = second.Lock("/ordered", "second")
    assert not waiting.acquire(blocking=False)
    assert held.contenders() == ["first"]
    acquired = threading.Event()
    thread = threading.Thread(target=lambda: waiting.acquire(timeout=30) and acquired.set())
    thread.start()
    wait_until(lambda: held.contenders() == ["first", "second"], what="second contender")
    held.release()
    assert acquired.wait(10)
    waiting.release()
    thread.join(10)


def test_election_moves_leadership_when_the_leader_leaves(kazoo_client):
    clients = [kazoo_client() for _ in range(3)]
    elections = [client.Election("/election", f"n{i}") for i, client in enumerate(clients)]
    leaders, failures, resign = [], {}, threading.Event()

    def lead(name):
        leaders.append(name)
        resign.wait(30)

    def run(index):
        try:
            elections[index].run(lead, f"n{index}")
        except KazooException as error:
            failures[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    wait_until(lambda: len(leaders) == 1, what="a first leader")
    wait_until(lambda: len(elections[0].contenders()) == 3, what="all three candidates")
    first = int(leaders[0][1:])
    clients[first].stop()  # the leader's session ends: someone else takes over
    wait_until(lambda: len(leaders) == 2, what="a second leader")
    resign.set()  # the second leader steps down, the third takes over and steps down at once
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert sorted(leaders) == ["n0", "n1", "n2"] and leaders[0] == f"n{first}"
    assert set(failures) <= {first}  # only the stopped client may fail to clean up


def test_counter_from_several_clients(kazoo_client):
    clients = [kazoo_client() for _ in range(3)]

    def bump(client):
        counter = client.Counter("/counter")
        for _ in range(10):
            counter += 1

    threads = [threading.Thread(target=bump, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert clients[0].Counter("/counter").value == 30


def test_barrier_releases_waiters(kazoo_client):
    holder, waiter = kazoo_client(), kazoo_client()
    holder.Barrier("/barrier").create()
    released = threading.Event()
    thread = threading.Thread(
        target=lambda: waiter.Barrier("/barrier").wait(timeout=30) and released.set())
    thread.start()
    assert not released.wait(0.3), "the barrier let the waiter through while it stood"
    holder.Barrier("/barrier").remove()
    assert released.wait(10)
    thread.join(10)


def test_digest_acl_and_auth(kazoo_client):
    owner = kazoo_client(auth_data=[("digest", "alice:secret")])
    stranger = kazoo_client()
    owner.create("/secret", b"s", acl=[make_digest_acl("alice", "secret", all=True)])
    assert owner.get("/secret")[0] == b"s"
    with pytest.raises(NoAuthError):
        stranger.get("/secret")
    stranger.add_auth("digest", "alice:secret")
    assert stranger.get("/secret")[0] == b"s"


def test_reconnect_keeps_the_session(kazoo_client, proxy):
    zk = kazoo_client(hosts=proxy.address)
    log = StateLog(zk)
    session = zk.client_id
    zk.create("/still-mine", ephemeral=True)
    proxy.drop()
    wait_until(lambda: log.saw(KazooState.SUSPENDED, KazooState.CONNECTED), timeout=20,
               what="kazoo to reconnect through the proxy")
    assert KazooState.LOST not in log.states
    assert zk.client_id == session
    assert zk.exists("/still-mine").ephemeralOwner == session[0]


def test_session_expiry_removes_ephemerals_and_fires_watches(kazoo_client, proxy):
    doomed = kazoo_client(hosts=proxy.address, timeout=4)
    log = StateLog(doomed)
    observer = kazoo_client()
    doomed.create("/doomed", ephemeral=True)
    deleted = threading.Event()
    observer.exists("/doomed", watch=lambda e: e.type == EventType.DELETED and deleted.set())
    proxy.block()
    assert deleted.wait(30), "the ephemeral outlived its session's timeout"
    assert observer.exists("/doomed") is None
    proxy.unblock()
    wait_until(lambda: log.saw(KazooState.LOST), timeout=30, what="kazoo to learn of the expiry")


def test_session_survives_a_server_restart(fresh_keeper, tmp_path):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=fresh_keeper.hosts, timeout=30)
    zk.start(timeout=15)
    try:
        log = StateLog(zk)
        session = zk.client_id
        zk.create("/persistent", b"kept")
        zk.create("/ephemeral", ephemeral=True)
        fresh_keeper.restart()
        wait_until(lambda: log.saw(KazooState.SUSPENDED, KazooState.CONNECTED), timeout=30,
                   what="kazoo to reconnect after the restart")
        assert zk.client_id == session
        assert zk.get("/persistent")[0] == b"kept"
        assert zk.exists("/ephemeral").ephemeralOwner == session[0]
    finally:
        zk.stop()
        zk.close()
