"""A small raw ZooKeeper client protocol implementation, for tests that must see exact wire answers.

Kazoo turns replies into exceptions and objects and hides event ordering; the differential tests
need the error code of every reply, every Stat field, the multi results op by op, and where each
watch notification arrived relative to the replies on the same connection. This module gives that:

- `Jute` writer/reader for the jute primitives (big-endian ints and longs, length-prefixed buffers
  and strings with -1 for null, vectors);
- request records as small classes (`Create`, `Delete`, `SetData`, `Check`, `GetData`, ...), each
  knowing its opcode and how to encode itself, so that the same objects serve as single requests
  and as multi/multiRead operations;
- `ZkWire`: one connection (one session). It is synchronous and single-threaded: `submit` sends a
  request and reads frames until its reply arrives; watch notifications read on the way are queued
  in `events` and reported, in arrival order, to an optional `observer` callback together with the
  replies. `send`/`read_reply` allow pipelining (several requests in flight).

Nothing here sleeps: every read has a socket timeout, so a silent server fails the test instead of
hanging it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import socket
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Iterator, Optional

# --- protocol constants (ZooDefs.OpCode, KeeperException.Code, Watcher.Event) --------------------

OPCODES = {
    "notification": 0, "create": 1, "delete": 2, "exists": 3, "getData": 4, "setData": 5,
    "getACL": 6, "setACL": 7, "getChildren": 8, "sync": 9, "ping": 11, "getChildren2": 12,
    "check": 13, "multi": 14, "create2": 15, "reconfig": 16, "checkWatches": 17,
    "removeWatches": 18, "createContainer": 19, "deleteContainer": 20, "createTTL": 21,
    "multiRead": 22, "auth": 100, "setWatches": 101, "sasl": 102, "getEphemerals": 103,
    "getAllChildrenNumber": 104, "setWatches2": 105, "addWatch": 106, "whoAmI": 107,
    "createSession": -10, "closeSession": -11, "error": -1,
}
OPNAMES = {code: name for name, code in OPCODES.items()}

ERRORS = {
    0: "OK", -1: "SYSTEMERROR", -2: "RUNTIMEINCONSISTENCY", -3: "DATAINCONSISTENCY",
    -4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED", -7: "OPERATIONTIMEOUT",
    -8: "BADARGUMENTS", -12: "UNKNOWNSESSION", -13: "NEWCONFIGNOQUORUM",
    -14: "RECONFIGINPROGRESS", -100: "APIERROR", -101: "NONODE", -102: "NOAUTH",
    -103: "BADVERSION", -108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY",
    -112: "SESSIONEXPIRED", -113: "INVALIDCALLBACK", -114: "INVALIDACL", -115: "AUTHFAILED",
    -118: "SESSIONMOVED", -119: "NOTREADONLY", -120: "EPHEMERALONLOCALSESSION",
    -121: "NOWATCHER", -122: "REQUESTTIMEOUT", -123: "RECONFIGDISABLED",
    -124: "SESSIONCLOSEDREQUIRESASLAUTH", -125: "QUOTAEXCEEDED", -127: "THROTTLEDOP",
}

EVENT_TYPES = {
    -1: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
    4: "NodeChildrenChanged", 5: "DataWatchRemoved", 6: "ChildWatchRemoved",
    7: "PersistentWatchRemoved",
}
KEEPER_STATES = {
    0: "Disconnected", 3: "SyncConnected", 4: "AuthFailed", 5: "ConnectedReadOnly",
    6: "SaslAuthenticated", -112: "Expired", 7: "Closed",
}

# CreateMode flags as sent in CreateRequest.flags.
PERSISTENT, EPHEMERAL, PERSISTENT_SEQUENTIAL, EPHEMERAL_SEQUENTIAL = 0, 1, 2, 3
CONTAINER, PERSISTENT_WITH_TTL, PERSISTENT_SEQUENTIAL_WITH_TTL = 4, 5, 6

# Watcher types for checkWatches/removeWatches, and addWatch modes.
WATCH_CHILDREN, WATCH_DATA, WATCH_ANY = 1, 2, 3
ADD_WATCH_PERSISTENT, ADD_WATCH_PERSISTENT_RECURSIVE = 0, 1

# Permission bits.
PERM_READ, PERM_WRITE, PERM_CREATE, PERM_DELETE, PERM_ADMIN = 1, 2, 4, 8, 16
PERM_ALL = 31

# Reserved xids.
XID_NOTIFICATION, XID_PING, XID_AUTH, XID_SET_WATCHES = -1, -2, -4, -8

# ephemeralOwner markers of containers and TTL nodes (EphemeralType).
CONTAINER_OWNER = -(1 << 63)
TTL_OWNER_MARK = -(1 << 56)  # 0xff00000000000000 as a signed long


@dataclass(frozen=True)
class Acl:
    perms: int
    scheme: str
    id: str


def digest_id(user: str, password: str) -> str:
    """The id a `digest` ACL names for user:password: user:base64(sha1(user:password))."""
    hashed = hashlib.sha1(f"{user}:{password}".encode()).digest()
    return f"{user}:{base64.b64encode(hashed).decode()}"


OPEN_ACL_UNSAFE = (Acl(PERM_ALL, "world", "anyone"),)
READ_ACL_UNSAFE = (Acl(PERM_READ, "world", "anyone"),)
CREATOR_ALL_ACL = (Acl(PERM_ALL, "auth", ""),)


@dataclass(frozen=True)
class Stat:
    czxid: int
    mzxid: int
    ctime: int
    mtime: int
    version: int
    cversion: int
    aversion: int
    ephemeralOwner: int
    dataLength: int
    numChildren: int
    pzxid: int


@dataclass(frozen=True)
class Event:
    type: str
    state: str
    path: str


# --- jute primitives -----------------------------------------------------------------------------

class JuteWriter:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def int(self, v: int) -> "JuteWriter":
        self.parts.append(struct.pack(">i", v))
        return self

    def long(self, v: int) -> "JuteWriter":
        self.parts.append(struct.pack(">q", v))
        return self

    def bool(self, v: bool) -> "JuteWriter":
        self.parts.append(b"\x01" if v else b"\x00")
        return self

    def buffer(self, v: Optional[bytes]) -> "JuteWriter":
        if v is None:
            return self.int(-1)
        self.int(len(v))
        self.parts.append(bytes(v))
        return self

    def string(self, v: Optional[str]) -> "JuteWriter":
        return self.buffer(None if v is None else v.encode())

    def strings(self, items) -> "JuteWriter":
        self.int(len(items))
        for item in items:
            self.string(item)
        return self

    def acls(self, acls) -> "JuteWriter":
        if acls is None:
            return self.int(-1)
        self.int(len(acls))
        for acl in acls:
            self.int(acl.perms).string(acl.scheme).string(acl.id)
        return self

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


class JuteReader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError(
                f"record truncated: need {n} bytes at {self.pos} of {len(self.data)}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def long(self) -> int:
        return struct.unpack(">q", self._take(8))[0]

    def bool(self) -> bool:
        return self._take(1) != b"\x00"

    def buffer(self) -> Optional[bytes]:
        n = self.int()
        return None if n < 0 else self._take(n)

    def string(self) -> Optional[str]:
        raw = self.buffer()
        return None if raw is None else raw.decode()

    def strings(self) -> Optional[list[str]]:
        n = self.int()
        return None if n < 0 else [self.string() for _ in range(n)]

    def stat(self) -> Stat:
        return Stat(czxid=self.long(), mzxid=self.long(), ctime=self.long(), mtime=self.long(),
                    version=self.int(), cversion=self.int(), aversion=self.int(),
                    ephemeralOwner=self.long(), dataLength=self.int(), numChildren=self.int(),
                    pzxid=self.long())

    def acls(self) -> Optional[list[Acl]]:
        n = self.int()
        return None if n < 0 else [Acl(self.int(), self.string(), self.string()) for _ in range(n)]

    def remaining(self) -> bytes:
        return self._take(len(self.data) - self.pos)

    def at_end(self) -> bool:
        return self.pos == len(self.data)


class ProtocolError(Exception):
    """The server sent something this client cannot parse, or closed the connection."""


# --- request records -----------------------------------------------------------------------------
# Each request knows its opcode name (`OP`, or `opname()` where it depends on the fields) and
# encodes its body; `describe()` is what a transcript shows.

@dataclass
class Request:
    OP: ClassVar[str] = ""

    def opname(self) -> str:
        return self.OP

    def encode(self, w: JuteWriter) -> None:
        pass

    def describe(self, zxid: Callable[[int], Any] = lambda z: z) -> str:
        """`op(path, field=value...)`, leaving out fields that have their default value; fields
        that hold a zxid are shown through `zxid` (so a transcript can normalise them)."""
        shown = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("zxid"):
                value = zxid(value)
            if f.name == "path":
                shown.append(repr(value))
            elif f.default is dataclasses.MISSING or value != f.default:
                shown.append(f"{f.name}={value!r}")
        return f"{self.opname()}({', '.join(shown)})"


def _request_kind(base: type, name: str, op: str) -> type:
    """A request class that is `base` (which says how to encode the body) with opcode `op`."""
    return type(name, (base,), {"OP": op, "__module__": __name__})


@dataclass
class Create(Request):
    """create/create2/createContainer/createTTL, chosen from the flags as the Java client does;
    `op` picks create (1) or create2 (15) for the other modes."""
    path: str
    data: Optional[bytes] = b""
    acl: Any = OPEN_ACL_UNSAFE
    flags: int = PERSISTENT
    ttl: Optional[int] = None
    op: str = "create2"

    def opname(self) -> str:
        if self.flags == CONTAINER:
            return "createContainer"
        ttl_modes = (PERSISTENT_WITH_TTL, PERSISTENT_SEQUENTIAL_WITH_TTL)
        if self.flags in ttl_modes or self.ttl is not None:
            return "createTTL"
        return self.op

    def encode(self, w: JuteWriter) -> None:
        w.string(self.path).buffer(self.data).acls(self.acl).int(self.flags)
        if self.opname() == "createTTL":
            w.long(self.ttl if self.ttl is not None else -1)


@dataclass
class _PathVersion(Request):
    path: str
    version: int = -1

    def encode(self, w: JuteWriter) -> None:
        w.string(self.path).int(self.version)


Delete = _request_kind(_PathVersion, "Delete", "delete")
Check = _request_kind(_PathVersion, "Check", "check")


@dataclass
class SetData(Request):
    OP = "setData"
    path: str
    data: Optional[bytes]
    version: int = -1

    def encode(self, w: JuteWriter) -> None:
        w.string(self.path).buffer(self.data).int(self.version)


@dataclass
class _PathWatch(Request):
    path: str
    watch: bool = False

    def encode(self, w: JuteWriter) -> None:
        w.string(self.path).bool(self.watch)


Exists = _request_kind(_PathWatch, "Exists", "exists")
GetData = _request_kind(_PathWatch, "GetData", "getData")
GetChildren = _request_kind(_PathWatch, "GetChildren", "getChildren")
GetChildren2 = _request_kind(_PathWatch, "GetChildren2", "getChildren2")


@dataclass
class _PathOnly(Request):
    path: str

    def encode(self, w: JuteWriter) -> None:
        w.string(self.path)


GetAcl = _request_kind(_PathOnly, "GetAcl", "getACL")
Sync = _request_kind(_PathOnly, "Sync", "sync")
GetAllChildrenNumber = _request_kind(_PathOnly, "GetAllChildrenNumber", "getAllChildrenNumber")
GetEphemerals = _request_kind(_PathOnly, "GetEphemerals", "getEphemerals")


@dataclass
class SetAcl(Request):
    OP = "setACL"
    path: str
    acl: Any
    version: int = -1

    def encode(self, w: JuteWriter) -> None:
        w.string(self.path).acls(self.acl).int(self.version)


@dataclass
class _PathMode(Request):
    """path + an int: addWatch's mode, or the watcher type of checkWatches/removeWatches."""
    path: str
    mode: int = WATCH_ANY

    def encode(self, w: JuteWriter) -> None:
        w.string(self.path).int(self.mode)


