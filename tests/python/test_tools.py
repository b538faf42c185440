"""The operator's Kafka tools (`ferry topics`, `console-producer`, `console-consumer`, `perf`,
`dump-log`, `configs`, `consumer-groups`) against a ferry broker on both metadata stores,
cross-checked with kcat (librdkafka) and confluent-kafka, which are independent of
ferry-kafka-client.

Tests marked `needs_group_api` / `needs_admin_api` exercise broker APIs (group coordinator,
DeleteTopics, CreatePartitions, Describe/AlterConfigs) that a broker without them answers with
UNSUPPORTED_VERSION; they fail there, by design, rather than being skipped.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from servers import FERRY_BIN, wait_until

KCAT = shutil.which("kcat") or shutil.which("kafkacat")

# Every invocation is bounded: a tool that hangs fails its test.
TOOL_TIMEOUT = 60


def ferry(*args: str, input: str | None = None, timeout: float = TOOL_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([str(FERRY_BIN), *args], input=input, capture_output=True, text=True,
                          timeout=timeout)


def ok(*args: str, input: str | None = None) -> str:
    """Runs a tool that must succeed; returns its stdout."""
    result = ferry(*args, input=input)
    assert result.returncode == 0, f"ferry {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def kcat(*args: str, input: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    assert KCAT is not None, "kcat is not installed"
    return subprocess.run([KCAT, *args], input=input, capture_output=True, text=True, timeout=timeout)


def kcat_partitions(bootstrap: str, topic: str) -> int:
    """The partition count kcat -L reports (0 if the topic is not there). All topics are
    listed: naming the topic would make the broker auto-create it, as Kafka does."""
    listing = kcat("-L", "-b", bootstrap)
    m = re.search(rf'topic "{re.escape(topic)}" with (\d+) partitions', listing.stdout)
    return int(m.group(1)) if m and "Broker: Unknown topic" not in listing.stdout else 0


def kcat_consume(bootstrap: str, topic: str, fmt: str = "%p %o %k=%s\n") -> list[str]:
    consumed = kcat("-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-f", fmt)
    assert consumed.returncode == 0, consumed.stderr
    return consumed.stdout.splitlines()


def create(kafka, topic: str, partitions: int = 1, *extra: str) -> None:
    out = ok("topics", "--bootstrap-server", kafka.bootstrap, "--create", "--topic", topic,
             "--partitions", str(partitions), "--replication-factor", "1", *extra)
    assert out == f"Created topic {topic}.\n"


# ----- topics -------------------------------------------------------------------------------

def test_topics_create_list_describe(kafka, topic_name):
    create(kafka, topic_name, 3)
    assert topic_name in ok("topics", "--bootstrap-server", kafka.bootstrap, "--list").splitlines()
    lines = ok("topics", "--bootstrap-server", kafka.bootstrap, "--describe", "--topic",
               topic_name).splitlines()
    assert re.fullmatch(rf"Topic: {re.escape(topic_name)}\tTopicId: [A-Za-z0-9_-]{{22}}\t"
                        r"PartitionCount: 3\tReplicationFactor: 1\tConfigs: .*", lines[0]), lines[0]
    assert lines[1:] == [f"\tTopic: {topic_name}\tPartition: {p}\tLeader: 0\tReplicas: 0\tIsr: 0"
                         for p in range(3)]
    assert kcat_partitions(kafka.bootstrap, topic_name) == 3


def test_topics_create_existing(kafka, topic_name):
    create(kafka, topic_name)
    again = ferry("topics", "--bootstrap-server", kafka.bootstrap, "--create", "--topic", topic_name,
                  "--partitions", "1")
    assert again.returncode != 0 and "TOPIC_ALREADY_EXISTS" in again.stderr, again.stderr
    quiet = ferry("topics", "--bootstrap-server", kafka.bootstrap, "--create", "--topic", topic_name,
                  "--partitions", "1", "--if-not-exists")
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stderr


def test_topics_describe_unknown_topic(kafka, topic_name):
    result = ferry("topics", "--bootstrap-server", kafka.bootstrap, "--describe", "--topic", topic_name)
    assert result.returncode != 0
    assert f"Topic '{topic_name}' does not exist as expected" in result.stderr


@pytest.mark.needs_admin_api
def test_topics_alter_partitions(kafka, topic_name):
    create(kafka, topic_name, 2)
    assert "Adding partitions succeeded!" in ok("topics", "--bootstrap-server", kafka.bootstrap,
                                                "--alter", "--topic", topic_name, "--partitions", "5")
    wait_until(lambda: kcat_partitions(kafka.bootstrap, topic_name) == 5, what="5 partitions in kcat -L")
    shrink = ferry("topics", "--bootstrap-server", kafka.bootstrap, "--alter", "--topic", topic_name,
                   "--partitions", "3")
    assert shrink.returncode != 0 and "INVALID_PARTITIONS" in shrink.stderr, shrink.stderr


@pytest.mark.needs_admin_api
def test_topics_delete(kafka, topic_name):
    create(kafka, topic_name)
    ok("topics", "--bootstrap-server", kafka.bootstrap, "--delete", "--topic", topic_name)
    wait_until(lambda: topic_name not in ok("topics", "--bootstrap-server", kafka.bootstrap,
                                             "--list").splitlines(), what="the topic to go")
    assert kcat_partitions(kafka.bootstrap, topic_name) == 0


def test_topics_zookeeper_form(kafka, topic_name):
    zk = ("topics", "--zookeeper", kafka.zookeeper_connect)
    assert ok(*zk, "--create", "--topic", topic_name, "--partitions", "2", "--replication-factor", "1",
              "--config", "cleanup.policy=compact") == f"Created topic {topic_name}.\n"
    assert topic_name in ok(*zk, "--list").splitlines()
    first = ok(*zk, "--describe", "--topic", topic_name).splitlines()[0]
    assert "PartitionCount: 2\tReplicationFactor: 1\tConfigs: cleanup.policy=compact" in first, first
    # The broker follows /brokers/topics and serves the new topic.
    wait_until(lambda: kcat_partitions(kafka.bootstrap, topic_name) == 2, what="the broker to serve it")
    lines = ok("topics", "--bootstrap-server", kafka.bootstrap, "--describe", "--topic",
               topic_name).splitlines()
    assert lines[1] == f"\tTopic: {topic_name}\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0"

    exists = ferry(*zk, "--create", "--topic", topic_name, "--partitions", "1", "--replication-factor", "1")
    assert exists.returncode != 0 and "already exists" in exists.stderr, exists.stderr
    too_many = ferry(*zk, "--create", "--topic", topic_name + "x", "--partitions", "1",
                     "--replication-factor", "3")
    assert too_many.returncode != 0 and "larger than available brokers: 1" in too_many.stderr

    assert "Adding partitions succeeded!" in ok(*zk, "--alter", "--topic", topic_name, "--partitions", "4")
    assert "PartitionCount: 4" in ok(*zk, "--describe", "--topic", topic_name)
    # The broker follows the topic's znode and serves the added partitions.
    wait_until(lambda: kcat_partitions(kafka.bootstrap, topic_name) == 4, what="4 partitions served")

    deleted = ok(*zk, "--delete", "--topic", topic_name)
    assert f"Topic {topic_name} is marked for deletion." in deleted
    # The broker, as controller, carries the deletion out.
    wait_until(lambda: topic_name not in ok(*zk, "--list").splitlines(), what="the deletion")
    assert kcat_partitions(kafka.bootstrap, topic_name) == 0


def test_topics_bad_input(kafka, topic_name):
    no_action = ferry("topics", "--bootstrap-server", kafka.bootstrap)
    assert no_action.returncode != 0 and "exactly one action" in no_action.stderr
    no_topic = ferry("topics", "--bootstrap-server", kafka.bootstrap, "--create", "--partitions", "1")
    assert no_topic.returncode != 0 and "[topic]" in no_topic.stderr
    no_server = ferry("topics", "--list")
    assert no_server.returncode != 0 and "--bootstrap-server" in no_server.stderr
    bad_config = ferry("topics", "--bootstrap-server", kafka.bootstrap, "--create", "--topic", topic_name,
                       "--config", "novalue")
    assert bad_config.returncode != 0 and "key=value" in bad_config.stderr


# ----- console producer / consumer ----------------------------------------------------------

def test_console_producer_to_kcat(kafka, topic_name):
    create(kafka, topic_name, 3)
    lines = [f"key{i}:value {i}" for i in range(50)]
    ok("console-producer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
       "--property", "parse.key=true", "--property", "key.separator=:", input="\n".join(lines) + "\n")
    consumed = kcat_consume(kafka.bootstrap, topic_name)
    assert sorted(line.split(" ", 2)[2] for line in consumed) == sorted(l.replace(":", "=", 1) for l in lines)
    # Same key, same partition; within a partition, offsets follow the input order.
    by_key = {}
    for line in consumed:
        p, o, kv = line.split(" ", 2)
        by_key.setdefault(kv.split("=")[0], set()).add(p)
    assert all(len(ps) == 1 for ps in by_key.values())


def test_console_producer_broker_list_and_acks(kafka, topic_name):
    for acks in ("0", "all"):
        ok("console-producer", "--broker-list", kafka.bootstrap, "--topic", topic_name,
           "--producer-property", f"acks={acks}", input=f"with acks {acks}\n")
    assert [l.split("=", 1)[1] for l in kcat_consume(kafka.bootstrap, topic_name)] == \
        ["with acks 0", "with acks all"]


def test_kcat_to_console_consumer(kafka, topic_name):
    create(kafka, topic_name, 2)
    produced = kcat("-P", "-b", kafka.bootstrap, "-t", topic_name, "-p", "1", "-K:",
                    input="a:1\nb:2\nc:3\n")
    assert produced.returncode == 0, produced.stderr
    result = ferry("console-consumer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
                   "--from-beginning", "--max-messages", "3", "--property", "print.key=true",
                   "--property", "print.partition=true", "--property", "print.offset=true",
                   "--property", "print.timestamp=true", "--property", "key.separator=|")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [re.sub(r"CreateTime:\d+", "T", l) for l in lines] == \
        ["T|Partition:1|Offset:0|a|1", "T|Partition:1|Offset:1|b|2", "T|Partition:1|Offset:2|c|3"]
    assert "Processed a total of 3 messages" in result.stderr


def test_console_consumer_partition_offset_and_timeout(kafka, topic_name):
    ok("console-producer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
       input="".join(f"m{i}\n" for i in range(5)))
    start = time.monotonic()
    tail = ferry("console-consumer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
                 "--partition", "0", "--offset", "3", "--timeout-ms", "1500")
    assert tail.returncode == 0, tail.stderr
    assert tail.stdout.splitlines() == ["m3", "m4"]
    assert "Processed a total of 2 messages" in tail.stderr
    assert time.monotonic() - start < 15
    # Without --from-beginning a consumer starts at the end: nothing old.
    latest = ferry("console-consumer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
                   "--timeout-ms", "1000")
    assert latest.returncode == 0 and latest.stdout == ""
    bad = ferry("console-consumer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
                "--offset", "3")
    assert bad.returncode != 0 and "partition is required" in bad.stderr


@pytest.mark.needs_group_api
def test_console_consumer_group_commits(kafka, topic_name):
    ok("console-producer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
       input="".join(f"m{i}\n" for i in range(6)))
    group = topic_name + "-g"
    first = ok("console-consumer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
               "--group", group, "--from-beginning", "--max-messages", "4")
    assert first.splitlines() == ["m0", "m1", "m2", "m3"]
    rest = ok("console-consumer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
              "--group", group, "--from-beginning", "--timeout-ms", "2000")
    assert rest.splitlines() == ["m4", "m5"]


# ----- perf ---------------------------------------------------------------------------------

def test_perf_produce_and_consume(kafka, topic_name):
    create(kafka, topic_name, 2)
    out = ok("perf", "produce", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
             "--num-records", "20000", "--record-size", "100", "--throughput", "-1",
             "--producer-props", "acks=1", "batch.size=16384", "linger.ms=5")
    final = out.splitlines()[-1]
    assert re.fullmatch(r"20000 records sent, [\d.]+ records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, "
                        r"[\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.",
                        final), final
    assert len(kcat_consume(kafka.bootstrap, topic_name, "%o\n")) == 20000

    consumed = ok("perf", "consume", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
                  "--messages", "20000").splitlines()
    assert consumed[0].startswith("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg")
    fields = [f.strip() for f in consumed[1].split(",")]
    assert fields[2] == "1.9073" and fields[4] == "20000", consumed[1]


def test_perf_produce_throttled(kafka, topic_name):
    start = time.monotonic()
    out = ok("perf", "produce", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
             "--num-records", "300", "--record-size", "10", "--throughput", "200",
             "--producer-props", "acks=all")
    assert out.splitlines()[-1].startswith("300 records sent")
    assert time.monotonic() - start >= 1.0


# ----- dump-log -----------------------------------------------------------------------------

def segment_dir(kafka, topic: str) -> Path:
    found = list(Path(kafka.workdir).glob(f"**/{topic}-0"))
    assert found, f"no log directory for {topic}-0 under {kafka.workdir}"
    return found[0]


def test_dump_log(fresh_kafka, topic_name):
    kafka = fresh_kafka
    ok("console-producer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
       "--property", "parse.key=true", input="k1\tv1\nk2\tv2\n")
    assert kcat("-P", "-b", kafka.bootstrap, "-t", topic_name, "-H", "trace=1", "-k", "k3",
                input="v3\n").returncode == 0
    ok("perf", "produce", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
       "--num-records", "2000", "--record-size", "100", "--throughput", "-1", "--producer-props", "acks=1")
    directory = segment_dir(kafka, topic_name)
    log = directory / "00000000000000000000.log"
    wait_until(lambda: log.stat().st_size > 200_000, what="the records on disk")

    shallow = ok("dump-log", "--files", str(log)).splitlines()
    assert shallow[:2] == [f"Dumping {log}", "Starting offset: 0"]
    batch = shallow[2]
    assert re.match(r"baseOffset: 0 lastOffset: \d+ count: \d+ baseSequence: -?\d+ lastSequence: -?\d+ "
                    r"producerId: -?\d+ producerEpoch: -?\d+ partitionLeaderEpoch: \d+ isTransactional: false "
                    r"isControl: false position: 0 CreateTime: \d+ size: \d+ magic: 2 compresscodec: NONE "
                    r"crc: \d+ isvalid: true$", batch), batch
    assert not any(l.startswith("| ") for l in shallow)

    data = ok("dump-log", "--files", str(log), "--print-data-log")
    assert re.search(r"\| offset: \d+ CreateTime: \d+ keySize: 2 valueSize: 2 sequence: -?\d+ "
                     r"headerKeys: \[\] key: k1 payload: v1", data), data[:2000]
    assert re.search(r"headerKeys: \[trace\] key: k3 payload: v3", data), data[:2000]
    records = [l for l in data.splitlines() if l.startswith("| offset: ")]
    assert len(records) == 2003
    offsets = [int(l.split()[2]) for l in records]
    assert offsets == list(range(2003))

    deep = ok("dump-log", "--files", str(log), "--deep-iteration")
    assert "payload:" not in deep and deep.count("| offset: ") == 2003

    # The broker writes the active segment's index files when it closes the log.
    kafka.stop()
    index = ok("dump-log", "--files", f"{directory / '00000000000000000000.index'},"
               f"{directory / '00000000000000000000.timeindex'}")
    entries = re.findall(r"^offset: (\d+) position: (\d+)$", index, re.M)
    assert entries, index
    # Each index entry names a batch of the .log by its last offset and its position.
    batches = {int(pos): int(last) for last, pos in
               re.findall(r"lastOffset: (\d+) .* position: (\d+) ", "\n".join(shallow))}
    for offset, position in entries:
        assert batches.get(int(position)) == int(offset), (offset, position)
    assert re.search(r"^timestamp: \d+ offset: \d+$", index, re.M), index


def test_gzip_batches(kafka, topic_name):
    """compression.type=gzip: kcat decompresses what the producers sent, dump-log names the codec."""
    ok("console-producer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
       "--producer-property", "compression.type=gzip", input="zipped one\n")
    ok("perf", "produce", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name, "--num-records", "500",
       "--record-size", "50", "--throughput", "-1", "--producer-props", "acks=1", "compression.type=gzip")
    values = [line.split("=", 1)[1] for line in kcat_consume(kafka.bootstrap, topic_name)]
    assert values[0] == "zipped one" and len(values) == 501
    log = segment_dir(kafka, topic_name) / "00000000000000000000.log"
    dumped = ok("dump-log", "--files", str(log), "--print-data-log")
    assert "compresscodec: GZIP" in dumped and "compresscodec: NONE" not in dumped
    assert "payload: zipped one" in dumped
    unsupported = ferry("console-producer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
                        "--producer-property", "compression.type=snappy", input="x\n")
    assert unsupported.returncode != 0 and "snappy" in unsupported.stderr


def test_dump_log_bad_files(tmp_path):
    missing = ferry("dump-log", "--files", str(tmp_path / "00000000000000000000.log"))
    assert missing.returncode != 0 and "reading" in missing.stderr
    garbage = tmp_path / "00000000000000000000.log"
    garbage.write_bytes(b"\x00" * 10 + b"not a batch at all" * 10)
    out = ferry("dump-log", "--files", str(garbage))
    assert out.returncode == 0 and "invalid bytes at the end" in out.stdout
    odd = tmp_path / "notes.txt"
    odd.write_text("x")
    assert ferry("dump-log", "--files", str(odd)).returncode != 0
    assert ferry("dump-log").returncode != 0


# ----- configs ------------------------------------------------------------------------------

@pytest.mark.needs_admin_api
def test_configs_describe_and_alter_topic(kafka, topic_name):
    create(kafka, topic_name, 1, "--config", "retention.ms=123456")
    base = ("configs", "--bootstrap-server", kafka.bootstrap, "--entity-type", "topics",
            "--entity-name", topic_name)
    described = ok(*base, "--describe")
    assert described.splitlines()[0] == f"Dynamic configs for topic {topic_name} are:"
    assert "  retention.ms=123456 sensitive=false" in described
    first = ok("topics", "--bootstrap-server", kafka.bootstrap, "--describe", "--topic", topic_name)
    assert "retention.ms=123456" in first.splitlines()[0].split("Configs: ")[1].split(","), first

    assert ok(*base, "--alter", "--add-config", "cleanup.policy=compact,max.message.bytes=2000") == \
        f"Completed updating config for topic {topic_name}.\n"
    described = ok(*base, "--describe")
    assert "cleanup.policy=compact" in described and "max.message.bytes=2000" in described
    ok(*base, "--alter", "--delete-config", "retention.ms")
    assert "retention.ms" not in ok(*base, "--describe")


@pytest.mark.needs_admin_api
def test_configs_broker_describe(kafka):
    out = ok("configs", "--bootstrap-server", kafka.bootstrap, "--entity-type", "brokers",
             "--entity-name", "0", "--describe", "--all")
    assert out.splitlines()[0] == "All configs for broker 0 are:"
    assert re.search(r"^  log\.retention\.hours=\d+ sensitive=false", out, re.M), out


def test_configs_bad_input(kafka, topic_name):
    bad_type = ferry("configs", "--bootstrap-server", kafka.bootstrap, "--entity-type", "users",
                     "--entity-name", "x", "--describe")
    assert bad_type.returncode != 0 and "entity type" in bad_type.stderr
    no_change = ferry("configs", "--bootstrap-server", kafka.bootstrap, "--entity-type", "topics",
                      "--entity-name", topic_name, "--alter")
    assert no_change.returncode != 0 and "--add-config" in no_change.stderr


# ----- consumer groups ----------------------------------------------------------------------

def confluent_consume(bootstrap: str, topic: str, group: str, n: int):
    """Consumes `n` records with confluent-kafka in `group`, commits them, returns the open
    consumer (the caller closes it)."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": "cg-test",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        consumer.subscribe([topic])
        got = 0
        deadline = time.monotonic() + 30
        while got < n and time.monotonic() < deadline:
            for m in consumer.consume(num_messages=n - got, timeout=1.0):
                assert m.error() is None, m.error()
                got += 1
        assert got == n
        consumer.commit(asynchronous=False)
    except BaseException:
        consumer.close()
        raise
    return consumer


