"""The broker fixtures themselves: a broker of each kind starts, serves ApiVersions, survives a
restart and a kill -9 (the data directory is kept)."""

from __future__ import annotations

from kafka_servers import answers_api_versions


def test_restart_and_kill9_keep_serving(fresh_kafka) -> None:
    assert answers_api_versions(fresh_kafka.host, fresh_kafka.port)
    fresh_kafka.restart()
    assert answers_api_versions(fresh_kafka.host, fresh_kafka.port)
    fresh_kafka.kill9()
    fresh_kafka.start()
    assert answers_api_versions(fresh_kafka.host, fresh_kafka.port)
