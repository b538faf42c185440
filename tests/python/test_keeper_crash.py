"""Crash test: a writer pipelines creates and setData calls at the keeper while the server is
killed with SIGKILL at a random moment; the server is restarted on the same dataDir and every write
that had been acknowledged must be there, with its data. Several rounds, each on top of the last.
It runs against Apache ZooKeeper too, which shows the test itself holds.

The random seed is printed; set FERRY_CRASH_SEED to replay a run.
"""

from __future__ import annotations

import os
import random
import threading
import time

import zkwire as zk
from zkwire import ProtocolError, ZkWire

ROUNDS = 4
WRITE_WINDOW = 32  # requests in flight
ROUND_DEADLINE = 20.0  # seconds a round may write before the kill must have happened


class Ledger:
    """What the server acknowledged, across rounds."""

    def __init__(self) -> None:
        self.created: dict[str, bytes] = {}
        self.counter_acked = -1  # highest counter value whose setData was acknowledged
        self.counter_sent = -1  # highest counter value ever sent
        self.max_zxid = 0
        self.next_index = 0

    def requests(self):
        """An endless stream of writes: creates, and every fourth write a counter update."""
        while True:
            i = self.next_index
            self.next_index += 1
            if i % 4 == 3:
                self.counter_sent = i
                yield zk.SetData("/crash/counter", str(i).encode())
            else:
                yield zk.Create(f"/crash/n{i:08d}", str(i).encode(), op="create")

    def acknowledge(self, request, reply) -> None:
        assert reply.ok, f"{request.describe()} failed: {reply.error}"
        self.max_zxid = max(self.max_zxid, reply.zxid)
        if isinstance(request, zk.SetData):
            self.counter_acked = max(self.counter_acked, int(request.data))
        else:
            self.created[request.path] = request.data


def write_until_killed(server, ledger: Ledger, kill_after: float) -> int:
    """Writes until the connection breaks (the server was killed); returns how many writes of
    this round were acknowledged."""
    client = ZkWire(server.hosts, timeout_ms=30000)
    acked = 0
    # The clock starts at the first acknowledged write, so that a slow start cannot make an
    # empty round.
    killer = threading.Timer(kill_after, server.kill9)
    deadline = time.monotonic() + ROUND_DEADLINE
    try:
        for request, reply in client.pipeline(ledger.requests(), WRITE_WINDOW):
            if acked == 0:
                # zxids stay monotonic across the crash and restart.
                assert reply.zxid > ledger.max_zxid, "a zxid went backwards after restart"
                killer.start()
            ledger.acknowledge(request, reply)
            acked += 1
            assert time.monotonic() < deadline, "the server was not killed in time"
    except (ProtocolError, OSError):
        pass  # the kill
    finally:
        if killer.ident is not None:  # started
            killer.join()
        client.drop()
    assert not server.is_alive()
    return acked


def verify(server, ledger: Ledger) -> None:
    with ZkWire(server.hosts, timeout_ms=30000) as client:
        children = set(client.must(zk.GetChildren("/crash"))["children"])
        missing = [p for p in ledger.created if p.rsplit("/", 1)[1] not in children]
        assert not missing, f"{len(missing)} acknowledged creates lost, e.g. {missing[:5]}"
        paths = [f"/crash/{name}" for name in sorted(children) if name != "counter"]
        for request, reply in client.pipeline((zk.GetData(p) for p in paths), 128):
            index = int(request.path.rsplit("n", 1)[1])
            assert reply.ok and reply["data"] == str(index).encode(), (
                f"{request.path} holds {reply.body} ({reply.error})")
        counter = int(client.must(zk.GetData("/crash/counter"))["data"])
        assert ledger.counter_acked <= counter <= ledger.counter_sent, (
            f"counter is {counter}, acknowledged {ledger.counter_acked}, "
            f"sent {ledger.counter_sent}")


def test_acknowledged_writes_survive_kill9(fresh_keeper):
    seed = int(os.environ.get("FERRY_CRASH_SEED", time.time_ns() % 1_000_000))
    print(f"crash test seed: {seed} (FERRY_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    ledger = Ledger()
    with ZkWire(fresh_keeper.hosts) as setup:
        setup.must(zk.Create("/crash"))
        setup.must(zk.Create("/crash/counter", b"-1"))
    for round_number in range(ROUNDS):
        acked = write_until_killed(fresh_keeper, ledger, kill_after=rng.uniform(0.2, 1.0))
        print(f"round {round_number}: {acked} writes acknowledged before the kill")
        assert acked > 0, f"round {round_number}: no write was acknowledged before the kill"
        fresh_keeper.start()
        verify(fresh_keeper, ledger)
    assert len(ledger.created) > 100
