"""The one place Distribution answers become results or exceptions.

Registries answer errors as ``{"errors": [{"code", "message", "detail"}]}``
(OCI distribution-spec §error codes), sometimes with an empty body (HEAD, many
proxies). :func:`interpret` reads the status and the first error code in the
light of what was asked (:class:`Op`) and raises the matching
:mod:`sregistry.errors` class; nothing else in the backend looks at a status.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum

import requests

from sregistry.errors import (
    AuthenticationError,
    IntegrityError,
    InvalidName,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    SregistryError,
)
from sregistry.transfer.http import redact
from sregistry.transfer.retry import parse_retry_after

__all__ = ["ErrorBody", "Exchange", "Op", "error_body", "error_for", "interpret"]

log = logging.getLogger("sregistry.oras")
_BODY_LIMIT = 64 << 10


class Op(Enum):
    """What a request was for: the same status means different things per route."""

    PROBE = "reach"
    BLOB_CHECK = "check a blob of"
    MOUNT = "mount a blob into"
    UPLOAD = "upload to"
    UPLOAD_STATUS = "resume an upload to"
    MANIFEST_PUT = "push"
    MANIFEST_GET = "look up"
    BLOB_GET = "download"
    TAGS = "list the tags of"
    CATALOG = "list the repositories of"
    DELETE = "delete"
    LOGIN = "get a token for"


@dataclass(frozen=True)
class Exchange:
    """The context an answer is read in."""

    op: Op
    subject: str
    """What the request was about, e.g. ``oras://ghcr.io/alice/img:1``."""
    authenticated: bool = False
    """Whether credentials were sent (an anonymous 401 asks for a login)."""
    host: str = ""
    """The registry, for hints."""


@dataclass(frozen=True)
class ErrorBody:
    """The first entry of a Distribution error body."""

    code: str | None
    message: str | None


def _read_limited(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_content(8192):
            chunks.append(chunk)
            total += len(chunk)
            if total >= _BODY_LIMIT:
                break
    except (requests.exceptions.RequestException, OSError):  # such a body says nothing
        log.debug("the error body could not be read", exc_info=True)
    return b"".join(chunks)[:_BODY_LIMIT]


def error_body(response: requests.Response) -> ErrorBody:
    """The first ``errors[]`` entry of an answer, or empty fields."""
    raw = _read_limited(response)
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError:
        data = None
    errors = data.get("errors") if isinstance(data, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, dict):
        return ErrorBody(None, None)
    code, message = first.get("code"), first.get("message")
    return ErrorBody(
        code if isinstance(code, str) else None, message if isinstance(message, str) else None
    )


def interpret(
    response: requests.Response, exchange: Exchange, expect: Collection[int] = (200,)
) -> None:
    """Return when the status is one of ``expect``; else raise what it means."""
    if response.status_code in expect:
        return
    try:
        raise error_for(response, exchange)
    finally:
        response.close()


def _login_hint(exchange: Exchange) -> str:
    host = exchange.host or "the registry"
    return (
        f"no credentials for {host} were found: log in to it, or add them to "
        "~/.docker/config.json or a credential helper"
    )


@dataclass(frozen=True)
class _Answer:
    response: requests.Response
    body: ErrorBody
    exchange: Exchange

    @property
    def said(self) -> str:
        return f": {self.body.message}" if self.body.message else ""

    @property
    def doing(self) -> str:
        return f"{self.exchange.op.value} {self.exchange.subject}"

    def make(
        self, kind: type[SregistryError], message: str, hint: str | None = None
    ) -> SregistryError:
        return kind(
            message,
            hint=hint,
            url=redact(self.response.url),
            status=self.response.status_code,
            server_message=self.body.message,
        )


def _unauthorized(answer: _Answer) -> SregistryError:
    exchange = answer.exchange
    if not exchange.authenticated:
        return answer.make(
            AuthenticationError,
            f"{exchange.subject} needs credentials to {exchange.op.value} it",
            _login_hint(exchange),
        )
    if "insufficient_scope" in answer.response.headers.get("WWW-Authenticate", ""):
        return answer.make(PermissionDenied, f"the registry does not let you {answer.doing}")
    return answer.make(
        AuthenticationError,
        f"the registry refused the credentials for {exchange.subject}{answer.said}",
        "check the username and password or token",
    )


def _refused(answer: _Answer) -> SregistryError | None:
    """403, 404 and 405 (a delete the registry does not allow)."""
    status, subject = answer.response.status_code, answer.exchange.subject
    if status == 403:
        return answer.make(
            PermissionDenied, f"the registry does not let you {answer.doing}{answer.said}"
        )
    if answer.exchange.op is Op.CATALOG and status in {404, 405}:
        return answer.make(
            NotFound,
            f"{subject} does not list its repositories (no catalog)",
            "name a repository to list its tags",
        )
    if status == 404:
        return answer.make(NotFound, _not_found(answer.body.code, subject))
    if status == 405 and answer.exchange.op is Op.DELETE:
        return answer.make(
            PermissionDenied,
            f"the registry does not allow deletes ({subject} was kept)",
            "deletes are disabled on this registry (Distribution: storage.delete.enabled)",
        )
    return None


def _invalid(answer: _Answer) -> SregistryError | None:
    """400 with a code that says what was wrong, 413 and 429."""
    status, code, subject = answer.response.status_code, answer.body.code, answer.exchange.subject
    if status == 400 and code in {"DIGEST_INVALID", "SIZE_INVALID"}:
        return answer.make(
            IntegrityError,
            f"the registry received other bytes than were sent for {subject}{answer.said}",
            "nothing was stored; try again",
        )
    if status == 400 and code in {"NAME_INVALID", "TAG_INVALID"}:
        return answer.make(InvalidName, f"the registry refused the name {subject}{answer.said}")
    if status == 413:
        return answer.make(PayloadTooLarge, f"the registry refused {subject} as too large")
    if status == 429:
        return RateLimited(
            f"the registry is rate-limiting requests ({answer.doing})",
            retry_after=parse_retry_after(answer.response.headers.get("Retry-After")),
            hint="wait and try again, or log in (anonymous limits are lower)",
            url=redact(answer.response.url),
            status=status,
            server_message=answer.body.message,
        )
    return None


def error_for(response: requests.Response, exchange: Exchange) -> SregistryError:
    """The exception for an unexpected answer (reads at most 64 KiB of its body)."""
    answer = _Answer(response, error_body(response), exchange)
    if response.status_code == 401:
        return _unauthorized(answer)
    found = _refused(answer) or _invalid(answer)
    if found is not None:
        return found
    code = f" ({answer.body.code})" if answer.body.code else ""
    return answer.make(
        ServerError,
        f"the registry answered HTTP {response.status_code}{code} to {answer.doing}{answer.said}",
    )


_NOT_FOUND = {
    "NAME_UNKNOWN": "the repository of {} does not exist",
    "MANIFEST_UNKNOWN": "{} was not found (no such tag or digest)",
    "BLOB_UPLOAD_UNKNOWN": "the registry no longer knows the upload to {}",
    "BLOB_UPLOAD_INVALID": "the registry no longer knows the upload to {}",
    "BLOB_UNKNOWN": "a blob of {} is missing from the registry",
}


def _not_found(code: str | None, subject: str) -> str:
    return _NOT_FOUND.get(code or "", "{} was not found").format(subject)