def describe_rows(kafka, group: str) -> list[list[str]]:
    out = ok("consumer-groups", "--bootstrap-server", kafka.bootstrap, "--describe", "--group", group)
    lines = [l.split() for l in out.splitlines() if l.strip() and not l.startswith("Consumer group")]
    assert lines[0] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                        "CONSUMER-ID", "HOST", "CLIENT-ID"]
    return lines[1:]


@pytest.mark.needs_group_api
def test_consumer_groups_list_describe_reset_delete(kafka, topic_name):
    group = topic_name + "-g"
    ok("console-producer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
       input="".join(f"m{i}\n" for i in range(10)))
    consumer = confluent_consume(kafka.bootstrap, topic_name, group, 4)
    try:
        assert group in ok("consumer-groups", "--bootstrap-server", kafka.bootstrap, "--list").splitlines()
        [row] = describe_rows(kafka, group)
        assert row[:6] == [group, topic_name, "0", "4", "10", "6"]
        assert row[6] != "-" and row[8] == "cg-test"
        busy = ferry("consumer-groups", "--bootstrap-server", kafka.bootstrap, "--reset-offsets",
                     "--group", group, "--topic", topic_name, "--to-earliest", "--execute")
        assert busy.returncode != 0 and "inactive" in busy.stderr
    finally:
        consumer.close()

    [row] = describe_rows(kafka, group)
    assert row == [group, topic_name, "0", "4", "10", "6", "-", "-", "-"]
    reset = ("consumer-groups", "--bootstrap-server", kafka.bootstrap, "--reset-offsets", "--group", group,
             "--topic", topic_name)
    dry = ok(*reset, "--to-earliest").splitlines()
    assert dry[-1].split() == [group, topic_name, "0", "0"]
    assert describe_rows(kafka, group)[0][3] == "4"  # a dry run changes nothing
    ok(*reset, "--to-earliest", "--execute")
    assert describe_rows(kafka, group)[0][3] == "0"
    ok(*reset, "--to-offset", "7", "--execute")
    assert describe_rows(kafka, group)[0][3:6] == ["7", "10", "3"]
    ok(*reset, "--shift-by", "-2", "--execute")
    assert describe_rows(kafka, group)[0][3] == "5"
    ok(*reset, "--to-latest", "--execute")
    assert describe_rows(kafka, group)[0][5] == "0"

    assert ok("consumer-groups", "--bootstrap-server", kafka.bootstrap, "--delete", "--group", group) == \
        f"Deletion of requested consumer groups ('{group}') was successful.\n"
    assert group not in ok("consumer-groups", "--bootstrap-server", kafka.bootstrap, "--list").splitlines()


