"""A tiny real HTTP/1.1 server on loopback for transport tests.

Each test installs a handler ``(request) -> None`` that writes the answer with
the helpers of :class:`Request`. Every request is recorded (method, path,
headers, body) so tests assert on what really crossed the socket.
"""

from __future__ import annotations

import http.server
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Handler", "LocalServer", "Recorded", "Request", "Serve"]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int = 0


class Request:
    """The handler's view of one request."""

    def __init__(self, handler: http.server.BaseHTTPRequestHandler, recorded: Recorded) -> None:
        self.handler = handler
        self.recorded = recorded

    @property
    def path(self) -> str:
        return self.recorded.path

    def header(self, name: str) -> str | None:
        return self.handler.headers.get(name)

    def send(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        length: int | None = None,
        cut_after: int | None = None,
    ) -> None:
        """Answer; ``length`` overrides Content-Length, ``cut_after`` drops the
        connection after that many body bytes."""
        self.handler.send_response(status)
        for name, value in (headers or {}).items():
            self.handler.send_header(name, value)
        self.handler.send_header("Content-Length", str(len(body) if length is None else length))
        self.handler.end_headers()
        if self.recorded.method == "HEAD":
            return
        if cut_after is not None:
            self.handler.wfile.write(body[:cut_after])
            self.handler.wfile.flush()
            self.handler.close_connection = True
            self.handler.connection.shutdown(2)
            return
        self.handler.wfile.write(body)


Handler = Callable[[Request], None]
Serve = Callable[[Handler], "LocalServer"]
"""The ``serve`` fixture (tests/unit/conftest.py): start a server for a handler."""


class _Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class LocalServer:
    """Serves ``handler`` on 127.0.0.1:<free port>."""

    handler: Handler = field(default=lambda request: request.send(200, b"ok"))
    requests: list[Recorded] = field(default_factory=list)
    tls: tuple[str, str] | None = None
    """``(certificate file, key file)`` to serve HTTPS."""

    def __post_init__(self) -> None:
        outer = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    body,
                    self.client_address[1],
                )
                outer.requests.append(recorded)
                outer.handler(Request(self, recorded))

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any  # noqa: N815 - http.server names

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = _Threaded(("127.0.0.1", 0), _Handler)
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._server.server_port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
