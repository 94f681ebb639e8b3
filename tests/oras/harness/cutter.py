"""A TCP proxy on loopback that cuts one request of the client's choosing.

``CuttingProxy(upstream_port)`` forwards every connection to the upstream
port. :meth:`CuttingProxy.cut` arms it: on the ``occurrence``-th request whose
first line starts with ``prefix`` (e.g. ``b"PATCH "``), it forwards the
request head and ``body_bytes`` bytes of the body, then

* ``settle=False``: resets both connections at once (the server may still be
  reading when the client notices);
* ``settle=True``: ends the request towards the server (FIN), waits until the
  server has answered and closed, drops that answer, and only then resets the
  client, so the server's state is settled before the client asks about it.

With ``response_bytes`` set instead, the request passes whole and its
*answer* is cut after that many bytes (head included): a download broken
mid-way.

Everything else passes untouched.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

__all__ = ["CuttingProxy"]

SETTLE_TIMEOUT = 10.0


@dataclass
class _Plan:
    prefix: bytes
    occurrence: int
    body_bytes: int
    settle: bool
    response_bytes: int | None = None
    seen: int = 0
    done: bool = False


@dataclass
class _Pair:
    client: socket.socket
    server: socket.socket
    muted: threading.Event = field(default_factory=threading.Event)
    """Drop what the server sends (the client must not see the answer)."""
    server_closed: threading.Event = field(default_factory=threading.Event)
    response_budget: int | None = None
    """Bytes of the current answer still to forward before cutting (``None``: no cut)."""


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (no orderly shutdown), as a cut network does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)  # wakes a thread blocked in recv; sends nothing
    with contextlib.suppress(OSError):
        sock.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class CuttingProxy:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:upstream``; cuts as armed."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._plan: _Plan | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._pairs: list[_Pair] = []
        self.cuts = 0
        self._spawn(self._accept)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(
        self,
        prefix: bytes,
        *,
        occurrence: int = 1,
        body_bytes: int = 0,
        settle: bool = False,
        response_bytes: int | None = None,
    ) -> None:
        """Arm one cut (see the module docstring)."""
        with self._lock:
            self._plan = _Plan(prefix, occurrence, body_bytes, settle, response_bytes)

    def close(self) -> None:
        """Stop accepting, close every connection, join the threads."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            for sock in (pair.client, pair.server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
            server.settimeout(None)
            pair = _Pair(client, server)
            with self._lock:
                self._pairs.append(pair)
            self._spawn(self._client_to_server, pair)
            self._spawn(self._server_to_client, pair)

    def _server_to_client(self, pair: _Pair) -> None:
        with contextlib.suppress(OSError):
            while data := pair.server.recv(65536):
                budget = pair.response_budget
                if budget is not None and len(data) >= budget:
                    pair.client.sendall(data[:budget])
                    _reset(pair.server)
                    # FIN, not RST: a reset may discard what the client has not read yet
                    pair.client.shutdown(socket.SHUT_RDWR)
                    pair.client.close()
                    break
                if budget is not None:
                    pair.response_budget = budget - len(data)
                if not pair.muted.is_set():
                    pair.client.sendall(data)
        pair.server_closed.set()
        if not pair.muted.is_set():
            with contextlib.suppress(OSError):
                pair.client.shutdown(socket.SHUT_WR)

    def _take_plan(self, head: bytes) -> _Plan | None:
        """The plan when this request is the one to cut."""
        with self._lock:
            plan = self._plan
            if plan is None or plan.done or not head.startswith(plan.prefix):
                return None
            plan.seen += 1
            if plan.seen != plan.occurrence:
                return None
            plan.done = True
            self.cuts += 1
            return plan

    def _client_to_server(self, pair: _Pair) -> None:
        """Forward requests one by one (head, then Content-Length body bytes)."""
        client, server = pair.client, pair.server
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = client.recv(65536)
                    if not data:
                        server.shutdown(socket.SHUT_WR)
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                head += b"\r\n\r\n"
                length = _content_length(head)
                plan = self._take_plan(head)
                server.sendall(head)
                if plan is None or plan.response_bytes is not None:
                    if plan is not None:
                        pair.response_budget = plan.response_bytes
                    buffer = self._forward(client, server, buffer, length)
                    continue
                self._forward(client, server, buffer, min(plan.body_bytes, length))
                if plan.settle:
                    pair.muted.set()
                    server.shutdown(socket.SHUT_WR)
                    pair.server_closed.wait(SETTLE_TIMEOUT)
                else:
                    _reset(server)
                _reset(client)
                return
        except OSError:
            return

    @staticmethod
    def _forward(client: socket.socket, server: socket.socket, buffer: bytes, length: int) -> bytes:
        """Send ``length`` body bytes (from ``buffer``, then the client); the rest of the buffer."""
        sent = 0
        while sent < length:
            if not buffer:
                buffer = client.recv(65536)
                if not buffer:
                    return b""
            piece = buffer[: length - sent]
            server.sendall(piece)
            sent += len(piece)
            buffer = buffer[len(piece) :]
        return buffer
