"""Why did the registry refuse a push? It answers HTTP 500 to every refusal.

Three causes look the same on the wire: a signature made in another UTC hour
than the server's (or a skewed clock), a token the server does not know (or
that belongs to someone else), and a user who may not push to the collection.
The first shows in the times; the second is told apart by asking the same
server's library API who owns the token (``GET /v1/entities`` with the token
as Bearer). That probe is made only over HTTPS or to a loopback address, so
the token itself never crosses a network in clear text.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

import requests

from sregistry.errors import AuthenticationError, PermissionDenied, SregistryError
from sregistry.main.registry.api import Exchange, clock_hint
from sregistry.main.registry.urls import RegistryUrls
from sregistry.transfer.http import Timeout, Transport

__all__ = ["explain_refusal", "token_owner"]

log = logging.getLogger("sregistry.registry")
_PROBE_TIMEOUT = Timeout(10.0, 20.0)


def _may_probe(root: str) -> bool:
    parts = urlsplit(root)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_owner(transport: Transport, urls: RegistryUrls, token: str) -> str | None:
    """The username the server gives for ``token``: ``""`` when it does not know
    the token, ``None`` when it cannot tell (no library API, not allowed to probe)."""
    if not _may_probe(urls.root):
        return None
    try:
        response = transport.request(
            "GET",
            urls.entity_probe(),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=_PROBE_TIMEOUT,
            log_as=f"{urls.root}/v1/entities (token check)",
        )
    except SregistryError as exc:
        log.debug("token check failed: %s", exc)
        return None
    with response:
        if response.status_code == 404 and not response.content.strip():
            return ""
        if response.status_code != 200:
            return None
        try:
            data = response.json()
        except ValueError:
            return None
    entity = data.get("data") if isinstance(data, dict) else None
    name = entity.get("name") if isinstance(entity, dict) else None
    return name if isinstance(name, str) else None


def explain_refusal(
    response: requests.Response,
    exchange: Exchange,
    *,
    owner: str | None,
    collection: str,
) -> SregistryError:
    """The precise error for a push the registry answered with HTTP 500."""
    common: dict[str, Any] = {"url": response.url, "status": response.status_code}
    user = exchange.user or "?"
    hint = clock_hint(response, exchange)
    if hint is not None:
        return AuthenticationError(
            f"the registry refused the signature to {exchange.op.value} {exchange.subject}",
            hint=hint,
            **common,
        )
    if owner == "":
        return AuthenticationError(
            f"the registry does not accept the token of {user!r}",
            hint="check SREGISTRY_REGISTRY_TOKEN or run `sregistry login` again (a token changes "
            "when it is rotated in the web interface)",
            **common,
        )
    if owner is not None and owner != exchange.user:
        return AuthenticationError(
            f"the token belongs to {owner!r}, not to {user!r}",
            hint=f"sign as {owner!r} (--username / SREGISTRY_REGISTRY_USERNAME) or use "
            f"{user!r}'s own token",
            **common,
        )
    who = "you are" if owner is None else f"{user!r} is"
    return PermissionDenied(
        f"the registry refused to let {user!r} push to collection {collection!r}",
        hint=f"{'if the token is right, ' if owner is None else ''}{who} not an owner of "
        f"{collection!r}, or the registry does not let users create collections "
        "(USER_COLLECTIONS); ask an owner or the registry's administrators",
        **common,
    )