AddWatch = _request_kind(_PathMode, "AddWatch", "addWatch")
CheckWatches = _request_kind(_PathMode, "CheckWatches", "checkWatches")
RemoveWatches = _request_kind(_PathMode, "RemoveWatches", "removeWatches")
WhoAmI = _request_kind(Request, "WhoAmI", "whoAmI")
Ping = _request_kind(Request, "Ping", "ping")
CloseSession = _request_kind(Request, "CloseSession", "closeSession")


@dataclass
class Auth(Request):
    OP = "auth"
    scheme: str
    auth: bytes

    def encode(self, w: JuteWriter) -> None:
        w.int(0).string(self.scheme).buffer(self.auth)


@dataclass
class SetWatches(Request):
    """setWatches (101), or setWatches2 (105) when persistent watches are given."""
    relative_zxid: int = field(metadata={"zxid": True})
    data: tuple = ()
    exist: tuple = ()
    child: tuple = ()
    persistent: Optional[tuple] = None
    persistent_recursive: Optional[tuple] = None

    def opname(self) -> str:
        two = self.persistent is not None or self.persistent_recursive is not None
        return "setWatches2" if two else "setWatches"

    def encode(self, w: JuteWriter) -> None:
        w.long(self.relative_zxid).strings(self.data).strings(self.exist).strings(self.child)
        if self.opname() == "setWatches2":
            w.strings(self.persistent or ()).strings(self.persistent_recursive or ())


