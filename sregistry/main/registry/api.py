"""The one place registry answers become results or exceptions.

Singularity Registry Server has many ways of saying no (server-api.md §4.3):
HTTP 200 with a bare integer body (``400``, ``403``, ``404``, ``429``), 500
for every refused push, 403 HTML from its rate limiter, ``{"message": ...}``
bodies that are failures unless they say ``Upload Complete``, Django HTML
error pages. :func:`interpret` knows them all; nothing else in the backend
looks at a status code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import requests

from sregistry.errors import (
    AuthenticationError,
    ConfigError,
    Frozen,
    InvalidName,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    SregistryError,
)
from sregistry.main.registry.signing import utc_hour
from sregistry.transfer.retry import parse_retry_after

__all__ = ["UPLOAD_COMPLETE", "Exchange", "Op", "clock_hint", "interpret"]

UPLOAD_COMPLETE = "Upload Complete"
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_THROTTLE_WAIT = re.compile(r"available in (\d+) seconds?", re.IGNORECASE)
_SKEW_TOLERANCE = 60.0


class Op(Enum):
    """What a request was for: the same status means different things per route."""

    PUSH_START = "start the push of"
    UPLOAD = "upload"
    MANIFEST = "look up"
    DOWNLOAD = "download"
    DELETE = "delete"
    SEARCH = "search"
    LABELS = "list labels"


@dataclass(frozen=True)
class Exchange:
    """The context an answer is read in."""

    op: Op
    subject: str
    """What the request was about, e.g. ``dinosaur/avocado:delicious``."""
    user: str | None = None
    """The username that signed, when the request was signed."""
    signed_at: float | None = None
    now: float | None = None
    """When the answer arrived (for hour-boundary hints)."""
    refusal: Callable[[requests.Response], SregistryError] | None = None
    """Builds the error for a refused push (the server answers only 500)."""


@dataclass(frozen=True)
class _Body:
    data: Any
    is_json: bool
    text: str
    title: str | None

    @property
    def detail(self) -> str | None:
        if isinstance(self.data, dict):
            for key in ("detail", "message", "error"):
                value = self.data.get(key)
                if isinstance(value, str) and value:
                    return value
        return self.title

    @property
    def html(self) -> bool:
        return self.title is not None or self.text.lstrip().startswith("<")


def _read(response: requests.Response) -> _Body:
    text = response.text
    try:
        data = json.loads(text) if text.strip() else None
        is_json = bool(text.strip())
    except ValueError:
        data, is_json = None, False
    match = _TITLE.search(text) if not is_json else None
    title = " ".join(match.group(1).split()) if match else None
    return _Body(data, is_json, text, title)


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=timezone.utc).strftime("%H:%M:%S UTC")


def clock_hint(response: requests.Response | None, exchange: Exchange) -> str | None:
    """Why a signature may have been stale: the hour turned, or the clocks disagree."""
    signed_at, now = exchange.signed_at, exchange.now
    if signed_at is None:
        return None
    if now is not None and utc_hour(signed_at) != utc_hour(now):
        return (
            f"the UTC hour turned between signing ({_when(signed_at)}) and the answer "
            f"({_when(now)}); the registry accepts a signature only in the hour it was made, "
            "so try again"
        )
    date = response.headers.get("Date") if response is not None else None
    if date:
        try:
            server = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        if abs(server - signed_at) > _SKEW_TOLERANCE and utc_hour(server) != utc_hour(signed_at):
            return (
                f"your clock ({_when(signed_at)}) and the registry's ({_when(server)}) disagree "
                "on the UTC hour, which signatures depend on: fix the clock (NTP)"
            )
    return None


def _integer_answer(code: int, exchange: Exchange, response: requests.Response) -> SregistryError:
    """The registry's HTTP 200 whose body is a bare status code."""
    subject, url = exchange.subject, response.url
    if code == 400:
        return AuthenticationError(
            f"the registry rejected the signature for {subject} (answer 200 with body 400)",
            hint=clock_hint(response, exchange)
            or "check the username and token (`sregistry config`; a token rotated in the web "
            "interface must be stored again with `sregistry login`) and that this computer's "
            "clock is right (a signature is valid only within its UTC hour)",
            url=url,
            status=200,
            server_message="400",
        )
    if code == 403:
        return PermissionDenied(
            f"the registry refused access to {subject}", url=url, status=200, server_message="403"
        )
    if code == 404:
        return NotFound(f"{subject} was not found", url=url, status=200, server_message="404")
    if code == 429:
        return RateLimited(
            f"the weekly download limit of {subject} is reached",
            hint="the registry resets its counters daily; try again later or ask its admins",
            url=url,
            status=200,
            server_message="429",
        )
    return ServerError(
        f"the registry answered {subject} with the bare code {code}",
        url=url,
        status=200,
        server_message=str(code),
    )


