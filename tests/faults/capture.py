"""A raw HTTP/1.1 server on loopback that records every byte a client sends.

Each connection reads one request (head and, when announced, body), keeps the
raw bytes, and lets ``answer(head) -> bytes | None`` write the reply (``None``:
hold the connection open without answering until the server closes).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CaptureServer", "canned", "read_request"]


def read_request(conn: socket.socket, sink: bytearray) -> bytes | None:
    """Read one request from ``conn`` into ``sink``; its head, or ``None`` at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        sink += chunk
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
        elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            sink += chunk
            rest += chunk
    else:
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            sink += chunk
            rest += chunk
    return head


def canned(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 response that closes its connection."""
    lines = [f"HTTP/1.1 {status} X"]
    merged = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    lines += [f"{name}: {value}" for name, value in merged.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class CaptureServer:
    """Serves ``answer`` on ``host``:<free port>; ``received`` holds every byte sent to it."""

    answer: Callable[[bytes], bytes | None] = field(default=lambda head: canned(500))
    host: str = "127.0.0.1"
    received: bytearray = field(default_factory=bytearray)
    heads: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sock = socket.create_server((self.host, 0))
        self._sock.settimeout(0.1)
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._open.append(conn)
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        sink = bytearray()
        try:
            while True:
                head = read_request(conn, sink)
                with self._lock:
                    self.received += sink
                sink.clear()
                if head is None:
                    return
                self.heads.append(head)
                reply = self.answer(head)
                if reply is None:
                    self._stop.wait()
                    return
                conn.sendall(reply)
                if b"Connection: close" in reply:
                    return
        except OSError:
            return
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        for conn in self._open:
            conn.close()
        self._thread.join(timeout=2)
