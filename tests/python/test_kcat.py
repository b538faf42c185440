"""kcat (librdkafka 2.0.2 as Debian ships it) against `ferry standalone`: produce keyed messages,
consume them back, every message exactly once and in order.

librdkafka is the reference client here because it negotiates versions with ApiVersions (and
2.0.2 misreads responses with non-default tagged fields), then uses Metadata, Produce, ListOffsets
and Fetch exactly as log shippers built on it do.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from servers import FERRY_BIN, free_port, wait_until

KCAT = shutil.which("kcat") or shutil.which("kafkacat")

pytestmark = pytest.mark.skipif(KCAT is None, reason="kcat/kafkacat not installed (apt-get install kafkacat)")


@pytest.fixture
def standalone(tmp_path: Path):
    """A running `ferry standalone` on free ports; yields the broker's host:port."""
    keeper_port, broker_port = free_port(), free_port()
    log_path = tmp_path / "standalone.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(FERRY_BIN), "standalone", "--data-dir", str(tmp_path / "data"),
             "--keeper-port", str(keeper_port), "--broker-port", str(broker_port)],
            stdout=log, stderr=subprocess.STDOUT)
    bootstrap = f"127.0.0.1:{broker_port}"
    try:
        wait_until(lambda: process.poll() is None and kcat("-L", "-b", bootstrap, "-m", "2").returncode == 0,
                   timeout=30, what="ferry standalone to serve Metadata")
        yield bootstrap
    except BaseException:
        print(log_path.read_text(errors="replace")[-5000:])
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, log_path.read_text(errors="replace")[-5000:]


def kcat(*args: str, input: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([KCAT, *args], input=input, capture_output=True, text=True, timeout=timeout)


def test_produce_then_consume_in_order(standalone: str) -> None:
    n = 500
    sent = [f"key{i}:value {i}" for i in range(n)]
    produced = kcat("-P", "-b", standalone, "-t", "orders", "-K:", input="\n".join(sent) + "\n")
    assert produced.returncode == 0, produced.stderr

    consumed = kcat("-C", "-b", standalone, "-t", "orders", "-o", "beginning", "-e",
                    "-f", "%k:%s\n")
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == sent


def test_consume_from_offset_and_metadata(standalone: str) -> None:
    produced = kcat("-P", "-b", standalone, "-t", "small", "-K:", input="a:1\nb:2\nc:3\n")
    assert produced.returncode == 0, produced.stderr
    tail = kcat("-C", "-b", standalone, "-t", "small", "-o", "1", "-e", "-f", "%o %k:%s\n")
    assert tail.stdout.splitlines() == ["1 b:2", "2 c:3"], tail.stderr
    listing = kcat("-L", "-b", standalone, "-t", "small")
    assert 'topic "small" with 1 partitions' in listing.stdout, listing.stdout
    assert "leader 0, replicas: 0, isrs: 0" in listing.stdout, listing.stdout
