#!/usr/bin/env python3
"""The broker's figures, measured in one invocation against one `ferry standalone` (release
build, fresh data directory, free ports) by two clients side by side:

- `ferry perf` (ferry's own Rust client): produce and consume throughput, and end-to-end
  latency (`ferry perf end-to-end`);
- `rdkafka-load` (benchmarks/rdkafka-load: librdkafka through the rdkafka crate, none of
  ferry's code, client defaults unless named): produce throughput and end-to-end latency.

Latency: acks=all, linger.ms=0, 100-byte records, one partition, 50,000 records/s for 10 s,
measured from each record's *intended* send time (start + i / rate) to its receipt by a
consumer in the same process, so a producer held up by the broker counts in full. Each latency
line also shows the broker's own time for those Produce requests (from its `/metrics` page:
last byte read to last byte of the answer written) and the loopback TCP loss probes and
retransmissions the kernel made during the run (`nstat`): on the virtual machines these
figures come from, a run that the kernel's retransmission timer hits shows a 200-600 ms stall
that no user-space change removes. The first line is the machine's own wake-up latency (how
late a 100 us sleep returns), the floor under every figure here.

Throughput: acks=1, one partition, 100-byte and 1 KiB records, 300 MB per run; each run
starts after a sync(2), so it does not pay for its predecessor's write-back. A broker writes
into the page cache, so a run stays at memory speed only while the kernel lets dirty pages
accumulate; past that it goes at the disk's speed, which the header line measures (dd with
fdatasync): on the machines these figures come from, ~60 MB/s. Resident memory idle and at
peak.
Figures only; nothing here passes or fails.

    cargo build --release -p ferry && python3 benchmarks/broker_bench.py
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
LOAD_DIR = REPO / "benchmarks" / "rdkafka-load"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakRss(threading.Thread):
    """Samples a process's RSS every 50 ms and keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.05)


def wait_for_broker(port: int, timeout: float = 30) -> None:
    body = struct.pack(">hhih", 18, 0, 1, 5) + b"bench"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(struct.pack(">i", len(body)) + body)
                if len(s.recv(16)) >= 10:
                    return
        except OSError:
            time.sleep(0.05)
    sys.exit("the broker did not start")


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def wake_up_latency() -> str:
    """How late a 100 us sleep returns on this machine (20,000 sleeps)."""
    late = []
    for _ in range(20_000):
        start = time.perf_counter()
        time.sleep(0.0001)
        late.append((time.perf_counter() - start - 0.0001) * 1000)
    late.sort()
    at = lambda p: late[min(len(late) - 1, int(len(late) * p / 100))]  # noqa: E731
    return (f"p50 {at(50):.2f} ms, p99 {at(99):.2f} ms, p99.9 {at(99.9):.2f} ms, "
            f"max {late[-1]:.2f} ms")


def disk_write_speed(directory: Path) -> str:
    """dd of 512 MiB with fdatasync into `directory`."""
    target = directory / "dd-probe"
    out = subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=1M", "count=512",
                          "conv=fdatasync"], capture_output=True, text=True).stderr
    target.unlink(missing_ok=True)
    return out.strip().splitlines()[-1] if out.strip() else "dd failed"


def tcp_counters() -> dict[str, int]:
    """The kernel's TCP loss-probe and retransmission counters (absolute)."""
    try:
        out = subprocess.run(["nstat", "-az", "TcpRetransSegs", "TcpExtTCPLossProbes"],
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        return {}
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)", out, re.M)}


class BrokerMetrics:
    """The broker's Produce request times, from its Prometheus page."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"

    def produce_buckets(self) -> dict[str, int]:
        text = urllib.request.urlopen(self.url, timeout=5).read().decode()
        pattern = r'kafka_network_requestmetrics_totaltimems_bucket\{request="Produce",le="([^"]+)"\} (\d+)'
        return {le: int(n) for le, n in re.findall(pattern, text)}


def produce_time_between(before: dict[str, int], after: dict[str, int]) -> str:
    """The broker-side p99 and p99.9 bucket bounds of the Produce requests in between."""
    delta = {le: after.get(le, 0) - before.get(le, 0) for le in after}
    total = delta.get("+Inf", 0)
    if total == 0:
        return "no produce requests"

    def bound(p: float) -> str:
        for le, n in delta.items():
            if n >= total * p / 100:
                return f"<= {le} ms"
        return "+Inf"
    return f"{total:,} requests, p99 {bound(99)}, p99.9 {bound(99.9)}"


def latency_runs(ferry: str, load: str, bootstrap: str, metrics: BrokerMetrics, runs: int) -> None:
    rate, seconds = 50_000, 10
    for i in range(runs):
        for name, command in [
            ("rdkafka-load", [load, "latency", bootstrap, "latency", str(rate), str(seconds), "all"]),
            ("ferry perf", [ferry, "perf", "end-to-end", "--bootstrap-server", bootstrap,
                            "--topic", "latency", "--num-records", str(rate * seconds),
                            "--throughput", str(rate), "--producer-props", "acks=all"]),
        ]:
            before, tcp_before = metrics.produce_buckets(), tcp_counters()
            out = run(*command)
            after, tcp_after = metrics.produce_buckets(), tcp_counters()
            tcp = ", ".join(f"{k} +{tcp_after[k] - tcp_before.get(k, 0)}" for k in tcp_after)
            for line in out.splitlines():
                print(f"[run {i + 1}] {name}: {line}")
            print(f"[run {i + 1}]   broker Produce time: {produce_time_between(before, after)}; "
                  f"kernel: {tcp or 'nstat not available'}")


def create_topic(ferry: str, bootstrap: str, topic: str, replication_factor: int = 1) -> None:
    """One partition, `replication_factor` replicas."""
    run(ferry, "topics", "--bootstrap-server", bootstrap, "--create", "--topic", topic,
        "--partitions", "1", "--replication-factor", str(replication_factor))


def settle() -> None:
    """Gives every throughput run the same start: what earlier runs wrote is on disk, and (as
    root) the page cache they filled is dropped, so that a run is not slowed by the writeback
    and page reclaim of the runs before it (on this machine that alone halved the last runs of
    an invocation)."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    except OSError:
        pass  # not root: synced only
    time.sleep(1)