def test_consumer_groups_bad_input(kafka):
    no_group = ferry("consumer-groups", "--bootstrap-server", kafka.bootstrap, "--describe")
    assert no_group.returncode != 0 and "group" in no_group.stderr
    two = ferry("consumer-groups", "--bootstrap-server", kafka.bootstrap, "--list", "--delete")
    assert two.returncode != 0 and "exactly one action" in two.stderr


# ----- bad input common to every tool -------------------------------------------------------

NETWORK_TOOLS = [
    ("topics", "--list"),
    ("console-producer", "--topic", "t"),
    ("console-consumer", "--topic", "t", "--timeout-ms", "1000"),
    ("perf", "produce", "--topic", "t", "--num-records", "1", "--record-size", "1", "--throughput", "-1"),
    ("perf", "consume", "--topic", "t", "--messages", "1"),
    ("configs", "--entity-type", "topics", "--entity-name", "t", "--describe"),
    ("consumer-groups", "--list"),
]


@pytest.mark.parametrize("tool", NETWORK_TOOLS, ids=lambda t: "-".join(t[:2]))
def test_unreachable_bootstrap_server(tool):
    start = time.monotonic()
    result = ferry(*tool, "--bootstrap-server", "127.0.0.1:1", input="x\n", timeout=30)
    assert result.returncode != 0
    assert "127.0.0.1:1" in result.stderr and "panicked" not in result.stderr, result.stderr
    assert time.monotonic() - start < 15


