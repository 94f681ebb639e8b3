"""Test images and a Range-ignoring HTTP server for remote inspect tests."""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sregistry.metadata.sif import DataType, read_sif

__all__ = ["CountingServer", "RangeServer", "counting_server", "padded_sif", "range_server"]


def padded_sif(source: Path, target: Path, padding: int) -> Path:
    """``source``'s primary squashfs partition (no metadata descriptors) placed after
    ``padding`` bytes of a generic object: a squashfs-only image whose file system
    lies ``padding`` bytes into the file."""
    sif = read_sif(source)
    primary = sif.primary_partition
    assert primary is not None
    partition = sif.read_object(primary)
    generic_at = 32768
    fs_at = -(-(generic_at + padding) // 4096) * 4096
    end = fs_at + len(partition)
    header = struct.pack(
        "<32s10s3s3s16sqqqqqqqq",
        b"#!/usr/bin/env run-singularity\n",
        b"SIF_MAGIC\0",
        b"01\0",
        b"02\0",
        bytes(16),
        1700000000,
        1700000000,
        46,
        48,
        4096,
        48 * 585,
        generic_at,
        end - generic_at,
    )

    def descriptor(
        ident: int, kind: int, offset: int, size: int, *, name: bytes, extra: bytes
    ) -> bytes:
        return struct.pack(
            "<i?IIIqqqqqqq128s384s",
            kind, True, ident, 1 | 0xF0000000, 0, offset, size, size,
            1700000000, 1700000000, 0, 0, name, extra,
        )  # fmt: skip

    with target.open("wb") as out:
        out.write(header.ljust(4096, b"\0"))
        out.write(descriptor(1, DataType.GENERIC, generic_at, padding, name=b"padding", extra=b""))
        out.write(
            descriptor(
                2, DataType.PARTITION, fs_at, len(partition), name=b"squashfs", extra=primary.extra
            )
        )
        out.truncate(fs_at)
        out.seek(generic_at)
        pattern = bytes(range(256)) * 4096
        left = padding
        while left:
            out.write(pattern[: min(left, len(pattern))])
            left -= min(left, len(pattern))
        out.seek(fs_at)
        out.write(partition)
    return target


@dataclass
class CountingServer:
    """A loopback HTTP server answering every GET with the whole file (200,
    ``Range`` ignored) and counting the body bytes it managed to send."""

    url: str
    sent: list[int] = field(default_factory=list)
    """Body bytes sent, one entry per request, once the request is over."""


@contextmanager
def counting_server(path: Path, *, send_buffer: int = 64 << 10) -> Iterator[CountingServer]:
    """Serve ``path`` at ``/image.sif`` from a real HTTP server on 127.0.0.1."""
    size = path.stat().st_size
    lock = threading.Lock()
    state = CountingServer("")

    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            sent = 0
            try:
                with path.open("rb") as handle:
                    while block := handle.read(16 << 10):
                        self.wfile.write(block)
                        sent += len(block)
            except OSError:
                pass
            finally:
                with lock:
                    state.sent.append(sent)
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = False  # server_close waits for the handlers (and their counts)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/image.sif"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class RangeServer:
    """A loopback server of one file: ``/image.sif`` answers one ``Range`` with 206;
    ``/redirect`` answers 303 to ``/image.sif``. ``log`` has ``(path, range,
    authorization)`` of every request."""

    url: str
    log: list[tuple[str, str | None, str | None]] = field(default_factory=list)


@contextmanager
def range_server(path: Path) -> Iterator[RangeServer]:
    data = path.read_bytes()
    state = RangeServer("")
    lock = threading.Lock()
    pattern = re.compile(r"^bytes=(\d+)-(\d+)$")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            asked = self.headers.get("Range")
            with lock:
                state.log.append((self.path, asked, self.headers.get("Authorization")))
            if self.path == "/redirect":
                self.send_response(303)
                self.send_header("Location", "/image.sif")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            match = pattern.match(asked or "")
            if match is None:
                self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end = int(match.group(1)), min(int(match.group(2)), len(data) - 1)
            body = data[start : end + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
