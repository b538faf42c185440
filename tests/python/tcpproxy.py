"""A loopback TCP proxy that a test can cut: it lets a client (kazoo) lose its connection to a
keeper without the keeper going down, to test reconnects and session expiry.

`TcpProxy(target_port)` listens on a free 127.0.0.1 port (`.port`, `.address`) and forwards each
connection to 127.0.0.1:target_port. `drop()` closes every open connection (the client sees a
connection loss and reconnects through the proxy); `block()` drops them and refuses new ones until
`unblock()` (the client cannot reach the server at all, so its session expires). One thread runs a
selector loop; `close()` stops it.
"""

from __future__ import annotations

import selectors
import socket
import threading

from servers import free_port


class TcpProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.target = (host, target_port)
        self.port = free_port()
        self.listener = socket.create_server((host, self.port))
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.peers: dict[socket.socket, socket.socket] = {}
        self.blocked = False
        self.accepted = 0
        self._lock = threading.Lock()
        self._commands: list[tuple[str, threading.Event]] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self.selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._running = True
        self._thread = threading.Thread(target=self._loop, name=f"tcpproxy:{self.port}",
                                        daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- control, from the test's thread -------------------------------------------------------

    def _command(self, name: str) -> None:
        done = threading.Event()
        with self._lock:
            self._commands.append((name, done))
        self._wake_w.send(b"x")
        if not done.wait(10):
            raise TimeoutError(f"proxy did not carry out {name}")

    def drop(self) -> None:
        """Closes every proxied connection now."""
        self._command("drop")

    def block(self) -> None:
        """Drops every connection and refuses new ones until `unblock()`."""
        self._command("block")

    def unblock(self) -> None:
        self._command("unblock")

    def close(self) -> None:
        if self._running:
            self._command("stop")
            self._thread.join(10)

    def __enter__(self) -> "TcpProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the loop --------------------------------------------------------------------------------

    def _loop(self) -> None:
        while self._running:
            for key, _ in self.selector.select(timeout=1.0):
                if key.data == "wake":
                    self._wake_r.recv(4096)
                    self._run_commands()
                elif key.fileobj is self.listener:
                    self._accept()
                else:
                    self._forward(key.fileobj)
        for sock in list(self.peers):
            self._close_pair(sock)
        self.selector.close()
        self.listener.close()

    def _run_commands(self) -> None:
        with self._lock:
            commands, self._commands = self._commands, []
        for name, done in commands:
            if name in ("drop", "block", "stop"):
                for sock in list(self.peers):
                    self._close_pair(sock)
            if name == "block":
                self.blocked = True
            elif name == "unblock":
                self.blocked = False
            elif name == "stop":
                self._running = False
            done.set()

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        if self.blocked:
            client.close()
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        self.accepted += 1
        for sock, other in ((client, upstream), (upstream, client)):
            sock.setblocking(True)
            sock.settimeout(5)
            self.peers[sock] = other
            self.selector.register(sock, selectors.EVENT_READ, "peer")

    def _forward(self, sock: socket.socket) -> None:
        other = self.peers.get(sock)
        if other is None:
            return
        try:
            data = sock.recv(65536)
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        self._close_pair(sock)

    def _close_pair(self, sock: socket.socket) -> None:
        other = self.peers.pop(sock, None)
        for s in (sock, other):
            if s is None:
                continue
            self.peers.pop(s, None)
            try:
                self.selector.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
