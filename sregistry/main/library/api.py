"""The one place Library API responses become data or exceptions: :func:`interpret`.

A request's :class:`Call` says what was being done and which answers mean
what; nothing else in the library backend looks at a status code. It knows
the protocol's shapes (``library-api.md`` §3) and Singularity Registry
Server's deviations (``server-api.md`` §0, §2):

* success is ``{"data": ...}`` (a few SRS answers are bare JSON or empty);
* errors are ``{"error": {"code", "message"}}``, or SRS's ``{"message"}`` /
  ``{"detail"}``, or an **empty body** (SRS's 403 and 404): the status alone
  then decides the exception, and the message names it;
* ``apiVersion`` is strict semver; a missing or unparsable one means "legacy".

Nothing here does I/O; it reads ``requests.Response``-like objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import requests

from sregistry.errors import (
    AuthenticationError,
    Frozen,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    SregistryError,
)

__all__ = [
    "ABSENT",
    "V2_TAGS",
    "V2_UPLOAD",
    "Call",
    "Refusal",
    "error_for",
    "interpret",
    "parse_semver",
    "redact_url",
    "server_message",
    "supports",
]

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$"
)
_AUTH_HINT = (
    "check the library token (SREGISTRY_LIBRARY_TOKEN, one stored by `sregistry login`, "
    "or `singularity remote login`)"
)


SemVer = tuple[int, int, int, tuple[int | str, ...]]


def parse_semver(text: object) -> SemVer | None:
    """``(major, minor, patch, prerelease)`` from a strict semver string, else ``None``.

    As the Go client does, ``v2.0.0`` is *not* semver (the leading ``v`` fails).
    """
    if not isinstance(text, str):
        return None
    match = _SEMVER.match(text.strip())
    if match is None:
        return None
    pre = match.group(4)
    fields: tuple[int | str, ...] = ()
    if pre:
        fields = tuple(int(item) if item.isdigit() else item for item in pre.split("."))
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), fields


def _key(version: SemVer) -> tuple[Any, ...]:
    major, minor, patch, pre = version
    # A release sorts after its prereleases; numeric identifiers before alphanumeric ones.
    pre_key = tuple((0, item, "") if isinstance(item, int) else (1, 0, item) for item in pre)
    return (major, minor, patch, 0 if pre else 1, pre_key)


V2_UPLOAD = parse_semver("2.0.0-alpha.1")
"""The first apiVersion with v2 (presigned, multipart) uploads."""
V2_TAGS = parse_semver("2.0.0-alpha.2")
"""The first apiVersion with arch-aware ``/v2/tags``."""


def supports(api_version: SemVer | None, feature: SemVer | None) -> bool:
    """True when ``api_version`` is known and at least ``feature``."""
    if api_version is None or feature is None:
        return False
    return _key(api_version) >= _key(feature)


def redact_url(url: str | None) -> str | None:
    """``url`` without query string or user info (presigned URLs carry signatures)."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _json(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def server_message(response: requests.Response) -> str | None:
    """What the server said about a failure, if it said anything readable."""
    body = _json(response)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])
    if isinstance(body, str) and body:
        return body
    return None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value and str(value).strip().isdigit():
        return float(value)
    return None


def error_for(response: requests.Response, what: str) -> SregistryError:
    """The exception for a failed ``what`` (e.g. ``"look up collection alice/demo"``)."""
    status = response.status_code
    said = server_message(response)
    if said:
        detail = said
    elif status == 429:
        detail = "the server is throttling requests"
    else:
        detail = "no details in the response"
    message = f"{what}: {detail} (HTTP {status})"
    context: dict[str, Any] = {
        "url": redact_url(response.url),
        "status": status,
        "server_message": said,
    }
    lowered = (said or "").lower()
    if status == 401 or (status == 403 and "token not valid" in lowered):
        return AuthenticationError(message, hint=_AUTH_HINT, **context)
    if status == 400 and "frozen" in lowered:
        return Frozen(message, **context)
    if status == 429:
        return RateLimited(message, retry_after=_retry_after(response), **context)
    kind, hint = _BY_STATUS.get(status, (ServerError, None))
    return kind(message, hint=hint, **context)


_BY_STATUS: dict[int, tuple[type[SregistryError], str | None]] = {
    403: (
        PermissionDenied,
        "the token is missing or invalid, or it does not own this entity/collection",
    ),
    404: (NotFound, None),
    413: (PayloadTooLarge, None),
    507: (ServerError, "the library storage quota is exhausted"),
}


class Missing(Enum):
    """The type of :data:`ABSENT`."""

    ABSENT = "absent"


ABSENT = Missing.ABSENT
"""What :func:`interpret` returns for a status in :attr:`Call.absent` ("not here")."""


@dataclass(frozen=True)
class Refusal:
    """The error for one status of one call, when the generic one would mislead."""

    kind: type[SregistryError]
    message: str
    """What happened, e.g. ``this library does not delete images``."""
    hint: str | None = None
    echo: bool = True
    """Add what the server said to the message (it stays in ``server_message`` anyway)."""


@dataclass(frozen=True)
class Call:
    """What a request was for, and what its answers mean."""

    what: str
    """What was being done, e.g. ``look up collection alice/demo`` (starts error messages)."""
    ok: Collection[int] = (200,)
    """Success statuses."""
    read: Literal["data", "json", "nothing"] = "data"
    """On success: the ``{"data": ...}`` envelope's data, the bare JSON body, or
    nothing (the body is left unread, e.g. for a stream or an upload)."""
    allow_empty: bool = False
    """An empty body is a success (``None``), as SRS sends for ``_complete`` and tags."""
    absent: Collection[int] = ()
    """Statuses meaning "not here" (404 on a lookup, 404/405 for a missing
    feature): :data:`ABSENT` is returned instead of an error."""
    refusals: Mapping[int, Refusal] = field(default_factory=dict)
    """Statuses with an error of their own instead of :func:`error_for`'s."""


def _refused(response: requests.Response, refusal: Refusal) -> SregistryError:
    status = response.status_code
    said = server_message(response)
    return refusal.kind(
        f"{refusal.message}{f': {said}' if said and refusal.echo else ''} (HTTP {status})",
        hint=refusal.hint,
        url=redact_url(response.url),
        status=status,
        server_message=said,
    )


def interpret(response: requests.Response, call: Call) -> Any:
    """The answer to ``call``: its data (see :attr:`Call.read`), :data:`ABSENT`,
    or an exception from :mod:`sregistry.errors`."""
    status = response.status_code
    if status in call.absent:
        return ABSENT
    if status not in call.ok:
        refusal = call.refusals.get(status)
        raise _refused(response, refusal) if refusal else error_for(response, call.what)
    if call.read == "nothing":
        return None
    what = call.what
    if not response.content.strip():
        if call.allow_empty:
            return None
        raise ServerError(
            f"{what}: the server answered with an empty body",
            url=redact_url(response.url),
            status=status,
        )
    body = _json(response)
    if body is None:
        raise ServerError(
            f"{what}: the server's answer is not JSON",
            hint="is the URL a Library API server (e.g. https://library.example.org)?",
            url=redact_url(response.url),
            status=status,
        )
    if call.read == "json":
        return body
    if not isinstance(body, dict) or "data" not in body:
        raise ServerError(
            f'{what}: the answer lacks the {{"data": ...}} envelope',
            url=redact_url(response.url),
            status=status,
        )
    return body["data"]
