"""The queue checker (queue_checker.py) on histories whose verdict is known: a clean one, and
each anomaly made on purpose."""

from __future__ import annotations

import random

from queue_checker import Ack, Read, check


def clean_history(partitions: int = 3, per_producer: int = 40, producers: int = 2,
                  seed: int = 7):
    """Producers interleaving sends over partitions; every send acked; every record read once,
    some read twice (a rebalance), in an arbitrary order of partitions."""
    rng = random.Random(seed)
    next_offset = [0] * partitions
    acks, reads = [], []
    pending = {f"p{n}": 0 for n in range(producers)}
    while any(count < per_producer for count in pending.values()):
        producer = rng.choice([p for p, c in pending.items() if c < per_producer])
        seq = pending[producer]
        pending[producer] += 1
        partition = rng.randrange(partitions)
        value = f"{producer}-{seq}".encode()
        offset = next_offset[partition]
        next_offset[partition] += 1
        acks.append(Ack(value, partition, offset, producer=producer, seq=seq))
        reads.append(Read(partition, offset, value))
    reads.extend(rng.sample(reads, 10))  # re-read positions
    rng.shuffle(reads)
    return acks, reads


def test_a_clean_history_has_no_anomaly():
    acks, reads = clean_history()
    report = check(acks, reads, attempted=[a.value for a in acks])
    assert report.ok, report.summary()
    assert report.counts() == {"lost": 0, "duplicated": 0, "reordered": 0, "inconsistent": 0,
                               "unexpected": 0}
    assert report.acked == len(acks) and report.positions == len(acks)
    assert "lost 0, duplicated 0, reordered 0, inconsistent 0" in report.summary()


def test_an_empty_history_is_clean():
    assert check([], []).ok


def test_unacknowledged_values_may_or_may_not_be_consumed():
    acks = [Ack(b"a", 0, 0), Ack(b"c", 0, 2)]
    # b's send failed or timed out: it was written anyway; d's was not written at all.
    reads = [Read(0, 0, b"a"), Read(0, 1, b"b"), Read(0, 2, b"c")]
    report = check(acks, reads, attempted=[b"a", b"b", b"c", b"d"])
    assert report.ok, report.summary()


def test_an_acknowledged_value_never_consumed_is_lost():
    acks, reads = clean_history()
    victim = acks[17]
    reads = [r for r in reads if r.value != victim.value]
    report = check(acks, reads)
    assert report.lost == [victim]
    assert not report.duplicated and not report.reordered and not report.inconsistent
    assert not report.ok and "lost 1" in report.summary()


def test_a_value_at_two_offsets_is_duplicated():
    acks = [Ack(b"a", 0, 0), Ack(b"b", 0, 1)]
    reads = [Read(0, 0, b"a"), Read(0, 1, b"b"), Read(0, 2, b"a")]
    report = check(acks, reads)
    assert report.duplicated == {b"a": [(0, 0), (0, 2)]}
    assert not report.lost and not report.reordered and not report.inconsistent


def test_an_unacknowledged_value_written_twice_is_duplicated_too():
    acks = [Ack(b"a", 0, 0)]
    reads = [Read(0, 0, b"a"), Read(1, 0, b"x"), Read(1, 1, b"x")]
    assert check(acks, reads).duplicated == {b"x": [(1, 0), (1, 1)]}


def test_the_same_offset_read_twice_is_not_a_duplicate():
    acks = [Ack(b"a", 0, 0)]
    assert check(acks, [Read(0, 0, b"a"), Read(0, 0, b"a")]).ok


def test_a_later_send_at_a_lower_offset_is_reordered():
    # p sends a, b, c in this order; the log holds b, a, c (and the acks say so too).
    acks = [Ack(b"a", 0, 1, seq=0), Ack(b"b", 0, 0, seq=1), Ack(b"c", 0, 2, seq=2)]
    reads = [Read(0, 0, b"b"), Read(0, 1, b"a"), Read(0, 2, b"c")]
    report = check(acks, reads)
    assert report.reordered == [(acks[0], acks[1])]
    assert not report.lost and not report.duplicated and not report.inconsistent


def test_send_order_defaults_to_the_order_of_the_acks():
    acks = [Ack(b"a", 0, 5), Ack(b"b", 0, 3)]
    report = check(acks, [Read(0, 3, b"b"), Read(0, 5, b"a")])
    assert len(report.reordered) == 1


def test_reordering_is_counted_once_per_value_below_an_earlier_send():
    acks = [Ack(v, 0, o, seq=s) for s, (v, o) in
            enumerate([(b"a", 3), (b"b", 0), (b"c", 1), (b"d", 4)])]
    reads = [Read(0, a.offset, a.value) for a in acks]
    report = check(acks, reads)
    assert [later.value for _, later in report.reordered] == [b"b", b"c"]