def _success(response: requests.Response, body: _Body, exchange: Exchange) -> Any:
    op, subject, url = exchange.op, exchange.subject, response.url
    if isinstance(body.data, int) and not isinstance(body.data, bool):
        raise _integer_answer(body.data, exchange, response)
    if not body.is_json:
        raise ServerError(
            f"the registry answered {op.value} {subject} with "
            + (f"a web page ({body.title})" if body.html else "something that is not JSON"),
            hint="check the registry URL (SREGISTRY_REGISTRY_BASE or the base option)",
            url=url,
            status=response.status_code,
            server_message=body.title,
        )
    if op is Op.PUSH_START and not (
        isinstance(body.data, dict) and isinstance(body.data.get("cid"), int)
    ):
        raise ServerError(
            f"the registry's answer to the push of {subject} has no collection id", url=url
        )
    if op is Op.UPLOAD:
        _upload_message(body, exchange, response)
    return body.data


def _upload_message(body: _Body, exchange: Exchange, response: requests.Response) -> None:
    """An upload answer is a success only when it says exactly ``Upload Complete``."""
    message = body.data.get("message") if isinstance(body.data, dict) else None
    if message == UPLOAD_COMPLETE:
        return
    text = str(message if message is not None else body.text).strip()
    one_line = " ".join(text.split())
    if "already exists" in text:
        raise Frozen(
            f"{exchange.subject} is frozen on the registry: it cannot be replaced",
            hint="push under another tag",
            url=response.url,
            status=response.status_code,
            server_message=one_line,
        )
    if "too long" in text.lower():
        raise InvalidName(
            f"the registry refused {exchange.subject}: {one_line}",
            hint="use a shorter name or tag",
            url=response.url,
            status=response.status_code,
            server_message=one_line,
        )
    raise ServerError(
        f"the registry did not confirm the upload of {exchange.subject}: "
        + (one_line or "no message"),
        url=response.url,
        status=response.status_code,
        server_message=one_line,
    )


