"""Verify ``Authorization: SREGISTRY-HMAC-SHA256 ...`` headers as the server does.

Grammar (one space, no space after the comma)::

    SREGISTRY-HMAC-SHA256 Credential=<kind>/<base64 user>/<YYYYmmddTHHZ>,Signature=<hex>

The server rebuilds ``<kind>|<collection>|<timestamp>|<name>|<tag>|`` from its
own view of the request, requires the header's timestamp to equal its own hour
(string equality, R12) and compares signatures in constant time. The payload,
timestamp and signature come from :mod:`sregistry.main.registry.utils`, the
functions the real server imports; ``now`` is injectable for clock-skew tests.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sregistry.main.registry.utils import (
    SCHEME,
    generate_payload,
    generate_signature,
    generate_timestamp,
)

__all__ = ["Credential", "HmacError", "parse_header", "verify"]


class HmacError(Exception):
    """The header is missing, malformed, or does not verify.

    ``reason`` is one of ``missing``, ``malformed``, ``kind``, ``stale``,
    ``user`` (unknown username) or ``signature``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def malformed(self) -> bool:
        """The header could not be parsed at all (the real server answers 500)."""
        return self.reason in {"missing", "malformed"}


@dataclass(frozen=True)
class Credential:
    kind: str
    username: str
    timestamp: str
    signature: str


def parse_header(header: str | None) -> Credential:
    """Split the header into its parts; :class:`HmacError` when it does not parse."""
    if not header:
        raise HmacError("missing", "no Authorization header")
    parts = header.split(" ")
    if len(parts) != 2 or parts[0] != SCHEME:
        raise HmacError("malformed", f"expected '{SCHEME} Credential=...,Signature=...'")
    fields = parts[1].split(",")
    if (
        len(fields) != 2
        or not fields[0].startswith("Credential=")
        or not fields[1].startswith("Signature=")
    ):
        raise HmacError("malformed", "expected 'Credential=...,Signature=...'")
    credential = fields[0].removeprefix("Credential=").split("/")
    if len(credential) != 3:
        raise HmacError("malformed", "the credential must be <kind>/<base64 user>/<timestamp>")
    kind, encoded_user, timestamp = credential
    try:
        username = base64.b64decode(encoded_user, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise HmacError("malformed", "the username is not base64 of UTF-8") from exc
    return Credential(kind, username, timestamp, fields[1].removeprefix("Signature="))


def verify(
    header: str | None,
    *,
    kind: str,
    collection: str,
    name: str,
    tag: str,
    token_of: Callable[[str], str | None],
    now: datetime,
) -> str:
    """Check ``header`` for a request of ``kind``; returns the signer's username.

    ``token_of(username)`` gives the user's token, or ``None`` for an unknown user.
    """
    credential = parse_header(header)
    if credential.kind != kind:
        raise HmacError("kind", f"signed for {credential.kind!r}, this request is {kind!r}")
    timestamp = generate_timestamp(now)
    if credential.timestamp != timestamp:
        raise HmacError(
            "stale", f"timestamp {credential.timestamp!r} is not the server's hour {timestamp!r}"
        )
    token = token_of(credential.username)
    if token is None:
        raise HmacError("user", f"unknown user {credential.username!r}")
    payload = generate_payload(kind, collection, timestamp, name, tag)
    expected = generate_signature(payload, token)
    if not hmac.compare_digest(expected, credential.signature):
        raise HmacError("signature", "the signature does not match")
    return credential.username
