"""Produce validation: the broker checks every record inside every batch (decompressing
compressed ones) as Kafka's LogValidator does. A batch with a correct CRC but broken records
(a record claiming 2^30 bytes, a gzip-flagged batch that is not gzip, a count that disagrees)
gets INVALID_RECORD (87) and nothing of it reaches the log, so a consumer reading across the
refused writes sees every valid record. Batches compressed by librdkafka with every codec it
has (gzip, snappy, lz4, zstd) are accepted and read back unchanged."""

from __future__ import annotations

import socket
import struct
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.record.util import calc_crc32c

from test_broker_bad_input import frame, read_response, string

INVALID_RECORD = 87
CORRUPT_MESSAGE = 2


def varint(value: int) -> bytes:
    """A zig-zag varint as Kafka's records use."""
    raw = (value << 1) ^ (value >> 63)
    out = bytearray()
    while raw >= 0x80:
        out.append((raw & 0x7F) | 0x80)
        raw >>= 7
    out.append(raw)
    return bytes(out)


def record(offset_delta: int, key: bytes, value: bytes, claimed_length: int | None = None) -> bytes:
    body = (b"\x00" + varint(0) + varint(offset_delta) + varint(len(key)) + key
            + varint(len(value)) + value + varint(0))
    return varint(len(body) if claimed_length is None else claimed_length) + body


def batch(records: bytes, count: int, codec: int = 0) -> bytes:
    """A v2 record batch around an already encoded records section, with a correct CRC."""
    after_crc = struct.pack(">hiqqqhii", codec, count - 1, 1000, 1000, -1, -1, -1, count) + records
    crc = calc_crc32c(after_crc)
    head = struct.pack(">ibI", -1, 2, crc)  # partition leader epoch, magic, crc
    rest = head + after_crc
    return struct.pack(">qi", 0, len(rest)) + rest


def produce(sock: socket.socket, topic: str, records: bytes) -> int:
    """Produce v3 of one batch to partition 0, acks=1; returns the partition's error code."""
    body = (struct.pack(">h", -1) + struct.pack(">hi", 1, 10_000) + struct.pack(">i", 1)
            + string(topic) + struct.pack(">i", 1) + struct.pack(">i", 0)
            + struct.pack(">i", len(records)) + records)
    sock.sendall(frame(0, 3, 7, body))
    data = read_response(sock)
    pos = 4 + 4  # correlation id, topic count
    (name_len,) = struct.unpack_from(">h", data, pos)
    pos += 2 + name_len + 4  # name, partition count
    _partition, error = struct.unpack_from(">ih", data, pos)
    return error


def consume_all(kafka, topic: str, expected: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": f"g-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    deadline = time.monotonic() + 60
    try:
        # Until the expected count is in and the partition stays quiet for a poll (so that a
        # record beyond the expected ones would be seen too).
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                if len(values) >= expected:
                    break
                continue
            assert message.error() is None, message.error()
            values.append(message.value())
    finally:
        consumer.close()
    return values


def create_topic(kafka, topic: str, config: dict | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config=config or {})])[topic].result(30)


def test_broken_records_are_refused_and_never_stored(kafka, topic_name) -> None:
    create_topic(kafka, topic_name)
    with socket.create_connection((kafka.host, kafka.port), timeout=10) as sock:
        good = lambda i: batch(record(0, b"k", b"good %d" % i), 1)  # noqa: E731
        assert produce(sock, topic_name, good(0)) == 0
        # A record claiming a length of 2^30, followed by a valid one.
        huge = record(0, b"k", b"v", claimed_length=1 << 30) + record(1, b"k", b"v")
        assert produce(sock, topic_name, batch(huge, 2)) == INVALID_RECORD
        assert produce(sock, topic_name, good(1)) == 0
        # Flagged gzip, but the records are not gzip.
        assert produce(sock, topic_name, batch(record(0, b"k", b"v"), 1, codec=1)) == INVALID_RECORD
        # Every other codec's flag on data that is not compressed with it.
        for codec in (2, 3, 4):
            assert produce(sock, topic_name, batch(b"not compressed at all", 1, codec)) \
                == INVALID_RECORD, codec
        # Two records where the header counts three; offsets that skip.
        two = record(0, b"k", b"a") + record(1, b"k", b"b")
        assert produce(sock, topic_name, batch(two, 3)) == INVALID_RECORD
        skipping = record(0, b"k", b"a") + record(2, b"k", b"b")
        assert produce(sock, topic_name, batch(skipping, 2)) == INVALID_RECORD
        # A flipped byte after the CRC was computed is still CORRUPT_MESSAGE.
        flipped = bytearray(good(9))
        flipped[-2] ^= 0xFF
        assert produce(sock, topic_name, bytes(flipped)) == CORRUPT_MESSAGE
        assert produce(sock, topic_name, good(2)) == 0
    # Only the valid batches are in the log, and a consumer from the start reads them all.
    assert consume_all(kafka, topic_name, 3) == [b"good 0", b"good 1", b"good 2"]


def test_a_compacted_topic_refuses_records_without_a_key(kafka, topic_name) -> None:
    create_topic(kafka, topic_name, {"cleanup.policy": "compact"})
    with socket.create_connection((kafka.host, kafka.port), timeout=10) as sock:
        keyless = (b"\x00" + varint(0) + varint(0) + varint(-1) + varint(1) + b"v" + varint(0))
        assert produce(sock, topic_name, batch(varint(len(keyless)) + keyless, 1)) \
            == INVALID_RECORD
        assert produce(sock, topic_name, batch(record(0, b"k", b"kept"), 1)) == 0
    assert consume_all(kafka, topic_name, 1) == [b"kept"]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_librdkafka_batches_in_every_codec_are_accepted(kafka, topic_name, codec) -> None:
    create_topic(kafka, topic_name)
    producer = Producer({"bootstrap.servers": kafka.bootstrap, "compression.type": codec,
                         "linger.ms": 20, "acks": "all"})
    failures = []
    values = [(b"%s record %05d " % (codec.encode(), i)) * (1 + i % 7) for i in range(2000)]
    for value in values:
        producer.produce(topic_name, value, key=b"k%d" % (len(failures) % 10),
                         on_delivery=lambda err, _msg: err and failures.append(err))
    assert producer.flush(30) == 0
    assert failures == []
    got = consume_all(kafka, topic_name, len(values))
    assert len(got) == len(values)
    assert got == values
