"""A three-server ferry keeper ensemble on loopback, used through kazoo as ZooKeeper's users
use one: writes through any server read on all, the highest myid leads a fresh ensemble, the
leader's kill -9 elects another with every acknowledged write kept, and a session (with its
ephemerals and watches) moves to another server when its own dies."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

import netns
from ensemble import FerryEnsemble, WriteLoad, mntr_of
from servers import four_letter_word, wait_until

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def ensemble(tmp_path):
    servers = FerryEnsemble(tmp_path, size=3).start()
    try:
        yield servers
    finally:
        servers.stop()


def client(hosts: str, **kwargs) -> KazooClient:
    zk = KazooClient(hosts=hosts, timeout=10.0,
                     connection_retry=KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5),
                     **kwargs)
    zk.start(timeout=30)
    return zk


def test_a_fresh_ensemble_elects_the_highest_myid_and_every_server_serves(ensemble):
    assert ensemble.leader() == 3
    modes = ensemble.modes()
    assert sorted(modes.values()) == ["follower", "follower", "leader"], modes


def test_writes_through_any_server_are_read_on_every_server(ensemble):
    clients = {i: client(s.hosts) for i, s in ensemble.servers.items()}
    try:
        for i, zk in clients.items():
            zk.create(f"/from{i}", f"v{i}".encode())
            # Read-your-writes on the server the client is connected to, at once.
            assert zk.get(f"/from{i}")[0] == f"v{i}".encode()
        for zk in clients.values():
            zk.sync("/")
            assert sorted(zk.get_children("/")) == ["from1", "from2", "from3", "zookeeper"]
            assert zk.get("/from2")[0] == b"v2"
        stats = {i: zk.exists("/from1") for i, zk in clients.items()}
        assert len({(s.czxid, s.mzxid, s.version) for s in stats.values()}) == 1, stats
    finally:
        for zk in clients.values():
            zk.stop()
            zk.close()


def test_leader_kill9_elects_a_new_leader_and_keeps_every_acknowledged_write(ensemble):
    old = ensemble.leader()
    followers = ",".join(s.hosts for i, s in ensemble.servers.items() if i != old)
    with WriteLoad(followers) as load:
        load.wait_for_more()
        ensemble.servers[old].kill9()
        new, took = ensemble.time_to_new_leader(old)
        print(f"leader {old} killed: server {new} leads after {took:.2f} s")
        load.wait_for_more()
    ensemble.servers[old].start()
    load.check(ensemble.servers.values())


def test_follower_kill9_does_not_stop_writes_and_the_follower_catches_up(tmp_path):
    """(The servers' lines name them by host name, `localhost`, as users' zoo.cfg files do.)"""
    ensemble = FerryEnsemble(tmp_path, size=3, peer_host="localhost").start()
    try:
        follower_kill9(ensemble)
    finally:
        ensemble.stop()


def follower_kill9(ensemble: FerryEnsemble) -> None:
    leader = ensemble.leader()
    victim = next(i for i in ensemble.servers if i != leader)
    with WriteLoad(ensemble.servers[leader].hosts) as load:
        load.wait_for_more()
        ensemble.servers[victim].kill9()
        load.wait_for_more()
        ensemble.servers[victim].start()
        load.wait_for_more()
    assert ensemble.leader() == leader, "a follower's death must not move the leadership"
    load.check(ensemble.servers.values())


def test_a_paused_leader_is_replaced_and_rejoins_as_a_follower(ensemble):
    """SIGSTOP past the session timeout: the others elect a leader and go on; resumed, the old
    leader learns of the newer term, follows, and catches up."""
    old = ensemble.leader()
    followers = ",".join(s.hosts for i, s in ensemble.servers.items() if i != old)
    paused = ensemble.servers[old].process
    with WriteLoad(followers) as load:
        load.wait_for_more()
        paused.send_signal(signal.SIGSTOP)
        try:
            new, took = ensemble.time_to_new_leader(old)
            print(f"leader {old} paused: server {new} leads after {took:.2f} s")
            load.wait_for_more()
            time.sleep(11)  # past the writer's 10 s session timeout
            load.wait_for_more()
        finally:
            paused.send_signal(signal.SIGCONT)
        wait_until(lambda: ensemble.modes()[old] == "follower", timeout=30,
                   what=f"server {old} to follow after resuming")
        load.wait_for_more()
    load.check(ensemble.servers.values())


def test_whole_ensemble_kill9_and_restart_keeps_every_acknowledged_write(ensemble):
    with WriteLoad(ensemble.hosts) as load:
        load.wait_for_more(200)
        for server in ensemble.servers.values():
            server.kill9()
        for server in ensemble.servers.values():
            server.launch(server.command(), server.workdir)
        restarted = time.monotonic()
        load.wait_for_more(1)
        print(f"whole ensemble restarted: writes acknowledged again after "
              f"{time.monotonic() - restarted:.2f} s")
        assert ensemble.leader()
        load.wait_for_more()
    load.check(ensemble.servers.values())


def test_two_of_five_killed_leaves_a_quorum_that_keeps_writing(tmp_path):
    five = FerryEnsemble(tmp_path, size=5).start()
    try:
        leader = five.leader()
        assert leader == 5
        survivors = [i for i in five.servers if i not in (leader, 1)]
        with WriteLoad(",".join(five.servers[i].hosts for i in survivors)) as load:
            load.wait_for_more()
            five.servers[leader].kill9()
            five.servers[1].kill9()
            new, took = five.time_to_new_leader(leader)
            print(f"two of five killed: server {new} leads after {took:.2f} s")
            load.wait_for_more()
        load.check(five.servers[i] for i in survivors)
        five.servers[1].start()
        five.servers[leader].start()
        load.check(five.servers.values())
    finally:
        five.stop()


def test_a_session_moves_to_another_server_with_its_ephemerals_and_watches(ensemble):
    first = ensemble.servers[1]
    others = [s.hosts for i, s in ensemble.servers.items() if i != 1]
    # Connected to server 1 first (kazoo tries hosts in order when not randomized).
    zk = client(",".join([first.hosts, *others]), randomize_hosts=False)
    watcher = client(others[0])
    try:
        zk.create("/owned", b"", ephemeral=True)
        zk.create("/watched", b"0")
        session = zk.client_id
        fired = threading.Event()
        zk.get("/watched", watch=lambda event: fired.set())
        first.kill9()
        watcher.retry(watcher.set, "/watched", b"1")
        assert fired.wait(30), "the watch did not fire after the session moved"
        # (On a loaded machine a follower may briefly lose its leader and drop its clients:
        # wait for the connection rather than catch it between two.)
        wait_until(lambda: zk.connected, timeout=30, what="the client to be connected")
        assert zk.client_id == session, "the client got a new session instead of keeping its own"
        assert watcher.retry(watcher.exists, "/owned") is not None, "the ephemeral is gone"
    finally:
        zk.stop()
        zk.close()
        watcher.stop()
        watcher.close()
    # Closing the session deletes its ephemeral everywhere.
    reader = client(others[1])
    try:
        reader.retry(reader.sync, "/")
        assert reader.retry(reader.exists, "/owned") is None
    finally:
        reader.stop()
        reader.close()


def test_the_leader_expires_a_session_whose_server_died(ensemble):
    """The client knows only one follower; once that follower is gone, nobody refreshes the
    session, and the leader expires it after its timeout, deleting its ephemerals everywhere."""
    leader = ensemble.leader()
    follower = next(s for i, s in ensemble.servers.items() if i != leader)
    observer = client(ensemble.servers[leader].hosts)
    lonely = KazooClient(hosts=follower.hosts, timeout=4.0)
    lonely.start(timeout=30)
    try:
        lonely.create("/lonely", b"", ephemeral=True)
        observer.sync("/")
        assert observer.exists("/lonely") is not None
        follower.kill9()
        wait_until(lambda: observer.retry(observer.exists, "/lonely") is None, timeout=30,
                   what="the leader to expire the session of the dead follower's client")
    finally:
        lonely.stop()
        lonely.close()
        observer.stop()
        observer.close()


@pytest.mark.skipif(not netns.available(), reason="needs root and iproute2 for test hosts")
def test_a_leader_cut_off_in_a_minority_stops_serving_and_rejoins_when_healed(tmp_path):
    """Each server on its own test host; the leader's host is cut off the network. The other
    two elect a leader and go on writing; the cut-off one, without a quorum, stops serving;
    healed, it follows the new leader and has every acknowledged write."""
    with netns.TestHosts(3) as hosts:
        cluster = FerryEnsemble(tmp_path, size=3, hosts=hosts).start()
        try:
            old = cluster.leader()
            majority = ",".join(s.hosts for i, s in cluster.servers.items() if i != old)
            with WriteLoad(majority) as load:
                load.wait_for_more()
                hosts.cut(old)
                new, took = cluster.time_to_new_leader(old)
                print(f"leader {old} cut off: server {new} leads after {took:.2f} s")
                load.wait_for_more()
                wait_until(lambda: "not currently serving" in
                           cluster.servers[old].four_letter_from_inside("srvr"), timeout=30,
                           what="the cut-off leader to stop serving")
                hosts.heal(old)
                wait_until(lambda: cluster.modes([old])[old] == "follower", timeout=30,
                           what=f"server {old} to follow once healed")
                load.wait_for_more()
            load.check(cluster.servers.values())
        finally:
            cluster.stop()


def test_reads_writes_and_compare_and_set_stay_linearizable_through_faults(ensemble):
    """Four clients, each on its own server list, do random reads (sync, then get), writes and
    compare-and-sets on three keys while the leader is killed and a follower paused; the
    recorded history is checked for linearizability (tests/python/linearizability.py)."""
    import random

    from kazoo.exceptions import BadVersionError, KazooException

    from linearizability import Op, check

    keys = ["/lin/a", "/lin/b", "/lin/c"]
    setup = client(ensemble.hosts)
    for key in keys:
        setup.create(key, b"init", makepath=True)
    initial = {key: (b"init", 0) for key in keys}
    setup.stop()
    setup.close()

    history: list[Op] = []
    lock = threading.Lock()
    stop = threading.Event()
    ids = list(ensemble.servers)

    def run(name: str, hosts: str, seed: int) -> None:
        rng = random.Random(seed)
        zk = client(hosts)
        n = 0
        try:
            while not stop.is_set():
                if zk.state != "CONNECTED":
                    # A request made while disconnected fails at once without being sent;
                    # recording it as "may have happened" would only widen the search.
                    time.sleep(0.01)
                    continue
                key, roll, n = rng.choice(keys), rng.random(), n + 1
                op = Op(key, "read" if roll < 0.4 else "write" if roll < 0.6 else "cas",
                        time.monotonic(), client=name)
                try:
                    if op.kind == "read":
                        zk.sync(key)
                        data, stat = zk.get(key)
                        op.result = (data, stat.version)
                    elif op.kind == "write":
                        op.value = f"{name}-{n}".encode()
                        zk.set(key, op.value)
                        op.result = True
                    else:
                        _, stat = zk.get(key)
                        op.invoked = time.monotonic()  # the cas itself, after its read
                        op.value, op.expected_version = f"{name}-{n}".encode(), stat.version
                        try:
                            zk.set(key, op.value, version=stat.version)
                            op.result = True
                        except BadVersionError:
                            op.result = False
                    op.completed = time.monotonic()
                except KazooException:
                    if op.kind == "cas" and op.expected_version is None:
                        continue  # its read failed: the cas was never sent
                    op.known = False  # may or may not have happened
                with lock:
                    history.append(op)
        finally:
            zk.stop()
            zk.close()

    workers = [threading.Thread(target=run, args=(f"c{i}", ",".join(
        ensemble.servers[ids[(i + j) % len(ids)]].hosts for j in range(len(ids))), i))
        for i in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(2)
        leader = ensemble.leader()
        ensemble.servers[leader].kill9()
        ensemble.time_to_new_leader(leader)
        time.sleep(2)
        ensemble.servers[leader].start()
        follower = next(i for i in ids if i != ensemble.leader())
        process = ensemble.servers[follower].process
        process.send_signal(signal.SIGSTOP)
        time.sleep(3)
        process.send_signal(signal.SIGCONT)
        time.sleep(2)
    finally:
        stop.set()
        for worker in workers:
            worker.join(60)
    completed = [op for op in history if op.known]
    if os.environ.get("FERRY_DUMP_HISTORY"):  # a file to keep the history in, to study it
        with open(os.environ["FERRY_DUMP_HISTORY"], "wb") as out:
            pickle.dump((history, initial), out)
    assert len(completed) > 200, f"too few operations completed: {len(completed)}"
    verdict = check(history, initial)
    print(f"linearizability: {len(history)} ops ({len(history) - len(completed)} with unknown "
          f"outcome), {verdict.explored} states explored")
    assert verdict.ok, f"not linearizable on {verdict.key}: {verdict.detail}"


def test_a_follower_far_behind_catches_up_from_a_snapshot(tmp_path):
    """A follower is down while more entries are written than the leader keeps after a
    snapshot: it returns, is sent the snapshot, and has every write."""
    cluster = FerryEnsemble(tmp_path, size=3, extra_config={"snapCount": 200}).start()
    try:
        leader = cluster.leader()
        behind = next(i for i in cluster.servers if i != leader)
        cluster.servers[behind].kill9()
        with WriteLoad(cluster.servers[leader].hosts) as load:
            load.wait_for_more(2500, timeout=120)
        cluster.servers[behind].start()
        load.check([cluster.servers[behind]])
        log = cluster.servers[behind].log_path.read_text(errors="replace")
        assert "a snapshot from the leader replaced the state" in log, "caught up without one"
    finally:
        cluster.stop()


def test_an_observer_serves_clients_and_does_not_vote(tmp_path):
    cluster = FerryEnsemble(tmp_path, size=3, observers=1).start()
    try:
        observer = cluster.servers[4]
        wait_until(lambda: cluster.modes([4])[4] == "observer", timeout=30, what="an observer")
        assert cluster.leader() == 3
        leader = wait_until(lambda: (lambda m: m if m.get("zk_synced_non_voting_followers") ==
                                     "1" else None)(mntr_of(cluster.servers[3])), timeout=30,
                            what="the leader to count a synced observer")
        assert leader["zk_synced_followers"] == "2"
        zk = client(observer.hosts)
        try:
            zk.create("/via-observer", b"o")
            assert zk.get("/via-observer")[0] == b"o"
        finally:
            zk.stop()
            zk.close()
        # The observer is no part of the quorum: writes go on without it.
        with WriteLoad(cluster.servers[1].hosts) as load:
            load.wait_for_more()
            observer.kill9()
            load.wait_for_more()
        load.check([cluster.servers[i] for i in (1, 2, 3)])
    finally:
        cluster.stop()


def test_a_broker_keeps_working_across_a_keeper_leader_failover(ensemble, tmp_path):
    """`ferry broker` with every server of the ensemble in zookeeper.connect: topics created
    through the broker and with `ferry topics --zookeeper` before and after the keeper leader's
    kill -9 are served, and every acknowledged message is read back."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    from kafka_servers import BrokerOnZooKeeper
    from servers import FERRY_BIN

    broker = BrokerOnZooKeeper(tmp_path / "broker", zookeeper=ensemble).start()

    def topics(*args: str) -> str:
        done = subprocess.run([str(FERRY_BIN), "topics", "--zookeeper",
                               broker.zookeeper_connect, *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def produce(topic: str, count: int) -> int:
        producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
        delivered = []
        for i in range(count):
            producer.produce(topic, value=f"{topic}-{i}".encode(),
                             on_delivery=lambda err, msg: delivered.append(err is None))
        assert producer.flush(60) == 0
        return sum(delivered)

    def read(topic: str, expected: int) -> int:
        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"g-{topic}",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, 0, 0)])
        seen = 0
        deadline = time.monotonic() + 60
        while seen < expected and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and not message.error():
                seen += 1
        consumer.close()
        return seen

    def create_through_the_broker(name: str) -> None:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name] \
            .result(timeout=60)

    try:
        topics("--create", "--topic", "before", "--partitions", "1", "--replication-factor", "1")
        create_through_the_broker("before-admin")
        wait_until(lambda: produce("before", 1) == 1, timeout=60, what="the broker to serve it")
        acked = 1 + produce("before", 200)
        old = ensemble.leader()
        ensemble.servers[old].kill9()
        ensemble.time_to_new_leader(old)
        acked += produce("before", 200)
        topics("--create", "--topic", "after", "--partitions", "1", "--replication-factor", "1")
        create_through_the_broker("after-admin")
        wait_until(lambda: produce("after", 1) == 1, timeout=60,
                   what="the broker to serve a topic created after the failover")
        assert produce("after-admin", 10) == 10
        assert read("before", acked) == acked
        assert "after" in topics("--list").split()
    finally:
        broker.stop()


