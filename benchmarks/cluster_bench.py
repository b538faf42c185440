#!/usr/bin/env python3
"""The replicated cluster's figures beside the single broker's, in one invocation (release
build, fresh data directories, free ports), by two clients side by side: `ferry perf` and
`rdkafka-load` (librdkafka through the rdkafka crate, none of ferry's code).

1. Baseline: one `ferry standalone`, one partition, acks=1: produce throughput, 100 B and
   1 KiB records.
2. The cluster: one `ferry keeper` and three `ferry broker`s, topics with one partition and
   replication factor 3, acks=all (every record on all three brokers before it is
   acknowledged): produce throughput (100 B, 1 KiB) and end-to-end latency at 50,000
   records/s from each record's intended send time (as broker_bench.py measures it).
3. Failover, with default settings (`zookeeper.session.timeout.ms` 18000), an idempotent
   confluent-kafka producer (acks=all) sending continuously to a partition with replication
   factor 3: its leader stopped with SIGTERM (controlled shutdown); killed with kill -9 (the
   controller finds its port closed and moves its leaderships); and the controller's own
   broker killed with kill -9 while leading the partition (the other brokers find its port
   closed, delete /controller and elect a new one). Each is timed from the signal to the
   first acknowledgement of a record sent after it.

Figures only; nothing here passes or fails. The throughput runs share one disk; see
broker_bench.py for what bounds them on these machines.

    cargo build --release -p ferry && python3 benchmarks/cluster_bench.py
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from broker_bench import (LOAD_DIR, TARGET, BrokerMetrics, PeakRss, create_topic, free_port,
                          latency_runs, rdkafka_throughput, rss_mib, run, wait_for_broker,
                          ferry_perf_throughput)



class Cluster:
    """One keeper and `size` brokers, each its own process and directory."""

    def __init__(self, ferry: str, workdir: Path, size: int = 3) -> None:
        self.ferry, self.workdir = ferry, workdir
        self.keeper_port = free_port()
        self.ports = {i: free_port() for i in range(1, size + 1)}
        self.http_ports = {i: free_port() for i in range(1, size + 1)}
        self.processes: dict[int, subprocess.Popen] = {}
        self.signalled: set[int] = set()  # brokers the bench stopped itself (failover)
        zoo = workdir / "zoo.cfg"
        zoo.write_text(f"tickTime=2000\ndataDir={workdir / 'keeper'}\n"
                       f"clientPort={self.keeper_port}\nadmin.enableServer=false\n")
        self.keeper = subprocess.Popen([ferry, "keeper", "start", "--foreground", "--config",
                                        str(zoo)], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        for i in self.ports:
            self.start(i)
        for port in self.ports.values():
            wait_for_broker(port)

    def config(self, i: int) -> Path:
        path = self.workdir / f"broker{i}.properties"
        path.write_text(
            f"broker.id={i}\nlisteners=PLAINTEXT://127.0.0.1:{self.ports[i]}\n"
            f"log.dirs={self.workdir / f'broker{i}'}\n"
            f"zookeeper.connect=127.0.0.1:{self.keeper_port}/kafka\n"
            f"offsets.topic.num.partitions=4\nferry.http.port={self.http_ports[i]}\n")
        return path

    def start(self, i: int) -> None:
        self.signalled.discard(i)
        with open(self.workdir / f"broker{i}.log", "ab") as log:
            self.processes[i] = subprocess.Popen(
                [self.ferry, "broker", "start", "--foreground", "--config", str(self.config(i))],
                stdout=log, stderr=log)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.ports.values())

    def leader_of(self, topic: str, partition: int = 0) -> int:
        out = run(self.ferry, "topics", "--bootstrap-server", self.bootstrap, "--describe",
                  "--topic", topic)
        for line in out.splitlines():
            if f"Partition: {partition}\t" in line or line.endswith(f"Partition: {partition}"):
                return int(line.split("Leader:")[1].split()[0])
        raise SystemExit(f"no leader in:\n{out}")

    def controller(self) -> int:
        out = run(self.ferry, "zk-cli", "-server", f"127.0.0.1:{self.keeper_port}", "get",
                  "/kafka/controller")
        return json.loads(next(line for line in out.splitlines() if line.startswith("{")))[
            "brokerid"]

    def wait_for_isr(self, topic: str, size: int, timeout: float = 60) -> None:
        """Until every live broker's metadata shows each partition of `topic` with an ISR of
        `size`: a broker may not have heard of a topic just created yet, and a client that
        asks it then (librdkafka's watermark query does not retry) fails."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = [port for i, port in self.ports.items() if self.processes[i].poll() is None]
            if all(self.isr_sizes(port, topic) == {size} for port in live):
                return
            time.sleep(0.2)
        raise SystemExit(f"{topic}: ISR never reached {size} in every broker's metadata")

    def isr_sizes(self, port: int, topic: str) -> set[int]:
        """The ISR sizes of the topic's partitions in one broker's metadata (empty when it
        does not know the topic)."""
        described = subprocess.run([self.ferry, "topics", "--bootstrap-server",
                                    f"127.0.0.1:{port}", "--describe", "--topic", topic],
                                   capture_output=True, text=True)
        out = described.stdout if described.returncode == 0 else ""
        return {len(line.split("Isr:")[1].strip().split(","))
                for line in out.splitlines() if "Isr:" in line}

    def stop(self) -> None:
        for i, p in self.processes.items():
            if p.poll() is not None and i not in self.signalled:
                tail = (self.workdir / f"broker{i}.log").read_text(errors="replace")[-3000:]
                print(f"broker {i} had exited ({p.returncode}); its log ends:\n{tail}")
            p.terminate()
        for p in self.processes.values():
            p.wait(60)
        self.keeper.terminate()
        self.keeper.wait(30)


class Acks(threading.Thread):
    """An idempotent acks=all producer sending a record every millisecond; keeps, for each
    acknowledged record, when it was sent and when its acknowledgement arrived."""

    def __init__(self, bootstrap: str, topic: str, partition: int) -> None:
        super().__init__(daemon=True)
        from confluent_kafka import Producer
        self.producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                                  "acks": "all", "linger.ms": 0, "message.timeout.ms": 60000})
        self.topic, self.partition, self.running, self.acked = topic, partition, True, []

    def run(self) -> None:
        def done(error, message) -> None:
            if error is None:
                sent = float(message.value().decode())
                self.acked.append((sent, time.monotonic()))
        while self.running:
            sent = f"{time.monotonic():.6f}".encode()
            self.producer.produce(self.topic, sent, partition=self.partition, on_delivery=done)
            self.producer.poll(0.001)
        self.producer.flush(60)

    def first_after(self, moment: float, timeout: float = 60) -> float:
        """From `moment` to the acknowledgement of the first record sent after it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [acked for sent, acked in list(self.acked) if sent > moment]
            if later:
                return min(later) - moment
            time.sleep(0.01)
        return float("nan")

    def longest_stall(self, moment: float, within: float = 30) -> float:
        """The longest time without any acknowledgement from `moment` on (at most `within`)."""
        times = sorted(acked for _, acked in list(self.acked)
                       if moment <= acked <= moment + within)
        points = [moment, *times]
        return max((b - a for a, b in zip(points, points[1:])), default=float("nan"))


def failover(cluster: Cluster, how: str, controller: bool = False) -> None:
    """`how` (sigterm, kill9) the leader of a partition; with `controller`, a partition the
    controller leads (kill -9 of the controller's broker), otherwise one it does not."""
    topic = f"failover-{how}{'-controller' if controller else ''}"
    run(cluster.ferry, "topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic",
        topic, "--partitions", "3", "--replication-factor", "3")
    cluster.wait_for_isr(topic, 3)
    the_controller = cluster.controller()
    chosen = [p for p in range(3)
              if (cluster.leader_of(topic, p) == the_controller) == controller]
    if not chosen:
        print(f"failover, {how}: no partition led by {'' if controller else 'a non-'}"
              f"controller broker; skipped")
        return
    partition = chosen[0]
    acks = Acks(cluster.bootstrap, topic, partition)
    acks.start()
    time.sleep(2)
    leader = cluster.leader_of(topic, partition)
    sent = time.monotonic()
    cluster.signalled.add(leader)
    cluster.processes[leader].send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
    gap = acks.first_after(sent)
    time.sleep(2)
    stall = acks.longest_stall(sent)
    whose = "the controller's broker" if controller else "a broker (not the controller)"
    print(f"failover, {how} of {whose} leading the partition: first record sent after the "
          f"signal acknowledged {gap:.2f} s after it; longest time without acknowledgements "
          f"{stall:.2f} s")
    cluster.processes[leader].wait(60)
    acks.running = False
    acks.join(90)
    cluster.start(leader)
    wait_for_broker(cluster.ports[leader], timeout=120)
    cluster.wait_for_isr(topic, 3, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000, help="100-byte records")
    parser.add_argument("--kib-records", type=int, default=300_000, help="1 KiB records")
    parser.add_argument("--latency-runs", type=int, default=2)
    parser.add_argument("--ferry", default=str(TARGET / "release" / "ferry"))
    parser.add_argument("--failover-only", action="store_true")
    args = parser.parse_args()
    if args.failover_only:
        workdir = Path(tempfile.mkdtemp(prefix="ferry-bench-cluster-"))
        cluster = Cluster(args.ferry, workdir)
        try:
            failover(cluster, "sigterm")
            failover(cluster, "kill9")
            failover(cluster, "kill9", controller=True)
        finally:
            cluster.stop()
            shutil.rmtree(workdir, ignore_errors=True)
        return
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path",
                    str(LOAD_DIR / "Cargo.toml")], check=True)
    load = str(LOAD_DIR / "target" / "release" / "rdkafka-load")
    print(f"binary: {args.ferry}; load client: {run(load, 'version')}")

    print("== one broker (ferry standalone), acks=1")
    workdir = Path(tempfile.mkdtemp(prefix="ferry-bench-single-"))
    port, keeper_port = free_port(), free_port()
    single = subprocess.Popen([args.ferry, "standalone", "--data-dir", str(workdir),
                               "--keeper-port", str(keeper_port), "--broker-port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_broker(port)
        bootstrap = f"127.0.0.1:{port}"
        for size, records in [(100, args.records), (1024, args.kib_records)]:
            ferry_perf_throughput(args.ferry, bootstrap, f"perf-{size}", records, size)
            rdkafka_throughput(args.ferry, load, bootstrap, f"rdkafka-{size}", records, size)
    finally:
        single.terminate()
        single.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)

    print("== three brokers, replication factor 3, acks=all")
    workdir = Path(tempfile.mkdtemp(prefix="ferry-bench-cluster-"))
    cluster = Cluster(args.ferry, workdir)
    try:
        bootstrap = cluster.bootstrap
        print(f"idle RSS per broker: " + ", ".join(
            f"{rss_mib(p.pid):.1f} MiB" for p in cluster.processes.values()))
        peaks = [PeakRss(p.pid) for p in cluster.processes.values()]
        for peak in peaks:
            peak.start()
        create_topic(args.ferry, bootstrap, "latency", 3)
        cluster.wait_for_isr("latency", 3)
        run(load, "latency", bootstrap, "latency", "20000", "3", "all")
        leader = cluster.leader_of("latency")
        print("-- end-to-end latency, 50,000 records/s, acks=all, from the intended send time "
              f"(leader: broker {leader})")
        latency_runs(args.ferry, load, bootstrap, BrokerMetrics(cluster.http_ports[leader]),
                     args.latency_runs)
        print("-- throughput, one partition, replication factor 3, acks=all")
        for size, records in [(100, args.records), (1024, args.kib_records)]:
            ferry_perf_throughput(args.ferry, bootstrap, f"perf-{size}", records, size,
                                  acks="all", replication_factor=3)
            rdkafka_throughput(args.ferry, load, bootstrap, f"rdkafka-{size}", records, size,
                               acks="all", replication_factor=3)
        for peak in peaks:
            peak.running = False
        print("peak RSS per broker: " + ", ".join(f"{p.peak:.1f} MiB" for p in peaks))
        print("-- failover")
        failover(cluster, "sigterm")
        failover(cluster, "kill9")
        failover(cluster, "kill9", controller=True)
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