def test_order_is_per_producer_and_per_partition():
    acks = [
        Ack(b"p1-0", 0, 1, producer="p1", seq=0),
        Ack(b"p2-0", 0, 0, producer="p2", seq=0),  # another producer: no order between them
        Ack(b"p1-1", 1, 0, producer="p1", seq=1),  # another partition: no order either
        Ack(b"p1-2", 0, 2, producer="p1", seq=2),
    ]
    reads = [Read(a.partition, a.offset, a.value) for a in acks]
    assert check(acks, reads).ok


def test_order_is_taken_from_where_values_were_read():
    # The acks claim the producer's order; the log does not keep it.
    acks = [Ack(b"a", 0, 0, seq=0), Ack(b"b", 0, 1, seq=1)]
    reads = [Read(0, 0, b"b"), Read(0, 1, b"a")]
    report = check(acks, reads)
    assert len(report.reordered) == 1
    assert {i.kind for i in report.inconsistent} == {"acked offset holds another value"}


def test_an_acked_offset_holding_another_value_is_inconsistent():
    acks = [Ack(b"a", 0, 0), Ack(b"b", 0, 1)]
    # A new leader without b's record took over and wrote x at offset 1; b came back at 2.
    reads = [Read(0, 0, b"a"), Read(0, 1, b"x"), Read(0, 2, b"b")]
    report = check(acks, reads)
    assert len(report.inconsistent) == 1
    found = report.inconsistent[0]
    assert (found.kind, found.position, found.expected, found.found) == (
        "acked offset holds another value", (0, 1), b"b", (b"x",))
    assert not report.lost


def test_an_acked_value_read_only_elsewhere_is_inconsistent():
    acks = [Ack(b"a", 0, 7)]
    report = check(acks, [Read(0, 3, b"a")])
    assert [(i.kind, i.position, i.found) for i in report.inconsistent] == [
        ("acked value elsewhere", (0, 7), ((0, 3),))]


def test_two_values_read_at_one_offset_are_inconsistent():
    acks = [Ack(b"a", 0, 0)]
    reads = [Read(0, 0, b"a"), Read(0, 1, b"b"), Read(0, 1, b"c")]
    report = check(acks, reads)
    assert [(i.kind, i.position, i.found) for i in report.inconsistent] == [
        ("conflicting reads", (0, 1), (b"b", b"c"))]


def test_a_value_nobody_sent_is_unexpected():
    acks = [Ack(b"a", 0, 0)]
    reads = [Read(0, 0, b"a"), Read(0, 1, b"zz")]
    assert check(acks, reads).ok  # without `attempted`, the checker cannot tell
    report = check(acks, reads, attempted=[b"a", b"b"])
    assert report.unexpected == [Read(0, 1, b"zz")]


def test_partitions_may_be_topic_partition_pairs():
    acks = [Ack(b"a", ("t", 0), 0), Ack(b"b", ("u", 0), 0)]
    reads = [Read(("t", 0), 0, b"a")]
    report = check(acks, reads)
    assert report.lost == [acks[1]]


def test_many_anomalies_at_once_are_all_counted():
    acks, reads = clean_history(partitions=2, per_producer=30, producers=1)
    lost, moved = acks[3], acks[10]
    reads = [r for r in reads if r.value not in (lost.value, moved.value)]
    reads.append(Read(moved.partition, 10_000, moved.value))  # out of order and elsewhere
    reads.append(Read(0, 20_000, acks[0].value))  # a second copy
    report = check(acks, reads)
    assert report.lost == [lost]
    assert set(report.duplicated) == {acks[0].value}
    assert any(later is not moved and later.partition == moved.partition
               for _, later in report.reordered)
    assert any(i.kind == "acked value elsewhere" and i.expected == moved.value
               for i in report.inconsistent)
    assert not report.ok


def test_acks_without_an_offset_are_checked_for_loss_and_order_only():
    """librdkafka's implicitly acked messages (a timed-out request, then a later batch
    succeeded) have no offset."""
    acks = [Ack(b"a", 0, 0, seq=0), Ack(b"b", 0, None, seq=1), Ack(b"c", 0, -1001, seq=2),
            Ack(b"d", 0, 3, seq=3)]
    reads = [Read(0, 0, b"a"), Read(0, 1, b"b"), Read(0, 2, b"c"), Read(0, 3, b"d")]
    report = check(acks, reads)
    assert report.ok, report.summary()
    assert report.unknown_offsets == 2 and "2 without an offset" in report.summary()
    # ... but lost is lost,
    assert check(acks, [r for r in reads if r.value != b"b"]).lost == [acks[1]]
    # and out of order is out of order.
    swapped = [Read(0, 0, b"a"), Read(0, 1, b"c"), Read(0, 2, b"b"), Read(0, 3, b"d")]
    assert [later.value for _, later in check(acks, swapped).reordered] == [b"c"]
