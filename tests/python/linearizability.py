"""A linearizability checker for histories of reads, writes and compare-and-set on ZooKeeper
nodes, after Wing & Gong's search with Lowe's memoisation (the algorithm of Knossos and
Porcupine).

A history is a list of `Op`s: which key, what (`read`, `write`, `cas`), the value written or
the (value, version) read, and when it was invoked and completed (a monotonic clock shared by
all clients). An op whose outcome the client never learned (connection loss, timeout) is
`unknown`: it may have taken effect at any point after its invocation, or never.

Linearizability is local (Herlihy & Wing): a history is linearizable iff its restriction to
each key is, so each key is checked alone. The model of one znode is (data, version): a write
(setData without a version) sets the data and bumps the version; a cas (setData with an
expected version) does the same if the version matches and fails with BadVersion otherwise;
a read returns both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

State = tuple[Any, int]  # (data, version)


@dataclass
class Op:
    key: str
    kind: str  # "read" | "write" | "cas"
    invoked: float
    completed: float = math.inf  # inf while (or if never) known
    value: Any = None  # written value (write, cas)
    expected_version: Optional[int] = None  # cas
    result: Any = None  # read: (data, version); cas: True/False; write: True
    known: bool = True  # False: the client never learned the outcome
    client: str = ""


@dataclass
class Verdict:
    ok: bool
    key: Optional[str] = None
    detail: str = ""
    explored: int = 0
    checked_ops: int = 0
    keys: list[str] = field(default_factory=list)


def _step(state: State, op: Op) -> Optional[State]:
    """The state after `op` if `op` (with its recorded result) can happen in `state`, else
    None. An unknown op takes whichever outcome the state gives it."""
    data, version = state
    if op.kind == "read":
        return state if (not op.known or op.result == state) else None
    if op.kind == "write":
        return (op.value, version + 1)
    if op.kind == "cas":
        matches = version == op.expected_version
        if not op.known:
            return (op.value, version + 1) if matches else state
        if op.result is True:
            return (op.value, version + 1) if matches else None
        return state if not matches else None
    raise ValueError(f"unknown op kind {op.kind!r}")


def check_key(ops: list[Op], initial: State, budget: int = 2_000_000) -> tuple[bool, int, str]:
    """(linearizable, states explored, detail) for the ops of one key."""
    # Unknown reads constrain nothing: drop them.
    ops = sorted((o for o in ops if o.known or o.kind != "read"), key=lambda o: o.invoked)
    n = len(ops)
    must = sum(1 << i for i, o in enumerate(ops) if o.known)
    seen: set[tuple[int, State]] = set()
    stack: list[tuple[int, State]] = [(0, initial)]
    explored = 0
    deepest = 0
    while stack:
        done, state = stack.pop()
        if done & must == must:
            return True, explored, ""
        if (done, state) in seen:
            continue
        seen.add((done, state))
        explored += 1
        if explored > budget:
            return False, explored, f"search budget of {budget} states exhausted"
        deepest = max(deepest, bin(done & must).count("1"))
        # An op may go next only if no other pending op completed before it was invoked.
        pending = [i for i in range(n) if not done >> i & 1]
        horizon = min((ops[i].completed for i in pending), default=math.inf)
        candidates = []
        for i in pending:
            if ops[i].invoked > horizon:
                break  # sorted by invocation: the rest are later still
            after = _step(state, ops[i])
            if after is not None:
                candidates.append((done | 1 << i, after))
        # Earliest invoked first (popped last pushed): the real-time order is usually right.
        stack.extend(reversed(candidates))
    known = [o for o in ops if o.known]
    return False, explored, (f"no linearization: at most {deepest} of {len(known)} completed "
                             f"ops could be ordered")


def check(history: list[Op], initial: dict[str, State]) -> Verdict:
    keys = sorted({op.key for op in history})
    explored = 0
    for key in keys:
        ops = [op for op in history if op.key == key]
        ok, count, detail = check_key(ops, initial[key])
        explored += count
        if not ok:
            return Verdict(False, key, detail, explored, len(history), keys)
    return Verdict(True, None, "", explored, len(history), keys)
