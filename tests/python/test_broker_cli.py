"""`ferry broker start|stop` as an operator uses them: without `--foreground` the broker
daemonizes (as `ferry keeper start` does), writes its pid file `kafka_server.pid` in the first
log.dirs directory and answers on its port; `stop` ends the process and removes the pid file; a
bad server.properties value is an error naming the key."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from servers import FERRY_BIN, four_letter_word, free_port, wait_until


def ferry(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run([str(FERRY_BIN), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def keeper(tmp_path):
    """A foreground `ferry keeper` on a free port; yields its port."""
    port = free_port()
    directory = tmp_path / "keeper"
    directory.mkdir()
    config = directory / "zoo.cfg"
    config.write_text(
        f"tickTime=2000\ndataDir={directory / 'data'}\nclientPort={port}\n"
        f"clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
        f"4lw.commands.whitelist=ruok\n")
    process = subprocess.Popen([str(FERRY_BIN), "keeper", "start", "--foreground", "--config",
                                str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: four_letter_word("127.0.0.1", port, "ruok") == "imok", timeout=30,
                   what="the keeper to serve")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_properties(directory: Path, port: int, keeper_port: int, extra: str = "") -> Path:
    config = directory / "server.properties"
    config.write_text(
        f"broker.id=0\nlisteners=PLAINTEXT://127.0.0.1:{port}\n"
        f"log.dirs={directory / 'kafka-logs'}\n"
        f"zookeeper.connect=127.0.0.1:{keeper_port}\n{extra}")
    return config


def test_daemon_start_stop(tmp_path, keeper):
    port = free_port()
    config = write_properties(tmp_path, port, keeper)
    started = ferry("broker", "start", "--config", str(config))
    assert started.returncode == 0, started.stdout + started.stderr
    assert "STARTED" in started.stdout
    pid_file = tmp_path / "kafka-logs" / "kafka_server.pid"
    pid = int(pid_file.read_text())
    try:
        assert pid_alive(pid)
        assert port_answers(port)
        assert (tmp_path / "kafka-logs" / "ferry-broker.out").exists()
        again = ferry("broker", "start", "--config", str(config))
        assert again.returncode != 0 and "already running" in again.stdout
    finally:
        stopped = ferry("broker", "stop", "--config", str(config))
    assert stopped.returncode == 0 and "STOPPED" in stopped.stdout, stopped.stdout
    wait_until(lambda: not pid_alive(pid), timeout=10, what="the broker to exit")
    assert not pid_file.exists()
    assert not port_answers(port)
    again = ferry("broker", "stop", "--config", str(config))
    assert again.returncode != 0 and "no broker to stop" in again.stdout


def test_override_applies_to_the_daemon(tmp_path, keeper):
    port = free_port()
    config = write_properties(tmp_path, free_port(), keeper)
    started = ferry("broker", "start", "--config", str(config), "--override",
                    f"listeners=PLAINTEXT://127.0.0.1:{port}")
    assert started.returncode == 0, started.stdout + started.stderr
    pid = int((tmp_path / "kafka-logs" / "kafka_server.pid").read_text())
    try:
        assert port_answers(port)
    finally:
        stopped = ferry("broker", "stop", "--config", str(config))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    wait_until(lambda: not pid_alive(pid), timeout=10, what="the broker to exit")


def test_invalid_value_names_the_key(tmp_path):
    config = write_properties(tmp_path, free_port(), free_port(), "num.partitions=many\n")
    for extra in ([], ["--foreground"]):
        result = ferry("broker", "start", *extra, "--config", str(config))
        assert result.returncode != 0
        assert "num.partitions" in result.stderr and "many" in result.stderr
    assert not (tmp_path / "kafka-logs" / "kafka_server.pid").exists()
