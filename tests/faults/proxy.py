"""A fault-injecting HTTP/1.1 proxy of our own, between the client and the reference server.

Every connection carries one request (the proxy answers ``Connection: close``).
The request is read whole, matched against the :class:`Fault` list (first
match with tries left wins) and then forwarded, answered instead, or damaged
on its way back. Every byte the client sends is kept in ``received`` so tests
can assert that no credential crossed the wire.

Faults (``action``):

* ``cut``: forward, then send ``at`` bytes of the response body and close
  with a FIN (``rst=False``) or a reset (``rst=True``);
* ``flip``: forward, invert one body byte at ``at``;
* ``stall``: ``where="before"`` answers nothing, ``"body"`` sends the headers
  and ``at`` body bytes then nothing, ``"upload"`` stops reading the request
  body after ``at`` bytes; the connection stays open until the client gives up;
* ``status``: answer ``status`` (with ``Retry-After: retry_after`` when set)
  instead of forwarding (``after=False``) or after forwarding (``after=True``:
  the server did the work, the client hears an error);
* ``no_length``: forward, drop ``Content-Length`` (the body ends at close);
* ``redirect``: answer 307 to the same path on ``location`` (another address);
* ``body``: answer ``status`` with ``headers`` and ``payload`` (a hostile
  server: control characters, invalid JSON, huge bodies; ``payload`` may be
  an iterator of chunks, sent chunked when ``chunked=True``).

``at`` may be a float below 1: a fraction of the body.
"""

from __future__ import annotations

import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.faults.capture import read_request

__all__ = ["Fault", "Proxy"]


@dataclass
class Fault:
    action: str
    method: str = "*"
    path: str = ".*"
    times: int = 1
    at: float = 0.5
    rst: bool = False
    where: str = "before"
    status: int = 500
    retry_after: str | None = None
    after: bool = False
    location: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    payload: Any = b""
    chunked: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.hits < self.times
            and self.method in {"*", method}
            and re.search(self.path, path) is not None
        )