def test_silent_server_times_out():
    """A server that accepts connections and never answers: a bounded wait, then an error."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        start = time.monotonic()
        result = ferry("topics", "--bootstrap-server", address, "--request-timeout-s", "2", "--list",
                       timeout=30)
    assert result.returncode != 0 and "timed out" in result.stderr, result.stderr
    assert time.monotonic() - start < 10


def test_unreachable_zookeeper():
    start = time.monotonic()
    result = ferry("topics", "--zookeeper", "127.0.0.1:1", "--list", timeout=40)
    assert result.returncode != 0 and "cannot connect to ZooKeeper at 127.0.0.1:1" in result.stderr
    assert time.monotonic() - start < 30


def test_unknown_topic(kafka, topic_name):
    consumer = ferry("console-consumer", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
                     "--timeout-ms", "1000")
    assert consumer.returncode != 0 and "UNKNOWN_TOPIC_OR_PARTITION" in consumer.stderr, consumer.stderr
    perf = ferry("perf", "consume", "--bootstrap-server", kafka.bootstrap, "--topic", topic_name,
                 "--messages", "1")
    assert perf.returncode != 0 and "UNKNOWN_TOPIC_OR_PARTITION" in perf.stderr


@pytest.mark.parametrize("args", [
    ("console-producer", "--bootstrap-server", "127.0.0.1:9"),
    ("console-consumer", "--bootstrap-server", "127.0.0.1:9"),
    ("perf", "produce", "--topic", "t"),
    ("perf", "consume", "--topic", "t"),
    ("dump-log",),
], ids=lambda a: "-".join(a[:2]))
def test_missing_required_flags(args):
    result = ferry(*args, input="")
    assert result.returncode != 0
    assert "required" in result.stderr.lower() or "missing" in result.stderr.lower(), result.stderr
