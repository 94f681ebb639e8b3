"""Response helpers for the real server's wire formats (bodies, statuses, times)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from tests.server.blobs import FileBody

__all__ = [
    "ZERO_TIME",
    "BadBody",
    "bare_int",
    "detail",
    "empty",
    "file_response",
    "json_body",
    "json_response",
    "library_error",
    "library_time",
    "nginx_error",
    "not_found_html",
    "registry_time",
    "s3_error",
    "server_error",
]

ZERO_TIME = "0001-01-01T00:00:00Z"
MAX_JSON_BODY = 1024 * 1024


class BadBody(ValueError):
    """A JSON request body that is too large or does not parse."""


def json_response(
    value: Any, status: int = 200, *, content_type: str = "application/json"
) -> Response:
    """Compact JSON, as DRF renders it."""
    body = json.dumps(value, separators=(",", ":"))
    return Response(body, status=status, content_type=content_type)


def empty(status: int, headers: dict[str, str] | None = None) -> Response:
    """A response with no body and no Content-Type (library auth failures, R2)."""
    response = Response(b"", status=status, headers=headers)
    del response.headers["Content-Type"]
    return response


def detail(status: int, text: str) -> Response:
    """DRF's ``{"detail": "..."}`` error body."""
    return json_response({"detail": text}, status)


def bare_int(code: int) -> Response:
    """HTTP 200 whose body is a bare integer (``400``, ``429``) on ``/api/container`` (R15)."""
    return json_response(code, 200)


def library_error(code: int, message: str) -> Response:
    """The library error envelope ``{"error": {"code", "message"}}`` with the same status."""
    return json_response({"error": {"code": code, "message": message}}, code)


def not_found_html() -> Response:
    """Django's 404 page for an unknown path."""
    body = (
        '<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n'
        "<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server."
        "</p>\n</body>\n</html>\n"
    )
    return Response(body, status=404, content_type="text/html; charset=utf-8")


def nginx_error(status: int, reason: str) -> Response:
    """nginx's own error page (the real server's proxy answers these, quirk 3)."""
    body = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(body, status=status, content_type="text/html")


def server_error() -> Response:
    """Django's 500 page (registry push failures answer this, R13)."""
    body = (
        '<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n'
        "</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
    )
    return Response(body, status=500, content_type="text/html; charset=utf-8")


def s3_error(status: int, code: str, message: str) -> Response:
    """An S3-style XML error, for the presigned-URL style targets."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
    )
    return Response(body, status=status, content_type="application/xml")


def json_body(request: Request) -> Any:
    """The raw body parsed as JSON whatever the Content-Type (Go clients send none)."""
    length = request.content_length
    if length is not None and length > MAX_JSON_BODY:
        raise BadBody("request body too large")
    raw = request.stream.read(MAX_JSON_BODY + 1)
    if len(raw) > MAX_JSON_BODY:
        raise BadBody("request body too large")
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadBody(f"invalid JSON: {exc}") from exc


def _parse(stored: str) -> datetime:
    return datetime.fromisoformat(stored).astimezone(timezone.utc)


def library_time(stored: str) -> str:
    """``2026-11-26T20:44:06.654280Z`` (the library API's RFC 3339 form)."""
    return _parse(stored).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def registry_time(stored: str) -> str:
    """ISO 8601 in the server's ``TIME_ZONE`` (Django's default ``America/Chicago``)."""
    moment = _parse(stored)
    try:
        from zoneinfo import ZoneInfo

        return moment.astimezone(ZoneInfo("America/Chicago")).isoformat()
    except (ImportError, KeyError, OSError):
        return moment.isoformat()


def file_response(
    request: Request,
    path: Path,
    size: int,
    *,
    ranges: bool,
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
) -> Response:
    """Stream ``path`` in 1 MiB blocks; with ``ranges``, answer one byte range with 206.

    Several ranges, or a malformed header, get the whole body (200); a single
    unsatisfiable range gets 416 with ``Content-Range: bytes */<size>``.
    """
    extra = dict(headers or {})
    start, length, status = 0, size, 200
    requested = request.range if ranges else None
    if ranges:
        extra["Accept-Ranges"] = "bytes"
    if requested is not None and requested.units == "bytes" and len(requested.ranges) == 1:
        span = requested.range_for_length(size)
        if span is None:
            return Response(
                b"", status=416, headers={"Content-Range": f"bytes */{size}"}, content_type=None
            )
        start, stop = span
        length, status = stop - start, 206
        extra["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    extra["Content-Length"] = str(length)
    body: Iterable[bytes] = [] if request.method == "HEAD" else FileBody(path, start, length)
    return Response(
        body,
        status=status,
        headers=extra,
        content_type=content_type,
        direct_passthrough=True,
    )