def _split(response: bytes) -> tuple[bytes, bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return head, body


def _dechunk(body: bytes) -> bytes:
    out, rest = bytearray(), body
    while rest:
        line, _, rest = rest.partition(b"\r\n")
        size = int(line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2 :]
    return bytes(out)


def _headers(head: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    lines = head.split(b"\r\n")
    pairs = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        pairs.append((name.strip(), value.strip()))
    return lines[0], pairs


def _join(first: bytes, pairs: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    return b"\r\n".join([first, *(n + b": " + v for n, v in pairs)]) + b"\r\n\r\n" + body


def _normalised(response: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    """Status line, headers (Content-Length set, close) and the decoded body."""
    head, body = _split(response)
    first, pairs = _headers(head)
    if any(n.lower() == b"transfer-encoding" for n, _ in pairs):
        body = _dechunk(body)
    keep = [
        (n, v)
        for n, v in pairs
        if n.lower() not in {b"transfer-encoding", b"content-length", b"connection"}
    ]
    keep += [(b"Content-Length", str(len(body)).encode()), (b"Connection", b"close")]
    return first, keep, body


class Proxy:
    """Listens on ``host``:<free port> and forwards to ``upstream`` (``host:port``)."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.received = bytearray()
        self.heads: list[bytes] = []
        self.applied: list[str] = []
        self.resumed = 0
        """Answers 206 to a range that starts past byte 0 (a download continued)."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.create_server((host, 0))
        self._sock.settimeout(0.1)
        self._tls = tls
        self.host = host
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        port = self._sock.getsockname()[1]
        return f"{'https' if self._tls else 'http'}://{self.host}:{port}"

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=2)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _fault_for(self, head: bytes) -> Fault | None:
        method, path = [*head.split(b"\r\n")[0].decode("latin-1").split(" "), "", ""][:2]
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    self.applied.append(f"{fault.action} {method} {path}")
                    return fault
        return None

    def _one(self, conn: socket.socket) -> None:
        try:
            if self._tls is not None:
                conn = self._tls.wrap_socket(conn, server_side=True)
            conn.settimeout(30)
            self._handle(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            conn.close()

    def _read_head(self, conn: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        return data

    def _handle(self, conn: socket.socket) -> None:
        first = self._read_head(conn)
        if first is None:
            return
        head = first.partition(b"\r\n\r\n")[0]
        fault = self._fault_for(head)
        self.heads.append(head)
        if fault is not None and fault.action == "stall" and fault.where == "upload":
            with self._lock:
                self.received += first
            got = len(first)
            while got < fault.at:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                with self._lock:
                    self.received += chunk
                got += len(chunk)
            self._hold(conn)
            return
        sink = bytearray()
        request = self._rest_of_request(conn, first, sink)
        with self._lock:
            self.received += sink
        if fault is None:
            conn.sendall(self._forward(request))
            return
        getattr(self, f"_do_{fault.action}")(conn, request, fault)

    def _rest_of_request(self, conn: socket.socket, first: bytes, sink: bytearray) -> bytes:
        class _Prefilled:
            def __init__(self) -> None:
                self.pending = first

            def recv(self, size: int) -> bytes:
                if self.pending:
                    out, self.pending = self.pending, b""
                    return out
                return conn.recv(size)

        read_request(_Prefilled(), sink)  # type: ignore[arg-type]
        return bytes(sink)

    def _forward(self, request: bytes) -> bytes:
        head, _, body = request.partition(b"\r\n\r\n")
        first, pairs = _headers(head)
        pairs = [(n, v) for n, v in pairs if n.lower() != b"connection"]
        pairs.append((b"Connection", b"close"))
        with socket.create_connection(self.upstream, timeout=60) as up:
            up.sendall(_join(first, pairs, body))
            chunks = []
            while chunk := up.recv(1 << 20):
                chunks.append(chunk)
        first_line, headers, payload = _normalised(b"".join(chunks))
        ranged = [v for n, v in pairs if n.lower() == b"range"]
        if b" 206 " in first_line + b" " and ranged and not ranged[0].startswith(b"bytes=0-"):
            with self._lock:
                self.resumed += 1
        if self._tls is not None:  # a TLS-terminating proxy rewrites its own redirects
            plain = self.url.replace("https://", "http://").encode()
            headers = [
                (n, v.replace(plain, self.url.encode()) if n.lower() == b"location" else v)
                for n, v in headers
            ]
        return _join(first_line, headers, payload)

    def _hold(self, conn: socket.socket) -> None:
        """Keep the connection open, silent, until the client or the test gives up."""
        conn.settimeout(0.2)
        while not self._stop.is_set():
            try:
                if not conn.recv(65536):
                    return
            except TimeoutError:
                continue

    @staticmethod
    def _offset(fault: Fault, size: int) -> int:
        return int(fault.at * size) if fault.at < 1 else int(fault.at)

    def _do_cut(self, conn: socket.socket, request: bytes, fault: Fault) -> None:
        head, body = _split(self._forward(request))
        conn.sendall(head + b"\r\n\r\n" + body[: self._offset(fault, len(body))])
        if fault.rst:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            conn.shutdown(socket.SHUT_WR)

    def _do_flip(self, conn: socket.socket, request: bytes, fault: Fault) -> None:
        head, body = _split(self._forward(request))
        damaged = bytearray(body)
        if damaged:
            spot = min(self._offset(fault, len(body)), len(body) - 1)
            damaged[spot] ^= 0xFF
        conn.sendall(head + b"\r\n\r\n" + bytes(damaged))

    def _do_stall(self, conn: socket.socket, request: bytes, fault: Fault) -> None:
        if fault.where == "body":
            head, body = _split(self._forward(request))
            conn.sendall(head + b"\r\n\r\n" + body[: self._offset(fault, len(body))])
        self._hold(conn)

    def _do_status(self, conn: socket.socket, request: bytes, fault: Fault) -> None:
        if fault.after:
            self._forward(request)
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = fault.retry_after
        self._send(conn, fault.status, headers, b"")

    def _do_no_length(self, conn: socket.socket, request: bytes, fault: Fault) -> None:
        first, headers, body = _normalised(self._forward(request))
        headers = [(n, v) for n, v in headers if n.lower() != b"content-length"]
        conn.sendall(_join(first, headers, body))
        conn.shutdown(socket.SHUT_WR)

    def _do_redirect(self, conn: socket.socket, request: bytes, fault: Fault) -> None:
        path = request.split(b"\r\n")[0].split(b" ")[1].decode("latin-1")
        self._send(conn, 307, {"Location": fault.location + path}, b"")

    def _do_body(self, conn: socket.socket, request: bytes, fault: Fault) -> None:
        if fault.chunked:
            status = f"HTTP/1.1 {fault.status} X\r\n"
            names = "".join(f"{n}: {v}\r\n" for n, v in fault.headers.items())
            conn.sendall(f"{status}{names}Transfer-Encoding: chunked\r\n\r\n".encode())
            for chunk in fault.payload:
                if self._stop.is_set():
                    return
                conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
            return
        payload = fault.payload
        if isinstance(payload, bytes):
            self._send(conn, fault.status, fault.headers, payload)
            return
        length = fault.headers.get("Content-Length")
        status = f"HTTP/1.1 {fault.status} X\r\n"
        names = "".join(f"{n}: {v}\r\n" for n, v in fault.headers.items())
        conn.sendall(f"{status}{names}Connection: close\r\n\r\n".encode())
        assert length is not None
        for chunk in payload:
            conn.sendall(chunk)
        conn.shutdown(socket.SHUT_WR)

    @staticmethod
    def _send(conn: socket.socket, status: int, headers: dict[str, str], body: bytes) -> None:
        merged = {"Content-Length": str(len(body)), "Connection": "close", **headers}
        lines = [f"HTTP/1.1 {status} X", *(f"{n}: {v}" for n, v in merged.items())]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def blocks(total: int, block: int = 1 << 20, fill: bytes = b"x") -> Iterable[bytes]:
    """``total`` bytes in blocks (a huge body without holding it in memory)."""
    sent = 0
    while sent < total:
        size = min(block, total - sent)
        sent += size
        yield fill * size


def endless(block: bytes = b"y" * 65536, seconds: float = 60.0) -> Iterable[bytes]:
    """Chunks for ``seconds`` (an endless body as far as any client is concerned)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        yield block
