"""Differential scenarios on ensembles: the scenarios of test_differential.py that touch what an
ensemble changes (writes forwarded to the leader, sessions and their ephemerals, watches, multi,
sync, reconnects) run against a follower of a fresh 3-server Apache ZooKeeper 3.8 ensemble and a
follower of a fresh 3-server ferry ensemble, and the normalised transcripts must be equal."""

from __future__ import annotations

import types

import pytest

import test_differential as scenarios
from differential import assert_same_transcripts, transcript_of
from ensemble import FerryEnsemble

pytestmark = pytest.mark.timeout(300)

ON_FOLLOWERS = [
    scenarios.create_ephemerals,
    scenarios.sequential_names_follow_cversion,
    scenarios.set_data_versions_and_sizes,
    scenarios.multi_success,
    scenarios.multi_failures_roll_back,
    scenarios.sync_answers,
    scenarios.one_shot_watches,
    scenarios.events_arrive_before_later_replies,
    scenarios.persistent_recursive_watches,
    scenarios.session_close_removes_ephemerals_and_fires_watches,
    scenarios.connect_negotiation_and_resume,
    scenarios.set_watches_on_reconnect,
]


def follower_of(cluster: FerryEnsemble):
    """A follower of `cluster` (waiting for its election), as something a scenario can run
    against."""
    leader = cluster.leader(timeout=60)
    follower = next(s for i, s in cluster.servers.items() if i != leader)
    return types.SimpleNamespace(hosts=follower.hosts, kind=follower.kind)


@pytest.mark.parametrize("script", ON_FOLLOWERS, ids=lambda s: s.__name__)
def test_a_ferry_follower_answers_as_an_apache_follower(script, tmp_path):
    apache = FerryEnsemble(tmp_path / "apache", size=3, kind="apache")
    ferry = FerryEnsemble(tmp_path / "ferry", size=3)
    try:
        apache.start(timeout=120)
        ferry.start()
        expected = transcript_of(script, follower_of(apache))
        actual = transcript_of(script, follower_of(ferry), reference=False)
    finally:
        apache.stop()
        ferry.stop()
    assert_same_transcripts(expected, actual, "an Apache ZooKeeper follower", "a ferry follower")
