"""A TCP proxy on loopback that cuts one request of the client's choosing.

``CuttingProxy(upstream_port)`` forwards every connection to the upstream
port. :meth:`CuttingProxy.cut` arms it: on the ``occurrence``-th request whose
first line starts with ``prefix`` (e.g. ``b"PATCH "``), it forwards the
request head and then ``body_bytes`` bytes of the body, and closes both sides.
With ``body_bytes=0`` the registry receives a request without its body; with
more it receives part of it. Everything else passes untouched.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass

__all__ = ["CuttingProxy"]


@dataclass
class _Plan:
    prefix: bytes
    occurrence: int
    body_bytes: int
    seen: int = 0
    done: bool = False


class CuttingProxy:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:upstream``; cuts as armed."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._plan: _Plan | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._closed = False
        self.cuts = 0
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(self, prefix: bytes, *, occurrence: int = 1, body_bytes: int = 0) -> None:
        """Arm one cut (see the module docstring)."""
        with self._lock:
            self._plan = _Plan(prefix, occurrence, body_bytes)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
            for target in (self._client_to_server, self._server_to_client):
                thread = threading.Thread(target=target, args=(client, server), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _server_to_client(self, client: socket.socket, server: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                client.sendall(data)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)

    def _take_plan(self, head: bytes) -> int | None:
        """Bytes of body to let through when this request is the one to cut."""
        with self._lock:
            plan = self._plan
            if plan is None or plan.done or not head.startswith(plan.prefix):
                return None
            plan.seen += 1
            if plan.seen != plan.occurrence:
                return None
            plan.done = True
            self.cuts += 1
            return plan.body_bytes

    def _client_to_server(self, client: socket.socket, server: socket.socket) -> None:
        """Forward requests one by one (head, then Content-Length body bytes)."""
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
                allowed = self._take_plan(head)
                server.sendall(head)
                if allowed is not None:
                    self._forward(client, server, buffer, min(allowed, length))
                    _reset(server)
                    _reset(client)
                    return
                buffer = self._forward(client, server, buffer, length)
        except OSError:
            return

    def _forward(
        self, client: socket.socket, server: socket.socket, buffer: bytes, length: int
    ) -> bytes:
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


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (no orderly shutdown), as a cut network does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0
