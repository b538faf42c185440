"""A queue checker for Kafka histories, in the style of Jepsen's Kafka tests.

A history is what the producers were told and what the consumers saw:

- `Ack`s: sends whose delivery report said "written" (a value, the partition and offset the
  report gave, which producer sent it and in which order: `seq`, the order of its produce()
  calls, or, when -1, the order of the acks in the list). The offset may be unknown (None or
  negative): an idempotent librdkafka producer whose request timed out ("possibly persisted")
  counts its messages as written, without offsets, once a later batch of the same partition
  succeeds ("implicitly acked"). Such an ack is checked for loss and order, not for its offset;
  `unknown_offsets` counts them;
- `Read`s: everything consumed (partition, offset, value), from any number of consumers and
  passes; reading the same offset twice is no anomaly (a group rebalance re-reads), reading
  two different values at one offset is.

Every value must be unique to one send (the producers number them). A send that failed or
whose outcome is unknown is not acked: its value may or may not be consumed, and either is
fine (pass the values of every send as `attempted` to also find values nobody sent).

`check(acks, reads)` reports:

- lost: acked, and never consumed anywhere;
- duplicated: a value consumed at two or more positions (partition, offset), acked or not (an
  idempotent producer writes each value once, and a correct log keeps one copy);
- reordered: within one partition, a producer's acked value sent after another acked value of
  the same producer sits at a lower offset (a producer's order is its send order); each value
  that sits below one sent before it counts once;
- inconsistent: an acked position at which a consumer read a different value, an acked value
  read only at other positions than its ack said, or one position read with different values
  by different reads;
- unexpected: a value consumed that no producer attempted (only with `attempted`).

A partition can be any hashable value: an int, or a (topic, partition) pair.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Hashable, Iterable, Optional


@dataclass(frozen=True)
class Ack:
    value: bytes
    partition: Hashable
    offset: Optional[int]
    producer: str = "p"
    seq: int = -1
    key: Optional[bytes] = None


@dataclass(frozen=True)
class Read:
    partition: Hashable
    offset: int
    value: bytes
    key: Optional[bytes] = None


@dataclass(frozen=True)
class Inconsistency:
    """`kind`: "acked offset holds another value", "acked value elsewhere" or "conflicting
    reads"; `position` is (partition, offset)."""

    kind: str
    position: tuple
    expected: Optional[bytes]
    found: tuple


@dataclass
class QueueReport:
    acked: int = 0
    consumed: int = 0
    positions: int = 0
    lost: list[Ack] = field(default_factory=list)
    duplicated: dict[bytes, list[tuple]] = field(default_factory=dict)
    reordered: list[tuple[Ack, Ack]] = field(default_factory=list)
    inconsistent: list[Inconsistency] = field(default_factory=list)
    unexpected: list[Read] = field(default_factory=list)
    unknown_offsets: int = 0  # acks without an offset (no anomaly)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.reordered or self.inconsistent
                    or self.unexpected)

    def counts(self) -> dict[str, int]:
        return {"lost": len(self.lost), "duplicated": len(self.duplicated),
                "reordered": len(self.reordered), "inconsistent": len(self.inconsistent),
                "unexpected": len(self.unexpected)}

    def summary(self, examples: int = 5) -> str:
        """One line of counts, then a few examples of each anomaly."""
        lines = [f"acked {self.acked} ({self.unknown_offsets} without an offset), consumed "
                 f"{self.consumed} reads at {self.positions} positions: "
                 + ", ".join(f"{k} {v}" for k, v in self.counts().items())]
        if self.lost:
            lines.append(f"  lost: {self.lost[:examples]}")
        if self.duplicated:
            lines.append(f"  duplicated: {list(self.duplicated.items())[:examples]}")
        if self.reordered:
            lines.append("  reordered (sent earlier, sent later): "
                         f"{self.reordered[:examples]}")
        if self.inconsistent:
            lines.append(f"  inconsistent: {self.inconsistent[:examples]}")
        if self.unexpected:
            lines.append(f"  unexpected: {self.unexpected[:examples]}")
        return "\n".join(lines)


def check(acks: Iterable[Ack], reads: Iterable[Read],
          attempted: Optional[Iterable[bytes]] = None) -> QueueReport:
    acks = list(acks)
    reads = list(reads)
    report = QueueReport(acked=len(acks), consumed=len(reads))

    # What each position holds, as read; and where each value was read.
    at_position: dict[tuple, set[bytes]] = defaultdict(set)
    for read in reads:
        at_position[(read.partition, read.offset)].add(read.value)
    report.positions = len(at_position)
    positions_of: dict[bytes, list[tuple]] = defaultdict(list)
    for position, values in sorted(at_position.items(), key=_position_key):
        for value in values:
            positions_of[value].append(position)

    for position, values in sorted(at_position.items(), key=_position_key):
        if len(values) > 1:
            report.inconsistent.append(Inconsistency("conflicting reads", position, None,
                                                     tuple(sorted(values))))

    for value, positions in positions_of.items():
        if len(positions) > 1:
            report.duplicated[value] = positions

    for ack in acks:
        known = _known(ack)
        report.unknown_offsets += not known
        positions = positions_of.get(ack.value)
        if not positions:
            report.lost.append(ack)
            continue
        if not known:
            continue
        position = (ack.partition, ack.offset)
        held = at_position.get(position)
        if held is not None and ack.value not in held:
            report.inconsistent.append(Inconsistency("acked offset holds another value",
                                                     position, ack.value, tuple(sorted(held))))
        elif held is None and position not in positions:
            report.inconsistent.append(Inconsistency("acked value elsewhere", position,
                                                     ack.value, tuple(positions)))

    # Order: per producer and partition, in send order, where each value sits (where it was
    # read in that partition, else where its ack said).
    streams: dict[tuple, list[tuple[int, Ack]]] = defaultdict(list)
    for index, ack in enumerate(acks):
        streams[(ack.producer, ack.partition)].append((ack.seq if ack.seq >= 0 else index, ack))
    for (_, partition), stream in streams.items():
        stream.sort(key=lambda item: item[0])
        highest: Optional[tuple[int, Ack]] = None
        for _, ack in stream:
            offsets = [o for p, o in positions_of.get(ack.value, []) if p == partition]
            if offsets:
                offset = min(offsets)
            elif _known(ack):
                offset = ack.offset
            else:
                continue  # lost, and nowhere to place it
            if highest is not None and offset < highest[0]:
                report.reordered.append((highest[1], ack))
            elif highest is None or offset > highest[0]:
                highest = (offset, ack)

    if attempted is not None:
        sent = set(attempted) | {ack.value for ack in acks}
        report.unexpected = [r for r in reads if r.value not in sent]
    return report


def _known(ack: Ack) -> bool:
    return ack.offset is not None and ack.offset >= 0


def _position_key(item) -> tuple:
    (partition, offset), _ = item
    return (repr(partition), offset)
