"""S3 storage for the registry: ``moto_server`` (moto in server mode) on loopback,
behind a recording proxy.

:class:`MotoS3` starts ``moto_server -H 127.0.0.1 -p PORT``, waits until it
answers, creates the bucket, and puts a :class:`RecordingProxy` in front of it:
the registry's ``regionendpoint`` is the proxy, so the presigned URLs the
registry redirects blob GETs to name the proxy too, and every request that
reaches "storage" (the registry's own signed S3 calls and the clients' GETs of
presigned URLs) is recorded with its headers.
"""

from __future__ import annotations

import http.client
import http.server
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.oras.harness.distribution import S3_BUCKET as BUCKET
from tests.oras.harness.distribution import STARTUP_TIMEOUT, free_port, stop_process

__all__ = ["BUCKET", "MotoS3", "RecordingProxy", "StorageRequest"]

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


@dataclass(frozen=True)
class StorageRequest:
    method: str
    path: str
    headers: dict[str, str]


class RecordingProxy:
    """Forwards every request to ``127.0.0.1:upstream`` and records it."""

    def __init__(self, upstream: int) -> None:
        self.requests: list[StorageRequest] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = dict(self.headers.items())
                outer.requests.append(StorageRequest(self.command, self.path, headers))
                connection = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
                try:
                    sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
                    if body is not None:
                        sent["Content-Length"] = str(len(body))
                    connection.request(self.command, self.path, body=body, headers=sent)
                    answer = connection.getresponse()
                    data = answer.read()
                finally:
                    connection.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _any  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class MotoS3:
    """A running ``moto_server`` with :data:`BUCKET`, and the proxy in front of it."""

    def __init__(self, root: Path, *, executable: str = "moto_server") -> None:
        self.root = root
        self.executable = executable
        self.port = 0
        self.proxy: RecordingProxy | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """What the registry's ``regionendpoint`` names: the recording proxy."""
        assert self.proxy is not None, "moto_server is not running"
        return self.proxy.url

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        with (self.root / "moto.log").open("ab") as log:
            self._process = subprocess.Popen(
                [self.executable, "-H", "127.0.0.1", "-p", str(self.port)],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self._process.returncode}")
            try:
                create = urllib.request.Request(f"{url}/{BUCKET}", method="PUT")
                with urllib.request.urlopen(create, timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"moto_server did not answer on {url}") from None
                time.sleep(0.1)
        self.proxy = RecordingProxy(self.port)

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
            self.proxy = None
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)
