"""Bad input over raw sockets, on a broker shared with a healthy client: a client that
disconnects mid-request, a request at an API version the broker does not support, an invalid
topic name, an oversize frame. Each gets Kafka's error code or a closed connection of its own;
the broker and the healthy connection go on."""

from __future__ import annotations

import socket
import struct

import pytest

from kafka_servers import answers_api_versions


def frame(api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    client_id = b"bad-input"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def string(s: str) -> bytes:
    data = s.encode()
    return struct.pack(">h", len(data)) + data


def read_response(sock: socket.socket) -> bytes:
    def exact(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the broker")
            data += chunk
        return data

    (size,) = struct.unpack(">i", exact(4))
    return exact(size)


def closed_by_peer(sock: socket.socket) -> bool:
    sock.settimeout(10)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def metadata_v1_topic_errors(sock: socket.socket, topics: list[str]) -> dict[str, int]:
    """Sends Metadata v1 for `topics`; returns topic name -> error code."""
    body = struct.pack(">i", len(topics)) + b"".join(string(t) for t in topics)
    sock.sendall(frame(3, 1, 42, body))
    data = read_response(sock)
    pos = 4  # correlation id

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return values

    def take_string() -> str | None:
        nonlocal pos
        (n,) = take(">h")
        if n < 0:
            return None
        value = data[pos:pos + n].decode()
        pos += n
        return value

    (brokers,) = take(">i")
    for _ in range(brokers):
        take(">i")
        take_string()
        take(">i")
        take_string()
    take(">i")  # controller id
    (count,) = take(">i")
    errors = {}
    for _ in range(count):
        (error,) = take(">h")
        name = take_string()
        take(">?")
        (partitions,) = take(">i")
        for _ in range(partitions):
            take(">hii")
            (replicas,) = take(">i")
            take(f">{replicas}i")
            (isr,) = take(">i")
            take(f">{isr}i")
        errors[name] = error
    return errors


@pytest.fixture
def healthy(kafka):
    """A connection that must keep working through everything the test does."""
    with socket.create_connection((kafka.host, kafka.port), timeout=10) as sock:
        yield sock
    assert answers_api_versions(kafka.host, kafka.port)


def still_serves(sock: socket.socket, topic: str) -> bool:
    return metadata_v1_topic_errors(sock, [topic]) == {topic: 0}


def test_disconnect_mid_request(kafka, healthy, topic_name) -> None:
    assert still_serves(healthy, topic_name)  # auto-created
    for cut in (2, 6, 20):
        request = frame(3, 1, 7, struct.pack(">i", 1) + string(topic_name))
        with socket.create_connection((kafka.host, kafka.port), timeout=10) as sock:
            sock.sendall(request[:cut])
    assert still_serves(healthy, topic_name)


def test_unsupported_version_closes_only_that_connection(kafka, healthy, topic_name) -> None:
    with socket.create_connection((kafka.host, kafka.port), timeout=10) as sock:
        sock.sendall(frame(0, 99, 1, b"\x00" * 16))  # Produce v99
        assert closed_by_peer(sock)
    with socket.create_connection((kafka.host, kafka.port), timeout=10) as sock:
        sock.sendall(frame(999, 0, 1, b""))  # no such API
        assert closed_by_peer(sock)
    assert still_serves(healthy, topic_name)


def test_invalid_topic_names(kafka, healthy) -> None:
    bad = ["bad name", "a/b", "x" * 250, "..", "."]
    errors = metadata_v1_topic_errors(healthy, bad)
    invalid_topic_exception = 17
    assert errors == {name: invalid_topic_exception for name in bad}


def test_oversize_frame_closes_only_that_connection(kafka, healthy, topic_name) -> None:
    with socket.create_connection((kafka.host, kafka.port), timeout=10) as sock:
        sock.sendall(struct.pack(">i", 200 * 1024 * 1024) + b"\x00" * 1024)
        assert closed_by_peer(sock)
    with socket.create_connection((kafka.host, kafka.port), timeout=10) as sock:
        sock.sendall(struct.pack(">i", -5))
        assert closed_by_peer(sock)
    assert still_serves(healthy, topic_name)