@dataclass
class _Ops(Request):
    ops: list = field(default_factory=list)

    def encode(self, w: JuteWriter) -> None:
        for op in self.ops:
            w.int(OPCODES[op.opname()]).bool(False).int(-1)
            op.encode(w)
        w.int(-1).bool(True).int(-1)

    def describe(self, zxid: Callable[[int], Any] = lambda z: z) -> str:
        return f"{self.opname()}[{'; '.join(op.describe(zxid) for op in self.ops)}]"


Multi = _request_kind(_Ops, "Multi", "multi")
MultiRead = _request_kind(_Ops, "MultiRead", "multiRead")


@dataclass
class Raw(Request):
    """Any opcode with a hand-made body, for malformed-input tests."""
    code: int
    body: bytes = b""

    def opname(self) -> str:
        return OPNAMES.get(self.code, f"op{self.code}")

    def encode(self, w: JuteWriter) -> None:
        w.parts.append(self.body)


SPECIAL_XIDS = {"ping": XID_PING, "auth": XID_AUTH, "setWatches": XID_SET_WATCHES,
                "setWatches2": XID_SET_WATCHES}


# --- replies -------------------------------------------------------------------------------------

def error_name(code: int) -> str:
    return ERRORS.get(code, f"UNKNOWN({code})")


