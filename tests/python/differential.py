"""The differential harness: run one scripted scenario against two servers and compare what each
connection saw, after normalising what may legitimately differ.

A scenario is a function `script(run: Run)`. It opens named connections with `run.client("a")`
(a `zkwire.ZkWire`) and issues requests; every reply and every watch notification arriving on a
connection is recorded, in arrival order, into the run's transcript, so the order of events
relative to replies is part of what is compared. `run.note(label, value)` records anything else.

Normalisation (`Normaliser`), applied to both transcripts alike:
- zxids (Stat czxid/mzxid/pzxid and reply-header zxids) are replaced by their order of first
  appearance in the transcript ("z1", "z2", ...), 0 stays 0: equal zxids stay equal, different ones
  stay different, and their order is kept, whatever the absolute values;
- ctime and mtime: 0 stays 0; a current wall-clock time becomes "now" (mtime "=ctime" when the
  node was never modified and mtime equals ctime); anything else is shown raw;
- ephemeralOwner: 0, "session:<connection name>", "container", "ttl(<ms>)", or the raw value;
- session ids in connect responses become the connection's name; passwords their length;
- child lists, getEphemerals lists and whoAmI lists are sorted (ZooKeeper returns them in
  hash-set order, which no client may rely on).
"""

from __future__ import annotations

import dataclasses
import difflib
import time
from typing import Any, Callable

from servers import ServerProcess
from zkwire import CONTAINER_OWNER, TTL_OWNER_MARK, Event, Reply, Stat, ZkWire

# How far a server's clock may be from ours for a ctime/mtime to count as "now", in ms.
CLOCK_SLACK_MS = 120_000

Script = Callable[["Run"], None]


class Run:
    """One scenario run against one server."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.transcript: list[tuple[str, str, Any]] = []
        self.clients: dict[str, ZkWire] = {}
        self.session_names: dict[int, str] = {}
        self.started_ms = int(time.time() * 1000)

    def client(self, name: str, **kwargs) -> ZkWire:
        """Opens connection `name` (replacing an older one of that name: pass `session_id` and
        `passwd` to resume its session)."""
        kwargs.setdefault("timeout_ms", 30000)
        client = ZkWire(self.server.hosts, name=name, observer=self._observe, **kwargs)
        self.clients[name] = client
        if client.session_id:
            self.session_names.setdefault(client.session_id, name)
        self.transcript.append((name, "connect", client.connect_response))
        return client

    def note(self, label: str, value: Any) -> None:
        self.transcript.append(("note", label, value))

    def _observe(self, client: ZkWire, kind: str, item: Any) -> None:
        self.transcript.append((client.name, kind, item))

    def close(self) -> None:
        for client in self.clients.values():
            if not client.closed:
                client.drop()


class Normaliser:
    def __init__(self, run: Run) -> None:
        self.session_names = run.session_names
        self.window = (run.started_ms - CLOCK_SLACK_MS, int(time.time() * 1000) + CLOCK_SLACK_MS)
        self.zxids: dict[int, str] = {0: "0"}

    def zxid(self, value: int) -> str:
        if value not in self.zxids:
            self.zxids[value] = f"z{len(self.zxids)}"
        return self.zxids[value]

    def time(self, value: int) -> Any:
        if value == 0:
            return 0
        return "now" if self.window[0] <= value <= self.window[1] else value

    def owner(self, value: int) -> Any:
        if value == 0:
            return 0
        if value in self.session_names:
            return f"session:{self.session_names[value]}"
        if value == CONTAINER_OWNER:
            return "container"
        if value & TTL_OWNER_MARK == TTL_OWNER_MARK:
            return f"ttl({value & 0xFF_FFFF_FFFF})"
        return hex(value)

    def stat(self, stat: Stat) -> dict:
        out = dataclasses.asdict(stat)
        for key in ("czxid", "mzxid", "pzxid"):
            out[key] = self.zxid(stat.__dict__[key])
        out["ctime"] = self.time(stat.ctime)
        unmodified = stat.mzxid == stat.czxid and stat.mtime == stat.ctime
        out["mtime"] = "=ctime" if unmodified and stat.ctime else self.time(stat.mtime)
        out["ephemeralOwner"] = self.owner(stat.ephemeralOwner)
        return out

    def value(self, value: Any, key: str = "") -> Any:
        if isinstance(value, Stat):
            return self.stat(value)
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            items = [self.value(v) for v in value]
            return sorted(items, key=repr) if key in ("children", "clientInfo") else items
        return value

    def entry(self, who: str, kind: str, item: Any) -> str:
        if kind == "reply":
            body = self.value(item.body)
            extra = f" +{item.extra.hex()}" if item.extra else ""
            return (f"{who}: {item.request.describe(self.zxid)} -> {item.error} "
                    f"zxid={self.zxid(item.zxid)} "
                    f"{body}{extra}")
        if kind == "event":
            return f"{who}: event {item.type} {item.state} {item.path}"
        if kind == "connect":
            return (f"{who}: connect -> protocol={item.protocol_version} timeout={item.timeout} "
                    f"session={self.session_names.get(item.session_id, item.session_id)} "
                    f"passwd={len(item.passwd)} bytes read_only={item.read_only}")
        return f"note {kind}: {self.value(item)}"


def normalise(run: Run) -> list[str]:
    normaliser = Normaliser(run)
    return [normaliser.entry(*entry) for entry in run.transcript]


def transcript_of(script: Script, server: ServerProcess, reference: bool = True) -> list[str]:
    """Runs `script` against `server` and returns the normalised transcript. Against the
    reference server an exception from the script is a broken scenario and propagates; against
    the server under test it ends the transcript (as a last line saying so), so that the
    comparison shows where the two parted."""
    run = Run(server)
    try:
        script(run)
    except Exception as error:  # noqa: BLE001
        if reference:
            raise
        run.note("script stopped", f"{type(error).__name__}: {error}")
    finally:
        run.close()
    return normalise(run)


def assert_same_transcripts(expected: list[str], actual: list[str],
                            expected_name: str, actual_name: str) -> None:
    if expected != actual:
        diff = "\n".join(difflib.unified_diff(expected, actual, expected_name, actual_name,
                                              lineterm="", n=3))
        raise AssertionError(f"{actual_name} answered differently from {expected_name}:\n{diff}")


__all__ = ["Run", "Script", "transcript_of", "assert_same_transcripts", "Event", "Reply"]
