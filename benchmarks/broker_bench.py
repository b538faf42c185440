#!/usr/bin/env python3
"""The broker's figures, measured with `ferry perf` (our Rust client) and with librdkafka
(confluent-kafka) as the client, against one `ferry standalone` in one invocation.

Starts `ferry standalone` (release build, fresh data directory, free ports) and prints the
lines of `ferry perf produce` / `ferry perf consume` (kafka-producer/consumer-perf-test's
formats) for 100-byte and 1 KiB records, then, with librdkafka:

- producer throughput, one partition, acks=1: 100-byte records (records/s) and 1 KiB records
  (MB/s);
- consumer throughput reading those records back (records/s, MB/s);
- end-to-end latency (produce call -> consumer receives) at a fixed rate of 50,000 records/s:
  p50/p99/p99.9/max (measured first, on a quiet broker);
- the broker process's resident memory: idle after start, and its peak during the runs.

Each throughput run starts after a sync(2), so it does not pay for the previous run's dirty
pages being written back. The librdkafka side is Python over librdkafka: each record costs a Python call, so its
producer and consumer figures are a floor for what the broker sustains. Figures only; nothing
here passes or fails.

    cargo build --release -p ferry && python3 benchmarks/broker_bench.py [--records N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import confluent_kafka
import confluent_kafka.admin

REPO = Path(__file__).resolve().parents[1]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


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


def create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([confluent_kafka.admin.NewTopic(topic, partitions, 1)])[topic].result(30)


def produce(bootstrap: str, topic: str, records: int, size: int) -> tuple[float, float]:
    """Produces `records` values of `size` bytes as fast as librdkafka takes them; returns
    (records/s, MB/s) from the first call to the last acknowledgement."""
    producer = confluent_kafka.Producer({
        "bootstrap.servers": bootstrap, "acks": 1, "enable.idempotence": False,
        "linger.ms": 5, "batch.size": 1_000_000, "queue.buffering.max.messages": 2_000_000,
        "queue.buffering.max.kbytes": 2_000_000, "compression.type": "none",
    })
    value = b"x" * size
    failed = []

    def report(error, _message) -> None:
        if error is not None:
            failed.append(error)

    start = time.perf_counter()
    produce_one = producer.produce
    for _ in range(records):
        while True:
            try:
                produce_one(topic, value, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.001)
    producer.flush(120)
    elapsed = time.perf_counter() - start
    if failed:
        sys.exit(f"{len(failed)} deliveries failed, e.g. {failed[0]}")
    return records / elapsed, records * size / elapsed / 1e6


def consume(bootstrap: str, topic: str, records: int) -> tuple[float, float]:
    """Reads `records` records from offset 0; the clock runs from the assignment on."""
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"bench-{time.monotonic_ns()}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "fetch.max.bytes": 52_428_800, "max.partition.fetch.bytes": 10_485_760,
        "queued.min.messages": 1_000_000,
    })
    consumer.list_topics(topic, timeout=10)  # connected before the clock starts
    got = total_bytes = 0
    start = time.perf_counter()
    consumer.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
    while got < records:
        # Never more than remain: consume() waits for the full count or the timeout.
        batch = consumer.consume(num_messages=min(10_000, records - got), timeout=5)
        if not batch:
            sys.exit(f"consumer stalled after {got} records")
        for message in batch:
            if message.error() is None:
                got += 1
                total_bytes += len(message.value())
    elapsed = time.perf_counter() - start
    consumer.close()
    return got / elapsed, total_bytes / elapsed / 1e6


def receive_latencies(bootstrap: str, topic: str, expected: int, ready, results) -> None:
    """In its own process (the producer's pacing loop must not hold this one's GIL): consumes
    `expected` records stamped with CLOCK_MONOTONIC (system-wide) and returns the latencies."""
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"e2e-{time.monotonic_ns()}",
        "enable.auto.commit": False, "fetch.wait.max.ms": 100, "fetch.min.bytes": 1,
    })
    consumer.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
    consumer.consume(num_messages=1, timeout=0.5)  # fetching before the producer starts
    ready.set()
    latencies: list[float] = []
    deadline = time.monotonic() + 120
    while len(latencies) < expected and time.monotonic() < deadline:
        # poll, not consume(n): consume waits for n messages, which would be the latency.
        message = consumer.poll(0.2)
        if message is not None and message.error() is None:
            sent = struct.unpack(">d", message.value()[:8])[0]
            latencies.append((time.monotonic() - sent) * 1000)
    consumer.close()
    results.put(sorted(latencies))


def end_to_end(bootstrap: str, topic: str, rate: int, seconds: float) -> list[float]:
    """Latencies (ms) from the produce call to the consumer's receipt, at `rate` records/s."""
    expected = int(rate * seconds)
    context = multiprocessing.get_context("spawn")
    ready, results = context.Event(), context.Queue()
    receiver = context.Process(target=receive_latencies,
                               args=(bootstrap, topic, expected, ready, results))
    receiver.start()
    ready.wait(30)
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": 1,
                                         "linger.ms": 0, "enable.idempotence": False})
    padding = b"x" * 92
    # Paced in 1 ms ticks (rate/1000 records each), sleeping between ticks: a busy-wait would
    # take a whole core from the broker on this 2-core machine and show up as latency.
    per_tick = max(1, rate // 1000)
    start = time.monotonic()
    for i in range(0, expected, per_tick):
        ahead = start + i / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        for _ in range(min(per_tick, expected - i)):
            producer.produce(topic, struct.pack(">d", time.monotonic()) + padding)
        producer.poll(0)
    producer.flush(30)
    latencies = results.get(timeout=150)
    receiver.join(30)
    return latencies


def settle() -> None:
    """Writes back the dirty pages earlier runs left, so that each run starts from the same
    state instead of paying for its predecessor's write-back (gigabytes of it here)."""
    os.sync()


def ferry_perf(ferry: str, bootstrap: str, topic: str, records: int, size: int) -> None:
    """`ferry perf produce` then `ferry perf consume` on a fresh one-partition topic."""
    create_topic(bootstrap, topic)
    settle()
    produced = subprocess.run(
        [ferry, "perf", "produce", "--bootstrap-server", bootstrap, "--topic", topic,
         "--num-records", str(records), "--record-size", str(size), "--throughput", "-1",
         "--producer-props", "acks=1"], capture_output=True, text=True, check=True)
    print(f"ferry perf produce {size} B: {produced.stdout.strip().splitlines()[-1]}")
    consumed = subprocess.run(
        [ferry, "perf", "consume", "--bootstrap-server", bootstrap, "--topic", topic,
         "--messages", str(records)], capture_output=True, text=True, check=True)
    header, figures = consumed.stdout.strip().splitlines()[-2:]
    named = dict(zip((h.strip() for h in header.split(",")), (f.strip() for f in figures.split(","))))
    print(f"ferry perf consume {size} B: {float(named['nMsg.sec']):,.0f} records/s "
          f"({float(named['MB.sec']):.1f} MB/s)")


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000,
                        help="100-byte records (twice as many for ferry perf)")
    parser.add_argument("--kib-records", type=int, default=500_000,
                        help="1 KiB records (twice as many for ferry perf)")
    parser.add_argument("--ferry", default=str(TARGET / "release" / "ferry"))
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ferry-bench-"))
    keeper_port, broker_port = free_port(), free_port()
    broker = subprocess.Popen(
        [args.ferry, "standalone", "--data-dir", str(workdir), "--keeper-port", str(keeper_port),
         "--broker-port", str(broker_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bootstrap = f"127.0.0.1:{broker_port}"
    print(f"binary: {args.ferry}")
    try:
        started = time.perf_counter()
        wait_for_broker(broker_port)
        print(f"ferry standalone ready in {(time.perf_counter() - started) * 1000:.0f} ms")
        time.sleep(1)
        print(f"idle RSS: {rss_mib(broker.pid):.1f} MiB (keeper + broker, one process)")
        peak = PeakRss(broker.pid)
        peak.start()
        # Latency first, before the throughput runs leave gigabytes of dirty pages for the
        # kernel to write back (that write-back shows up as latency outliers).
        print("-- librdkafka end-to-end latency")
        create_topic(bootstrap, "latency")
        lat = end_to_end(bootstrap, "latency", 50_000, 10)
        print(f"end-to-end at 50,000 records/s ({len(lat):,} records): "
              f"p50 {percentile(lat, 50):.2f} ms, p99 {percentile(lat, 99):.2f} ms, "
              f"p99.9 {percentile(lat, 99.9):.2f} ms, max {lat[-1] if lat else float('nan'):.2f} ms")
        print("-- ferry perf (Rust client, pipelined requests)")
        ferry_perf(args.ferry, bootstrap, "perf-small", args.records * 2, 100)
        ferry_perf(args.ferry, bootstrap, "perf-large", args.kib_records * 2, 1024)
        print("-- librdkafka (confluent-kafka)")
        create_topic(bootstrap, "small")
        settle()
        rps, mbps = produce(bootstrap, "small", args.records, 100)
        print(f"produce 100 B, 1 partition, acks=1: {rps:,.0f} records/s ({mbps:.1f} MB/s)")
        create_topic(bootstrap, "large")
        settle()
        rps, mbps = produce(bootstrap, "large", args.kib_records, 1024)
        print(f"produce 1 KiB, 1 partition, acks=1: {rps:,.0f} records/s ({mbps:.1f} MB/s)")
        rps, mbps = consume(bootstrap, "small", args.records)
        print(f"consume 100 B: {rps:,.0f} records/s ({mbps:.1f} MB/s)")
        rps, mbps = consume(bootstrap, "large", args.kib_records)
        print(f"consume 1 KiB: {rps:,.0f} records/s ({mbps:.1f} MB/s)")
        peak.running = False
        print(f"peak RSS under load: {peak.peak:.1f} MiB; after: {rss_mib(broker.pid):.1f} MiB")
    finally:
        broker.terminate()
        broker.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
