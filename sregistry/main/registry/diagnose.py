"""Why did the registry refuse a push? It answers HTTP 500 to every refusal.

Several causes look the same on the wire (server-api.md §3.6, §7): a
signature made in another UTC hour than the server's (or a skewed clock), a
token the server does not know or that belongs to someone else, a user who is
not an owner of the collection, and a server that does not let ordinary users
create (or push to) collections (``USER_COLLECTIONS``). The times tell the
first; whether the collection exists (``GET /api/collection/<name>`` is ``{}``
when no such public collection exists) narrows the rest.

The registry token is an HMAC key: it never leaves this machine, in any
request, so the questions asked here carry no credentials at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from sregistry.errors import AuthenticationError, PermissionDenied, SregistryError
from sregistry.main.registry.api import Exchange, clock_hint
from sregistry.main.registry.urls import RegistryUrls
from sregistry.transfer.http import Timeout, Transport

__all__ = ["Probe", "explain_refusal"]

log = logging.getLogger("sregistry.registry")
_PROBE_TIMEOUT = Timeout(10.0, 20.0)
_CHECK_CREDENTIALS = (
    "check the username and token (`sregistry config`; run `sregistry login` again if the "
    "token was rotated in the web interface)"
)


@dataclass(frozen=True)
class Probe:
    """Questions asked of the registry after it refused a push, without credentials (each
    may answer ``None``: cannot tell)."""

    transport: Transport
    urls: RegistryUrls
    username: str

    def collection_exists(self, collection: str) -> bool | None:
        url = self.urls.collection(collection)
        try:
            response = self.transport.request(
                "GET",
                url,
                headers={"Accept": "application/json"},
                timeout=_PROBE_TIMEOUT,
                log_as=f"{url} (diagnosis)",
            )
        except SregistryError as exc:
            log.debug("diagnosis request failed: %s", exc)
            return None
        with response:
            try:
                data = response.json() if response.status_code == 200 else None
            except ValueError:
                data = None
            if isinstance(data, dict):
                return bool(data)
            return True if response.status_code in {403, 500} else None  # private (B3)


def _permission(probe: Probe, collection: str, common: dict[str, Any]) -> PermissionDenied:
    user = probe.username
    exists = probe.collection_exists(collection)
    if exists:
        return PermissionDenied(
            f"the registry refused to let {user!r} push to collection {collection!r}: "
            f"{user!r} may not be one of its owners, or the token is not accepted",
            hint=f"only owners may push to a collection (ask one to add you); {_CHECK_CREDENTIALS}",
            **common,
        )
    if exists is False:
        return PermissionDenied(
            f"the registry refused to let {user!r} create collection {collection!r}",
            hint="it may not allow users to create collections (USER_COLLECTIONS): ask its "
            f"administrators to create it and make you an owner; {_CHECK_CREDENTIALS}; or this "
            "computer's clock is off by an hour or more (signatures are checked against the "
            "server's UTC hour)",
            **common,
        )
    return PermissionDenied(
        f"the registry refused to let {user!r} push to collection {collection!r} (it answers "
        "HTTP 500 to every refusal)",
        hint=f"{_CHECK_CREDENTIALS}; check that you own the collection or the registry lets users "
        "create collections, and that this computer's clock is right",
        **common,
    )


def explain_refusal(
    response: requests.Response, exchange: Exchange, *, probe: Probe, collection: str
) -> SregistryError:
    """The precise error for a push the registry answered with HTTP 500."""
    common: dict[str, Any] = {"url": response.url, "status": response.status_code}
    hint = clock_hint(response, exchange)
    if hint is not None:
        return AuthenticationError(
            f"the registry refused the signature to {exchange.op.value} {exchange.subject}",
            hint=hint,
            **common,
        )
    return _permission(probe, collection, common)
