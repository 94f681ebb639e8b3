"""Build ``Authorization: SREGISTRY-HMAC-SHA256`` headers for the registry API.

Header grammar (one space after the scheme, no space after the comma)::

    SREGISTRY-HMAC-SHA256 Credential=<kind>/<base64 user>/<timestamp>,Signature=<hex>

Singularity Registry Server imports :func:`generate_timestamp` from this module.
"""

from __future__ import annotations

from datetime import datetime

from sregistry.errors import ConfigError
from sregistry.main.registry.utils import (
    SCHEME,
    generate_credential,
    generate_header_signature,
    generate_payload,
    generate_signature,
    generate_timestamp,
)

__all__ = [
    "KINDS",
    "authorization_header",
    "generate_credential",
    "generate_header_signature",
    "generate_payload",
    "generate_signature",
    "generate_timestamp",
]

KINDS = frozenset({"push", "upload", "pull", "delete"})


def authorization_header(  # noqa: PLR0917 - the payload's fields, in payload order
    kind: str,
    username: str,
    token: str,
    collection: str,
    name: str,
    tag: str,
    *,
    now: datetime | None = None,
) -> str:
    """The header value the server expects for one request of ``kind``.

    ``collection`` must already be normalised the way the server normalises it
    (see :func:`sregistry.names.normalize_collection`), because the server
    rebuilds the payload from its own view of the request.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown signature kind {kind!r}")
    credential_user = generate_credential(username)
    if "/" in credential_user:
        raise ConfigError(
            f"the username {username!r} cannot be used with this registry: its base64 form "
            "contains '/', which the server's credential parser splits on"
        )
    timestamp = generate_timestamp(now)
    payload = generate_payload(kind, collection, timestamp, name, tag)
    signature = generate_signature(payload, token)
    return f"{SCHEME} Credential={kind}/{credential_user}/{timestamp},Signature={signature}"
