"""Fault injection: make the next matching request(s) fail in a chosen way.

Faults live in the ``faults`` table, so the test process adds them through
:func:`add_fault` (or the fixture's ``inject_fault``) while the server runs.
Each request takes at most one matching fault (oldest first) and spends one
of its ``times``. What a fault does:

* ``delay``: sleep that many seconds first (for client timeouts);
* ``status`` (with optional ``body``/``headers``): answer it instead of
  handling the request; a request body is read and discarded first so the
  client sees the status rather than a reset. With ``passthrough=True`` the
  request is handled normally first (an upload is stored) and the status
  replaces its response, like a proxy timing out after the file landed;
* ``cut_after=N`` on a request **with a body** (uploads): read N bytes of it,
  then drop the connection without answering;
* ``cut_after=N`` on a request **without a body** (downloads): handle it
  normally, send the headers and the first N bytes of the body, then drop the
  connection (the declared ``Content-Length`` stays whole).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response
from werkzeug.wsgi import LimitedStream

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["Fault", "InjectedDrop", "add_fault", "apply_fault", "clear_faults", "take_fault"]


class InjectedDrop(ConnectionAbortedError):
    """Raised inside the WSGI app to make the server drop the connection."""


@dataclass(frozen=True)
class Fault:
    id: int
    method: str
    path_regex: str
    status: int | None
    body: bytes
    headers: dict[str, str]
    cut_after: int | None
    delay: float
    passthrough: bool


def add_fault(
    db: sqlite3.Connection,
    method: str,
    path_regex: str,
    *,
    status: int | None = None,
    body: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    cut_after: int | None = None,
    delay: float = 0.0,
    passthrough: bool = False,
    times: int = 1,
) -> int:
    """Queue a fault for requests whose method matches (``*`` = any) and whose path
    matches ``path_regex`` (``re.search``); returns its id."""
    re.compile(path_regex)
    if status is None and cut_after is None and not delay:
        raise ValueError("a fault needs a status, cut_after or delay")
    if status is not None and cut_after is not None:
        raise ValueError("choose status or cut_after, not both")
    raw = body.encode() if isinstance(body, str) else body
    cursor = db.execute(
        "INSERT INTO faults (method, path_regex, status, body, headers, cut_after, delay, "
        "passthrough, remaining) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            method.upper(),
            path_regex,
            status,
            raw,
            json.dumps(dict(headers or {})),
            cut_after,
            delay,
            int(passthrough),
            times,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def clear_faults(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM faults")


def pending_faults(db: sqlite3.Connection) -> int:
    """How many fault uses are left."""
    return int(db.execute("SELECT COALESCE(SUM(remaining), 0) FROM faults").fetchone()[0])


def take_fault(db: sqlite3.Connection, method: str, path: str) -> Fault | None:
    """Spend one use of the oldest fault matching this request (inside a write)."""
    rows = db.execute("SELECT * FROM faults WHERE remaining > 0 ORDER BY id").fetchall()
    for row in rows:
        if row["method"] not in {"*", method.upper()} or not re.search(row["path_regex"], path):
            continue
        db.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row["id"],))
        return Fault(
            id=row["id"],
            method=row["method"],
            path_regex=row["path_regex"],
            status=row["status"],
            body=row["body"] or b"",
            headers=json.loads(row["headers"]),
            cut_after=row["cut_after"],
            delay=row["delay"],
            passthrough=bool(row["passthrough"]),
        )
    return None


def _has_body(environ: WSGIEnvironment) -> bool:
    if environ.get("wsgi.input_terminated"):
        return True
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False


def _input(environ: WSGIEnvironment) -> Any:
    if environ.get("wsgi.input_terminated"):
        return environ["wsgi.input"]
    return LimitedStream(environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0))


def _drain(environ: WSGIEnvironment, limit: int | None = None) -> None:
    stream, read = _input(environ), 0
    while limit is None or read < limit:
        chunk = stream.read(1024 * 1024 if limit is None else min(1024 * 1024, limit - read))
        if not chunk:
            return
        read += len(chunk)


def _drop(environ: WSGIEnvironment) -> None:
    connection = environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
    raise InjectedDrop("fault injected: connection dropped")


def _cut(body: Iterable[bytes], limit: int, environ: WSGIEnvironment) -> Iterator[bytes]:
    sent = 0
    try:
        for chunk in body:
            if sent + len(chunk) >= limit:
                yield chunk[: limit - sent]
                _drop(environ)
            sent += len(chunk)
            yield chunk
    finally:
        close: Callable[[], None] | None = getattr(body, "close", None)
        if close is not None:
            close()


def apply_fault(
    fault: Fault,
    app: WSGIApplication,
    environ: WSGIEnvironment,
    start_response: StartResponse,
) -> Iterable[bytes]:
    """Run ``app`` for this request with ``fault`` applied."""
    if fault.delay:
        time.sleep(fault.delay)
    if fault.cut_after is not None and _has_body(environ):
        _drain(environ, fault.cut_after)
        _drop(environ)
    if fault.status is not None:
        if fault.passthrough:
            outcome = app(environ, lambda status, headers, exc_info=None: lambda data: None)
            try:
                for _ in outcome:
                    pass
            finally:
                close: Callable[[], None] | None = getattr(outcome, "close", None)
                if close is not None:
                    close()
        else:
            _drain(environ)
        response = Response(fault.body, status=fault.status, headers=fault.headers)
        if not fault.body:
            del response.headers["Content-Type"]
        return response(environ, start_response)
    body = app(environ, start_response)
    if fault.cut_after is None:
        return body
    return _cut(body, fault.cut_after, environ)