def _forbidden(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    subject, url, detail = exchange.subject, response.url, body.detail
    common: dict[str, Any] = {"url": url, "status": 403, "server_message": detail}
    if exchange.op is Op.DOWNLOAD:
        return RateLimited(
            f"the registry refused the download of {subject}: its weekly download limit is reached",
            hint="the registry resets its counters daily; try again later or ask its admins",
            **common,
        )
    if body.html or not body.is_json:
        return RateLimited(
            f"the registry refused to {exchange.op.value} {subject} (HTTP 403"
            + (f", {body.title})" if body.title else ")"),
            hint="this is usually the registry's per-address rate limit: wait and try again",
            **common,
        )
    return _refused(response, body, exchange)


def _refused(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    """A JSON 403: frozen, private without credentials, a refused delete, not allowed."""
    subject, detail = exchange.subject, body.detail
    common: dict[str, Any] = {"url": response.url, "status": 403, "server_message": detail}
    lowered = (detail or "").lower()
    if "frozen" in lowered:
        return Frozen(f"{subject} is frozen on the registry", hint="it cannot be changed", **common)
    if "authentication required" in lowered:
        return AuthenticationError(
            f"{subject} is in a private collection and no credentials were sent",
            hint="log in with `sregistry login` or set SREGISTRY_REGISTRY_USERNAME and "
            "SREGISTRY_REGISTRY_TOKEN",
            **common,
        )
    if exchange.op is Op.DELETE and lowered == "unauthorized":
        return _delete_refused(response, exchange, common)
    return _denied(exchange, detail, common)


def _delete_refused(
    response: requests.Response, exchange: Exchange, common: dict[str, Any]
) -> SregistryError:
    hint = clock_hint(response, exchange)
    if hint is not None:
        return AuthenticationError(
            f"the registry rejected the signature to delete {exchange.subject}",
            hint=hint,
            **common,
        )
    who = f"{exchange.user!r}" if exchange.user else "you"
    return PermissionDenied(
        f"the registry refused to let {who} delete {exchange.subject}",
        hint="only an owner of the collection may delete its images; if you are one, check "
        "the token (`sregistry config`) and this computer's clock",
        **common,
    )


def _denied(exchange: Exchange, detail: str | None, common: dict[str, Any]) -> PermissionDenied:
    subject = exchange.subject
    who = f"user {exchange.user!r}" if exchange.user else "you"
    if exchange.op is Op.MANIFEST:
        return PermissionDenied(
            f"{who} may not {exchange.op.value} {subject}: not an owner or contributor of its "
            "private collection",
            hint="ask an owner of the collection to add you as a contributor",
            **common,
        )
    return PermissionDenied(
        f"{who} may not {exchange.op.value} {subject}" + (f": {detail}" if detail else ""),
        hint="only owners of a collection may change it; ask one to add you",
        **common,
    )


def _not_found(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    if exchange.op is Op.DOWNLOAD:
        return NotFound(
            f"the registry lists {exchange.subject} but its file cannot be downloaded (HTTP 404)",
            hint="the image may have just been replaced or deleted; try again",
            url=response.url,
            status=404,
            server_message=body.detail,
        )
    if body.html:
        return NotFound(
            f"the registry has no route {response.url}",
            hint="check the registry URL (SREGISTRY_REGISTRY_BASE or the base option): it must "
            "be the server's address, with or without /api",
            url=response.url,
            status=404,
            server_message=body.title,
        )
    if not body.is_json:  # the registry's 404s are JSON ({"detail": "Not found."})
        what = "an empty body" if not body.text.strip() else "something that is not JSON"
        return ServerError(
            f"{urlsplit(response.url).netloc or response.url} does not look like a Singularity "
            f"Registry Server: it answered HTTP 404 to {exchange.op.value} {exchange.subject} "
            f"with {what}",
            hint="check the registry's base URL (SREGISTRY_REGISTRY_BASE or the base option): "
            "it must be the server's address, with or without /api",
            url=response.url,
            status=404,
        )
    return NotFound(
        f"{exchange.subject} was not found on the registry",
        url=response.url,
        status=404,
        server_message=body.detail,
    )


def _server_error(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    status, subject, url = response.status_code, exchange.subject, response.url
    common: dict[str, Any] = {"url": url, "status": status, "server_message": body.detail}
    if status == 500 and exchange.op in {Op.PUSH_START, Op.UPLOAD} and exchange.refusal:
        return exchange.refusal(response)
    if status == 500 and exchange.op is Op.DELETE:
        return ServerError(
            f"the registry failed to delete {subject} (HTTP 500)",
            hint="Singularity Registry Server 2.1.2 answers 500 to every delete of an unfrozen "
            "container (singularityhub/sregistry#329); check with `sregistry list` whether it is "
            "gone, or delete it in the web interface",
            **common,
        )
    reason = response.reason or ""
    return ServerError(
        f"the registry failed to {exchange.op.value} {subject} (HTTP {status} {reason})".replace(
            " )", ")"
        ),
        hint="try again later; if it persists, tell the registry's administrators",
        **common,
    )


def _unauthorized(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    return AuthenticationError(
        f"the registry wants credentials to {exchange.op.value} {exchange.subject}",
        url=response.url,
        status=401,
        server_message=body.detail,
    )


def _too_large(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    return PayloadTooLarge(
        f"the registry (or a proxy in front of it) refused {exchange.subject} as too large "
        "(HTTP 413)",
        hint="ask its administrators to raise the upload size limit (nginx client_max_body_size)",
        url=response.url,
        status=413,
        server_message=body.detail,
    )


def _unsupported(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    return ServerError(
        f"the registry refused the format of the request to {exchange.op.value} "
        f"{exchange.subject} (HTTP 415)",
        hint="check that the registry URL is the server's address (with or without /api)",
        url=response.url,
        status=415,
        server_message=body.detail,
    )


def _throttled(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    wait = parse_retry_after(response.headers.get("Retry-After"))
    match = _THROTTLE_WAIT.search(body.detail or "")
    if wait is None and match:
        wait = float(match.group(1))
    return RateLimited(
        "the registry is throttling requests (HTTP 429)",
        retry_after=wait,
        url=response.url,
        status=429,
        server_message=body.detail,
    )


def _redirected(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    return ConfigError(
        f"the registry redirected the request to {response.headers.get('Location', '?')}",
        hint="use that address as the registry URL (SREGISTRY_REGISTRY_BASE or the base option)",
        url=response.url,
        status=response.status_code,
    )


def _other(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    status = response.status_code
    return ServerError(
        f"the registry answered HTTP {status} to {exchange.op.value} {exchange.subject}"
        + (f": {body.detail}" if body.detail else ""),
        url=response.url,
        status=status,
        server_message=body.detail,
    )


_Builder = Callable[[requests.Response, _Body, Exchange], SregistryError]
_BY_STATUS: dict[int, _Builder] = {
    401: _unauthorized,
    403: _forbidden,
    404: _not_found,
    413: _too_large,
    415: _unsupported,
    429: _throttled,
}


def _failure(response: requests.Response, body: _Body, exchange: Exchange) -> SregistryError:
    status = response.status_code
    if 300 <= status < 400:
        return _redirected(response, body, exchange)
    if status >= 500:
        return _server_error(response, body, exchange)
    return _BY_STATUS.get(status, _other)(response, body, exchange)


def interpret(response: requests.Response, exchange: Exchange) -> Any:
    """The decoded JSON of a successful answer (``None`` for an empty one), or raise.

    For :attr:`Op.DOWNLOAD` a 200/206 is returned untouched (the body is the
    image); the answer is read only when it is an error.
    """
    status = response.status_code
    if exchange.op is Op.DOWNLOAD and status in {200, 206}:
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("text/html"):
            raise ServerError(
                f"the registry answered the download of {exchange.subject} with a web page",
                hint="a proxy or login page may be in the way; check the registry URL",
                url=response.url,
                status=status,
            )
        return None
    if exchange.op is Op.DELETE and status in {200, 202, 204}:
        return None
    body = _read(response)
    if status == 200:
        return _success(response, body, exchange)
    raise _failure(response, body, exchange)