def _decode_body(opname: str, r: JuteReader) -> Any:
    """Decodes a reply body by the opcode of its request. Bodies this client has no decoder for
    (and bytes a decoder leaves over) are returned raw, so that they still get compared."""
    if opname == "create":
        return {"path": r.string()}
    if opname in ("create2", "createContainer", "createTTL"):
        return {"path": r.string(), "stat": r.stat()}
    if opname in ("exists", "setData", "setACL"):
        return {"stat": r.stat()}
    if opname == "getData":
        return {"data": r.buffer(), "stat": r.stat()}
    if opname == "getACL":
        return {"acl": r.acls(), "stat": r.stat()}
    if opname in ("getChildren", "getEphemerals"):
        return {"children": r.strings()}
    if opname == "getChildren2":
        return {"children": r.strings(), "stat": r.stat()}
    if opname == "sync":
        return {"path": r.string()}
    if opname == "getAllChildrenNumber":
        return {"total": r.int()}
    if opname == "whoAmI":
        return {"clientInfo": [(r.string(), r.string()) for _ in range(r.int())]}
    if opname in ("multi", "multiRead"):
        return {"results": _decode_multi(r)}
    return None


def _decode_multi(r: JuteReader) -> list:
    results = []
    while True:
        op, done, err = r.int(), r.bool(), r.int()
        if done:
            if (op, err) != (-1, -1):
                results.append({"op": "end", "type": op, "header_err": err})
            return results
        name = OPNAMES.get(op, f"op{op}")
        if name == "error":
            results.append({"op": "error", "err": error_name(r.int()), "header_err": err})
        else:
            body = _decode_body(name, r) if name not in ("delete", "check") else None
            results.append({"op": name, "header_err": err, **(body or {})})


