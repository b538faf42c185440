#!/usr/bin/env python3
"""Soak: a mixed keeper and broker load on one `ferry standalone` (release build) for
`--minutes` (default 10), printing the process's resident memory over time. Memory should be
flat after warm-up: the summary compares the peak after the first quarter with the value at
the end of that quarter.

The load, all at once:
- keeper: a kazoo client keeps ~2,000 requests/s going (creates of sequential znodes, reads,
  setData on a fixed set, deletes that keep the tree near 5,000 znodes, one-shot watches), and
  a fresh session is opened and closed every 2 s;
- broker: `ferry perf produce` at 20,000 records/s of 200 bytes (acks=all) into a topic with
  64 MiB segments and 256 MiB retention (so retention deletes segments throughout), and a
  confluent-kafka consumer in a group committing its offsets every second.

    cargo build --release -p ferry && python3 benchmarks/soak.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer
from kazoo.client import KazooClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from broker_bench import TARGET, free_port, rss_mib, run, wait_for_broker  # noqa: E402


def keeper_load(hosts: str, stop: threading.Event, counts: dict) -> None:
    zk = KazooClient(hosts=hosts, timeout=15)
    zk.start(timeout=30)
    zk.ensure_path("/soak/fixed")
    zk.ensure_path("/soak/seq")
    fixed = [f"/soak/fixed/n{i}" for i in range(1000)]
    for path in fixed:
        if not zk.exists(path):
            zk.create(path, b"0")
    created: list[str] = []
    i = 0
    while not stop.is_set():
        started = time.monotonic()
        pending = []
        for _ in range(200):  # ~2,000 requests/s in 10 rounds of 200
            i += 1
            kind = i % 5
            if kind == 0:
                pending.append(("create", zk.create_async("/soak/seq/e", b"x" * 100,
                                                          sequence=True)))
            elif kind == 1:
                pending.append(("set", zk.set_async(fixed[i % 1000], b"%d" % i)))
            elif kind == 2 and len(created) > 5000:
                pending.append(("delete", zk.delete_async(created.pop(0))))
            elif kind == 3:
                pending.append(("watch", zk.get_async(fixed[(i * 7) % 1000],
                                                      watch=lambda _e: None)))
            else:
                pending.append(("get", zk.get_async(fixed[(i * 13) % 1000])))
        for kind, result in pending:
            value = result.get(timeout=30)
            if kind == "create":
                created.append(value)
            counts["keeper"] += 1
        time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
    zk.stop()
    zk.close()


def session_churn(hosts: str, stop: threading.Event, counts: dict) -> None:
    while not stop.wait(2):
        zk = KazooClient(hosts=hosts, timeout=15)
        zk.start(timeout=30)
        zk.create("/soak/churn-", ephemeral=True, sequence=True, makepath=True)
        zk.stop()
        zk.close()
        counts["sessions"] += 1


def consumer_load(bootstrap: str, topic: str, stop: threading.Event, counts: dict) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "soak",
                         "auto.offset.reset": "earliest", "auto.commit.interval.ms": 1000})
    consumer.subscribe([topic])
    while not stop.is_set():
        for message in consumer.consume(num_messages=10_000, timeout=0.5):
            if message.error() is None:
                counts["consumed"] += 1
    consumer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--ferry", default=str(TARGET / "release" / "ferry"))
    args = parser.parse_args()
    seconds = args.minutes * 60
    workdir = Path(tempfile.mkdtemp(prefix="ferry-soak-"))
    keeper_port, broker_port = free_port(), free_port()
    server = subprocess.Popen(
        [args.ferry, "standalone", "--data-dir", str(workdir), "--keeper-port", str(keeper_port),
         "--broker-port", str(broker_port), "--override", "log.retention.check.interval.ms=10000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bootstrap, hosts = f"127.0.0.1:{broker_port}", f"127.0.0.1:{keeper_port}"
    stop = threading.Event()
    counts = {"keeper": 0, "sessions": 0, "consumed": 0}
    try:
        wait_for_broker(broker_port)
        run(args.ferry, "topics", "--bootstrap-server", bootstrap, "--create", "--topic", "soak",
            "--partitions", "1", "--config", "segment.bytes=67108864",
            "--config", "retention.bytes=268435456")
        rate = 20_000
        producer = subprocess.Popen(
            [args.ferry, "perf", "produce", "--bootstrap-server", bootstrap, "--topic", "soak",
             "--num-records", str(int(rate * seconds)), "--record-size", "200",
             "--throughput", str(rate), "--producer-props", "acks=all"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threads = [threading.Thread(target=f, args=a, daemon=True) for f, a in [
            (keeper_load, (hosts, stop, counts)),
            (session_churn, (hosts, stop, counts)),
            (consumer_load, (bootstrap, "soak", stop, counts)),
        ]]
        for thread in threads:
            thread.start()
        start = time.monotonic()
        samples: list[tuple[float, float]] = []
        print(f"{'minute':>7} {'RSS MiB':>8} {'keeper ops':>11} {'sessions':>9} {'consumed':>10}")
        while time.monotonic() - start < seconds:
            time.sleep(15)
            elapsed = time.monotonic() - start
            rss = rss_mib(server.pid)
            samples.append((elapsed, rss))
            print(f"{elapsed / 60:7.2f} {rss:8.1f} {counts['keeper']:11,} "
                  f"{counts['sessions']:9,} {counts['consumed']:10,}", flush=True)
            if server.poll() is not None:
                sys.exit("the server died")
        stop.set()
        for thread in threads:
            thread.join(60)
        producer.wait(60)
        if producer.returncode != 0:
            print(f"producer ended with {producer.returncode}: {producer.stderr.read()[-500:]}")
        warm = [rss for t, rss in samples if t <= seconds / 4]
        later = [rss for t, rss in samples if t > seconds / 4]
        if warm and later:
            print(f"after warm-up ({seconds / 240:.1f} min): {warm[-1]:.1f} MiB; afterwards "
                  f"min {min(later):.1f}, max {max(later):.1f}, last {later[-1]:.1f} MiB")
    finally:
        stop.set()
        server.terminate()
        server.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
