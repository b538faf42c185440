"""Three `ferry server` nodes: each one process holding a keeper (a member of a 3-server
ensemble) and a broker, so the three are a whole ZooKeeper + Kafka cluster.

Each node is started from its own zoo.cfg + myid and server.properties (the broker's
zookeeper.connect names the three keepers). The tests run the same checks as the replicated
cluster's (test_cluster.py): an idempotent acks=all producer with min.insync.replicas=2, then
every acknowledged message read back exactly once, in order, and the replicas compared. The
fault: kill -9 of a whole node under load, so that both halves fail over at once (the
ensemble elects another keeper leader if it was the leader, the controller moves leaderships
off the dead broker), then the node returns and catches up.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import pytest

from cluster import BrokerCluster, ClusterBroker
from servers import FERRY_BIN, four_letter_word, free_port, wait_until
from test_cluster import (PARTITIONS, REPLICATION, ProduceLoad, create_topic, running,
                          verify)


class NodeKeepers:
    """The keeper halves of the nodes, as a `BrokerCluster` sees its ensemble: the nodes start
    and stop them, so `start` and `stop` do nothing."""

    def __init__(self, size: int) -> None:
        self.client_ports = {i: free_port() for i in range(1, size + 1)}
        self.server_lines = {f"server.{i}": f"127.0.0.1:{free_port()}:{free_port()}"
                             for i in range(1, size + 1)}
        self.nodes: dict[int, CombinedNode] = {}

    @property
    def hosts(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.client_ports.values())

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def is_alive(self) -> bool:
        return any(node.is_alive() for node in self.nodes.values())

    def log_tail(self, lines: Optional[int] = None) -> str:
        return ""  # each node's log holds both halves and is reported with the brokers


class CombinedNode(ClusterBroker):
    """One `ferry server` process: `zoo.cfg` and `data/myid` for its keeper,
    `server.properties` for its broker."""

    def __init__(self, workdir: Path, node_id: int, keepers: NodeKeepers, overrides: dict):
        self.keepers = keepers
        super().__init__(workdir, node_id, keepers, overrides)
        self.kind = f"combined node {node_id}"
        keepers.nodes[node_id] = self
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "myid").write_text(f"{node_id}\n")
        self.zoo_cfg = self.workdir / "zoo.cfg"
        self.zoo_cfg.write_text("".join(f"{k}={v}\n" for k, v in {
            "tickTime": 500, "initLimit": 10, "syncLimit": 5,
            "dataDir": self.data_dir, "clientPort": keepers.client_ports[node_id],
            "clientPortAddress": "127.0.0.1", "admin.enableServer": "false",
            "4lw.commands.whitelist": "*", **keepers.server_lines}.items()))

    def command(self) -> list[str]:
        return [str(FERRY_BIN), "server", "start", "--foreground",
                "--keeper-config", str(self.zoo_cfg), "--broker-config", str(self.config_path),
                *self.override_args()]

    @property
    def keeper_mode(self) -> Optional[str]:
        """The keeper half's `Mode:` (srvr), or None when it does not answer."""
        try:
            answer = four_letter_word("127.0.0.1", self.keepers.client_ports[self.broker_id],
                                      "srvr", timeout=1.0)
        except OSError:
            return None
        modes = [line.removeprefix("Mode: ").strip() for line in answer.splitlines()
                 if line.startswith("Mode: ")]
        return modes[0] if modes else None


class CombinedCluster(BrokerCluster):
    def __init__(self, workdir: Path, size: int = 3, overrides: Optional[dict] = None):
        keepers = NodeKeepers(size)
        super().__init__(workdir, keepers, size=0, overrides=overrides)
        for i in range(1, size + 1):
            self.brokers[i] = CombinedNode(self.workdir / f"node{i}", i, keepers,
                                           dict(self.overrides))

    def keeper_modes(self) -> dict[int, Optional[str]]:
        return {i: node.keeper_mode for i, node in self.brokers.items() if node.is_alive()}


@pytest.fixture
def nodes(tmp_path, request):
    with contextlib.ExitStack() as stack:
        cluster = CombinedCluster(tmp_path / "nodes", overrides=REPLICATION)
        yield stack.enter_context(running(cluster, request.node))


def test_three_combined_nodes_are_a_whole_cluster(nodes):
    """One keeper leads the ensemble, the brokers register in it and elect a controller, and a
    topic with replication factor 3 is served with a full ISR."""
    modes = wait_until(lambda: (m := nodes.keeper_modes()) and sorted(m.values()) == [
        "follower", "follower", "leader"] and m, 60, what="one keeper leader, two followers")
    print(f"keeper modes: {modes}")
    nodes.wait_for_metadata()
    create_topic(nodes, "combined")
    with ProduceLoad(nodes.bootstrap, "combined") as load:
        load.wait_for_more(300)
    verify(nodes, "combined", load)


@pytest.mark.fault
def test_kill9_of_a_whole_node_under_load_loses_nothing(nodes):
    """kill -9 of the node whose keeper leads the ensemble (its broker leads partitions too):
    the other two elect a keeper leader and the controller (itself moved if it was there)
    moves the leaderships; producing goes on; the node returns and catches up."""
    nodes.wait_for_metadata()
    topic = "combined-kill"
    create_topic(nodes, topic)
    with ProduceLoad(nodes.bootstrap, topic) as load:
        load.wait_for_more(300)
        modes = nodes.keeper_modes()
        victim = next(i for i, mode in modes.items() if mode == "leader")
        nodes.kill9(victim)
        wait_until(lambda: "leader" in nodes.keeper_modes().values(), 60,
                   what="the two remaining keepers to elect a leader")
        for p in range(PARTITIONS):
            state = nodes.wait_for_isr(topic, p, 2, timeout=90)
            assert victim not in state.isr and state.leader != victim, state
        load.wait_for_more(300)
    nodes.start_broker(victim, timeout=90)
    verify(nodes, topic, load)
    assert sorted(nodes.keeper_modes().values()) == ["follower", "follower", "leader"]
