"""The linearizability checker itself, on histories whose verdict is known: it must find the
classic anomalies (a stale read, a lost update, two compare-and-sets that both won, a read of
a value never written) and accept the concurrent histories that do have an order."""

from __future__ import annotations

import math

from linearizability import Op, check

START = {"k": (b"0", 0)}


def read(t0, t1, data, version, client="r"):
    return Op("k", "read", t0, t1, result=(data, version), client=client)


def write(t0, t1, data, client="w", known=True):
    return Op("k", "write", t0, t1 if known else math.inf, value=data, result=True,
              known=known, client=client)


def cas(t0, t1, data, expected, won, client="c", known=True):
    return Op("k", "cas", t0, t1 if known else math.inf, value=data, expected_version=expected,
              result=won, known=known, client=client)


def test_sequential_history_is_linearizable():
    history = [write(0, 1, b"a"), read(2, 3, b"a", 1), cas(4, 5, b"b", 1, True),
               read(6, 7, b"b", 2), cas(8, 9, b"c", 1, False), read(10, 11, b"b", 2)]
    assert check(history, START).ok


def test_a_stale_read_after_a_completed_write_is_found():
    history = [write(0, 1, b"a"), read(2, 3, b"0", 0)]
    verdict = check(history, START)
    assert not verdict.ok and verdict.key == "k"


def test_a_read_concurrent_with_a_write_may_see_either_value():
    assert check([write(0, 10, b"a"), read(1, 2, b"0", 0)], START).ok
    assert check([write(0, 10, b"a"), read(1, 2, b"a", 1)], START).ok


def test_two_compare_and_sets_on_one_version_cannot_both_win():
    history = [cas(0, 5, b"x", 0, True, "c1"), cas(1, 6, b"y", 0, True, "c2")]
    assert not check(history, START).ok
    one_loses = [cas(0, 5, b"x", 0, True, "c1"), cas(1, 6, b"y", 0, False, "c2")]
    assert check(one_loses, START).ok


def test_a_lost_update_is_found():
    # Two writes complete, then a read sees the first one's data with the second's version.
    history = [write(0, 1, b"a"), write(2, 3, b"b"), read(4, 5, b"a", 2)]
    assert not check(history, START).ok


def test_reads_that_go_back_in_time_are_found():
    history = [write(0, 10, b"a"), read(1, 2, b"a", 1), read(3, 4, b"0", 0)]
    assert not check(history, START).ok


def test_a_value_never_written_is_found():
    assert not check([read(0, 1, b"zz", 1)], START).ok


def test_an_unknown_write_may_have_happened_or_not():
    happened = [write(0, 1, b"a", known=False), read(5, 6, b"a", 1)]
    assert check(happened, START).ok
    did_not = [write(0, 1, b"a", known=False), read(5, 6, b"0", 0)]
    assert check(did_not, START).ok
    # ... but not both: once seen, it cannot be undone.
    flip = [write(0, 1, b"a", known=False), read(5, 6, b"a", 1), read(7, 8, b"0", 0)]
    assert not check(flip, START).ok


def test_keys_are_checked_independently():
    history = [Op("a", "write", 0, 1, value=b"1", result=True),
               Op("b", "read", 2, 3, result=(b"1", 1))]
    verdict = check(history, {"a": (b"0", 0), "b": (b"0", 0)})
    assert not verdict.ok and verdict.key == "b"


def test_many_concurrent_clients_are_checked_quickly():
    # 6 clients, 300 ops: every client casts in turn; the interleaving is wide but ordered.
    history, version = [], 0
    for i in range(300):
        t = i * 1.0
        history.append(cas(t, t + 3.5, f"v{i}".encode(), version, True, f"c{i % 6}"))
        version += 1
    verdict = check(history, START)
    assert verdict.ok, verdict
