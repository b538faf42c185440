"""`ferry keeper start|status|stop` as an operator uses them: the daemon writes its pid file in
dataDir, `status` prints zkServer.sh's `Mode:` line, `stop` ends the process; a bad zoo.cfg is
a clear error naming the key."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from servers import FERRY_BIN, four_letter_word, free_port, wait_until


def ferry(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run([str(FERRY_BIN), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def write_config(directory: Path, port: int, extra: str = "") -> Path:
    config = directory / "zoo.cfg"
    config.write_text(
        f"tickTime=2000\ndataDir={directory / 'data'}\nclientPort={port}\n"
        f"clientPortAddress=127.0.0.1\nadmin.enableServer=false\n{extra}")
    return config


def pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_daemon_start_status_stop(tmp_path):
    port = free_port()
    config = write_config(tmp_path, port, "4lw.commands.whitelist=srvr,ruok\n")
    started = ferry("keeper", "start", "--config", str(config))
    assert started.returncode == 0, started.stdout + started.stderr
    assert "STARTED" in started.stdout
    pid_file = tmp_path / "data" / "zookeeper_server.pid"
    pid = int(pid_file.read_text())
    try:
        assert four_letter_word("127.0.0.1", port, "ruok") == "imok"
        status = ferry("keeper", "status", "--config", str(config))
        assert status.returncode == 0, status.stdout + status.stderr
        assert "Mode: standalone" in status.stdout
        again = ferry("keeper", "start", "--config", str(config))
        assert again.returncode != 0 and "already running" in again.stdout
    finally:
        stopped = ferry("keeper", "stop", "--config", str(config))
    assert stopped.returncode == 0 and "STOPPED" in stopped.stdout, stopped.stdout
    wait_until(lambda: not pid_alive(pid), timeout=10, what="the keeper to exit")
    assert not pid_file.exists()
    status = ferry("keeper", "status", "--config", str(config))
    assert status.returncode != 0
    assert "probably not running" in status.stdout


def test_invalid_values_name_the_key_and_unknown_keys_only_warn(tmp_path):
    bad = write_config(tmp_path, free_port(), "maxClientCnxns=lots\n")
    result = ferry("keeper", "start", "--foreground", "--config", str(bad))
    assert result.returncode != 0
    assert "maxClientCnxns" in result.stderr and "lots" in result.stderr

    port = free_port()
    odd = write_config(tmp_path, port, "someFutureKey=1\n4lw.commands.whitelist=ruok\n")
    process = subprocess.Popen([str(FERRY_BIN), "keeper", "start", "--foreground", "--config",
                                str(odd)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        wait_until(lambda: four_letter_word("127.0.0.1", port, "ruok") == "imok", timeout=30,
                   what="the keeper to serve")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "unknown zoo.cfg key" in stderr and "someFutureKey" in stderr


def test_missing_config_file_is_a_clear_error(tmp_path):
    result = ferry("keeper", "start", "--foreground", "--config", str(tmp_path / "nope.cfg"))
    assert result.returncode != 0
    assert "nope.cfg" in result.stderr


def test_an_ensemble_server_without_its_myid_is_a_clear_error(tmp_path):
    port = free_port()
    config = write_config(tmp_path, port, "server.1=127.0.0.1:2888:3888\n"
                          "server.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n")
    result = ferry("keeper", "start", "--foreground", "--config", str(config), timeout=30)
    assert result.returncode != 0
    assert "myid is missing" in result.stderr, result.stderr
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "myid").write_text("7\n")
    result = ferry("keeper", "start", "--foreground", "--config", str(config), timeout=30)
    assert result.returncode != 0
    assert "no server.7 line" in result.stderr, result.stderr


def test_repair_log_cuts_a_corrupt_middle_record_the_keeper_refused(tmp_path):
    """A corrupt record with entries after it stops the keeper with a clear error naming the
    file and offset; `repair-log` cuts there explicitly, and the keeper starts again."""
    port = free_port()
    config = write_config(tmp_path, port, "4lw.commands.whitelist=ruok\n")
    started = ferry("keeper", "start", "--config", str(config))
    assert started.returncode == 0, started.stderr
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=f"127.0.0.1:{port}")
    zk.start(timeout=20)
    for i in range(50):
        zk.create(f"/n{i}", b"x" * 100)
    zk.stop()
    zk.close()
    assert ferry("keeper", "stop", "--config", str(config)).returncode == 0
    segments = sorted((tmp_path / "data").rglob("log.*"))
    assert segments, "no raft log segment"
    segment = segments[0]
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    refused = ferry("keeper", "start", "--foreground", "--config", str(config), timeout=30)
    assert refused.returncode != 0
    assert str(segment) in refused.stderr and "repair-log" in refused.stderr, refused.stderr
    repaired = ferry("keeper", "repair-log", "--config", str(config))
    assert repaired.returncode == 0 and "repaired" in repaired.stdout, repaired.stderr
    started = ferry("keeper", "start", "--config", str(config))
    assert started.returncode == 0, started.stderr
    try:
        wait_until(lambda: four_letter_word("127.0.0.1", port, "ruok") == "imok", 20,
                   what="the repaired keeper to serve")
    finally:
        ferry("keeper", "stop", "--config", str(config))
