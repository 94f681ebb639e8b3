"""SREGISTRY-HMAC-SHA256 primitives, byte-for-byte compatible with sregistry-cli 0.2.39.

Singularity Registry Server imports :func:`generate_timestamp` from here (and
through :mod:`sregistry.main.registry.auth`) at start-up, so this module stays
free of side effects and of imports beyond the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone

__all__ = [
    "generate_credential",
    "generate_header_signature",
    "generate_payload",
    "generate_signature",
    "generate_timestamp",
]

SCHEME = "SREGISTRY-HMAC-SHA256"


def _encode(item: str | bytes) -> bytes:
    return item if isinstance(item, bytes) else item.encode("utf-8")


def generate_timestamp(now: datetime | None = None) -> str:
    """The hour-resolution UTC timestamp the server compares for equality, e.g. ``20261126T20Z``."""
    moment = now.astimezone(timezone.utc) if now is not None else datetime.now(timezone.utc)
    return moment.strftime("%Y%m%dT%HZ")


def generate_credential(s: str) -> str:
    """Standard base64 (with padding) of the UTF-8 username: ``vsoch`` -> ``dnNvY2g=``."""
    return base64.b64encode(_encode(s)).decode("ascii")


def generate_signature(payload: str | bytes, secret: str | bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``payload`` keyed with the token."""
    return hmac.new(_encode(secret), msg=_encode(payload), digestmod=hashlib.sha256).hexdigest()


def generate_payload(kind: str, collection: str, timestamp: str, name: str, tag: str) -> str:
    """The signed payload ``<kind>|<collection>|<timestamp>|<name>|<tag>|`` (trailing bar)."""
    return f"{kind}|{collection}|{timestamp}|{name}|{tag}|"


def generate_header_signature(secret: str | bytes, payload: str | bytes, request_type: str) -> str:
    """Legacy header without the username (``Credential=<kind>/<timestamp>``).

    Kept only because sregistry-cli 0.2.39 exported it; the server rejects this
    form. Use :func:`sregistry.main.registry.auth.authorization_header`.
    """
    credential = f"{request_type}/{generate_timestamp()}"
    return f"{SCHEME} Credential={credential},Signature={generate_signature(payload, secret)}"