@dataclass
class Reply:
    op: str
    xid: int
    zxid: int
    err: int
    body: Any = None
    extra: bytes = b""  # bytes after the decoded body: must be empty for a well-formed reply
    request: Optional["Request"] = None  # what was asked

    @property
    def error(self) -> str:
        return error_name(self.err)

    @property
    def ok(self) -> bool:
        return self.err == 0

    def __getitem__(self, key: str) -> Any:
        return self.body[key]


@dataclass
class ConnectResponse:
    protocol_version: int
    timeout: int
    session_id: int
    passwd: bytes
    read_only: Optional[bool]


class ZkError(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(f"{reply.op} failed: {reply.error}")
        self.reply = reply


Observer = Callable[["ZkWire", str, Any], None]


class ZkWire:
    """One client connection. `submit(request)` sends it and returns its `Reply`; events read while
    waiting are kept in `events` (and passed to `observer`) in arrival order."""

    def __init__(self, address: str, *, timeout_ms: int = 30000, session_id: int = 0,
                 passwd: bytes = b"\0" * 16, last_zxid: int = 0, read_only: bool = False,
                 io_timeout: float = 10.0, observer: Optional[Observer] = None,
                 name: str = "") -> None:
        host, port = address.rsplit(":", 1)
        self.name = name
        self.observer = observer
        self.events: deque[Event] = deque()
        self.last_zxid = last_zxid
        self._xid = 0
        self._pending: dict[int, Request] = {}
        self._buffer = b""
        self.sock = socket.create_connection((host, int(port)), timeout=io_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = (JuteWriter().int(0).long(last_zxid).int(timeout_ms).long(session_id)
                   .buffer(passwd).bool(read_only).getvalue())
        self._send_frame(request)
        r = JuteReader(self._read_frame())
        self.connect_response = ConnectResponse(r.int(), r.int(), r.long(), r.buffer(),
                                                None if r.at_end() else r.bool())
        self.session_id = self.connect_response.session_id
        self.passwd = self.connect_response.passwd
        self.timeout = self.connect_response.timeout
        self.closed = False

    # -- framing ----------------------------------------------------------------------------------

    def _send_frame(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def _recv_exact(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProtocolError("connection closed by server")
            self._buffer += chunk
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def _read_frame(self) -> bytes:
        (length,) = struct.unpack(">i", self._recv_exact(4))
        if length < 0 or length > 64 << 20:
            raise ProtocolError(f"bad frame length {length}")
        return self._recv_exact(length)

    # -- requests ---------------------------------------------------------------------------------

    def send(self, request: Request, xid: Optional[int] = None) -> int:
        """Sends a request without waiting; returns its xid."""
        name = request.opname()
        if xid is None:
            xid = SPECIAL_XIDS.get(name)
        if xid is None:
            self._xid += 1
            xid = self._xid
        w = JuteWriter().int(xid).int(OPCODES.get(name, getattr(request, "code", 0)))
        request.encode(w)
        self._pending[xid] = request
        self._send_frame(w.getvalue())
        return xid

    def read_reply(self, xid: Optional[int] = None) -> Reply:
        """Reads frames until a reply (to `xid`, or to any request if None) arrives."""
        while True:
            reply = self._read_one()
            if reply is not None and (xid is None or reply.xid == xid):
                return reply

    def _read_one(self) -> Optional[Reply]:
        """Reads one frame: queues an event (returning None) or returns a reply."""
        r = JuteReader(self._read_frame())
        xid, zxid, err = r.int(), r.long(), r.int()
        if xid == XID_NOTIFICATION:
            event = Event(EVENT_TYPES.get(r.int(), "?"), KEEPER_STATES.get(r.int(), "?"),
                          r.string())
            self.events.append(event)
            self._notify("event", event)
            return None
        request = self._pending.pop(xid, None)
        if request is None:
            raise ProtocolError(f"reply with unexpected xid {xid}")
        if zxid > 0:
            self.last_zxid = max(self.last_zxid, zxid)
        name = request.opname()
        body = None if r.at_end() else _decode_body(name, r)
        reply = Reply(name, xid, zxid, err, body, r.remaining(), request)
        self._notify("reply", reply)
        return reply

    def submit(self, request: Request) -> Reply:
        return self.read_reply(self.send(request))

    def must(self, request: Request) -> Reply:
        """`submit`, raising `ZkError` unless the reply is OK."""
        reply = self.submit(request)
        if not reply.ok:
            raise ZkError(reply)
        return reply

    def pipeline(self, requests: Iterable[Request],
                 window: int = 64) -> Iterator[tuple[Request, Reply]]:
        """Sends `requests` keeping up to `window` in flight; yields (request, reply) in order.
        A broken connection raises from the generator: everything yielded before was answered."""
        in_flight: deque[tuple[int, Request]] = deque()
        requests = iter(requests)
        exhausted = False
        while True:
            while not exhausted and len(in_flight) < window:
                request = next(requests, None)
                if request is None:
                    exhausted = True
                else:
                    in_flight.append((self.send(request), request))
            if not in_flight:
                return
            xid, request = in_flight.popleft()
            yield request, self.read_reply(xid)

    def _notify(self, kind: str, item: Any) -> None:
        if self.observer is not None:
            self.observer(self, kind, item)

    # -- conveniences -----------------------------------------------------------------------------

    def create(self, path, data=b"", acl=OPEN_ACL_UNSAFE, flags=PERSISTENT, ttl=None, op="create2"):
        return self.submit(Create(path, data, acl, flags, ttl, op))

    def delete(self, path, version=-1):
        return self.submit(Delete(path, version))

    def exists(self, path, watch=False):
        return self.submit(Exists(path, watch))

    def get_data(self, path, watch=False):
        return self.submit(GetData(path, watch))

    def set_data(self, path, data, version=-1):
        return self.submit(SetData(path, data, version))

    def get_children(self, path, watch=False):
        return self.submit(GetChildren(path, watch))

    def get_children2(self, path, watch=False):
        return self.submit(GetChildren2(path, watch))

    def get_acl(self, path):
        return self.submit(GetAcl(path))

    def set_acl(self, path, acl, version=-1):
        return self.submit(SetAcl(path, acl, version))

    def sync(self, path):
        return self.submit(Sync(path))

    def multi(self, *ops):
        return self.submit(Multi(list(ops)))

    def multi_read(self, *ops):
        return self.submit(MultiRead(list(ops)))

    def add_auth(self, scheme, auth: bytes):
        return self.submit(Auth(scheme, auth))

    def whoami(self):
        return self.submit(WhoAmI())

    def add_watch(self, path, mode=ADD_WATCH_PERSISTENT):
        return self.submit(AddWatch(path, mode))

    def remove_watches(self, path, type=WATCH_ANY):
        return self.submit(RemoveWatches(path, type))

    def check_watches(self, path, type=WATCH_ANY):
        return self.submit(CheckWatches(path, type))

    def ping(self):
        return self.submit(Ping())

    def wait_event(self, timeout: float = 10.0) -> Event:
        """Returns the oldest unconsumed event, waiting up to `timeout` seconds for one."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            while not self.events:
                self._read_one()
        except socket.timeout:
            raise TimeoutError(f"no watch event within {timeout}s") from None
        finally:
            self.sock.settimeout(old)
        return self.events.popleft()

    def take_events(self) -> list[Event]:
        """Every event the server sent before answering a ping sent now (so: every event caused by
        a request that has been answered), removed from the queue."""
        self.ping()
        events = list(self.events)
        self.events.clear()
        return events

    def close(self) -> Optional[Reply]:
        """Closes the session (closeSession request), then the socket."""
        if self.closed:
            return None
        self.closed = True
        try:
            return self.submit(CloseSession())
        except (OSError, ProtocolError):
            return None
        finally:
            self.sock.close()

    def drop(self) -> None:
        """Closes the socket without closing the session, as a client that lost its connection."""
        self.closed = True
        self.sock.close()

    def __enter__(self) -> "ZkWire":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