def ferry_perf_throughput(ferry: str, bootstrap: str, topic: str, records: int, size: int,
                          acks: str = "1", replication_factor: int = 1) -> None:
    create_topic(ferry, bootstrap, topic, replication_factor)
    settle()
    produced = run(ferry, "perf", "produce", "--bootstrap-server", bootstrap, "--topic", topic,
                   "--num-records", str(records), "--record-size", str(size), "--throughput",
                   "-1", "--producer-props", f"acks={acks}")
    print(f"ferry perf produce {size} B, acks={acks}: {produced.splitlines()[-1]}")
    consumed = run(ferry, "perf", "consume", "--bootstrap-server", bootstrap, "--topic", topic,
                   "--messages", str(records))
    header, figures = consumed.splitlines()[-2:]
    named = dict(zip((h.strip() for h in header.split(",")),
                     (f.strip() for f in figures.split(","))))
    print(f"ferry perf consume {size} B: {float(named['nMsg.sec']):,.0f} records/s "
          f"({float(named['MB.sec']):.1f} MB/s)")


def rdkafka_throughput(ferry: str, load: str, bootstrap: str, topic: str, records: int,
                       size: int, acks: str = "1", replication_factor: int = 1) -> None:
    create_topic(ferry, bootstrap, topic, replication_factor)
    settle()
    print(run(load, "produce", bootstrap, topic, str(records), str(size), acks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3_000_000, help="100-byte records")
    parser.add_argument("--kib-records", type=int, default=300_000, help="1 KiB records")
    parser.add_argument("--latency-runs", type=int, default=3)
    parser.add_argument("--ferry", default=str(TARGET / "release" / "ferry"))
    args = parser.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path",
                    str(LOAD_DIR / "Cargo.toml")], check=True)
    load = str(LOAD_DIR / "target" / "release" / "rdkafka-load")
    workdir = Path(tempfile.mkdtemp(prefix="ferry-bench-"))
    keeper_port, broker_port, http_port = free_port(), free_port(), free_port()
    broker = subprocess.Popen(
        [args.ferry, "standalone", "--data-dir", str(workdir), "--keeper-port", str(keeper_port),
         "--broker-port", str(broker_port), "--override", f"ferry.http.port={http_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bootstrap = f"127.0.0.1:{broker_port}"
    print(f"binary: {args.ferry}; load client: {run(load, 'version')}")
    try:
        started = time.perf_counter()
        wait_for_broker(broker_port)
        print(f"ferry standalone ready in {(time.perf_counter() - started) * 1000:.0f} ms")
        print(f"machine wake-up latency (100 us sleeps): {wake_up_latency()}")
        print(f"disk write (dd, 512 MiB, fdatasync): {disk_write_speed(workdir)}")
        time.sleep(1)
        print(f"idle RSS: {rss_mib(broker.pid):.1f} MiB (keeper + broker, one process)")
        peak = PeakRss(broker.pid)
        peak.start()
        # Latency first, before the throughput runs leave gigabytes of dirty pages for the
        # kernel to write back. A warm-up run first: the first records of a fresh broker open
        # the log and, for the consumer's group, create __consumer_offsets.
        create_topic(args.ferry, bootstrap, "latency")
        run(load, "latency", bootstrap, "latency", "20000", "3", "all")
        print("-- end-to-end latency, 50,000 records/s, acks=all, from the intended send time")
        latency_runs(args.ferry, load, bootstrap, BrokerMetrics(http_port), args.latency_runs)
        print("-- throughput, one partition, acks=1")
        ferry_perf_throughput(args.ferry, bootstrap, "perf-small", args.records, 100)
        rdkafka_throughput(args.ferry, load, bootstrap, "rdkafka-small", args.records, 100)
        ferry_perf_throughput(args.ferry, bootstrap, "perf-large", args.kib_records, 1024)
        rdkafka_throughput(args.ferry, load, bootstrap, "rdkafka-large", args.kib_records, 1024)
        peak.running = False
        print(f"peak RSS under load: {peak.peak:.1f} MiB; after: {rss_mib(broker.pid):.1f} MiB")
    finally:
        broker.terminate()
        broker.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