def test_read_only_mode_serves_reads_without_a_quorum(tmp_path):
    """`readonlymode.enabled=true`: a server left alone serves reads to a client that allows
    read-only sessions, refuses its writes with NOTREADONLY and answers `isro` with `ro`; once
    the quorum is back, the client gets a read-write session again."""
    from kazoo.exceptions import NotReadOnlyCallError

    cluster = FerryEnsemble(tmp_path, size=3,
                            extra_config={"readonlymode.enabled": "true"}).start()
    try:
        alone = cluster.servers[1]
        writer = client(alone.hosts)
        writer.create("/before", b"kept")
        writer.stop()
        writer.close()
        for i in (2, 3):
            cluster.servers[i].kill9()
        wait_until(lambda: four_letter_word(alone.host, alone.port, "isro") == "ro", timeout=30,
                   what="the lone server to go read-only")
        reader = KazooClient(hosts=alone.hosts, timeout=10.0, read_only=True)
        reader.start(timeout=30)
        try:
            assert reader.get("/before")[0] == b"kept"
            with pytest.raises(NotReadOnlyCallError):
                reader.create("/during", b"x")
            for i in (2, 3):
                cluster.servers[i].start()
            wait_until(lambda: four_letter_word(alone.host, alone.port, "isro") == "rw",
                       timeout=30, what="the quorum to be back")
            wait_until(lambda: reader.client_state == "CONNECTED", timeout=60,
                       what="a read-write session again")
            reader.retry(reader.create, "/after", b"y")
        finally:
            reader.stop()
            reader.close()
    finally:
        cluster.stop()
