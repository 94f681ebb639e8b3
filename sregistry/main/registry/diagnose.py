"""Why did the registry refuse a push? It answers HTTP 500 to every refusal.

Several causes look the same on the wire (server-api.md §3.6, §7): a
signature made in another UTC hour than the server's (or a skewed clock), a
token the server does not know or that belongs to someone else, a user who is
not an owner of the collection, and a server that does not let ordinary users
create (or push to) collections (``USER_COLLECTIONS``). The times tell the
first; the rest are told apart by asking the same server:

* its library API, with the same token as Bearer: ``GET /v1/entities`` names
  the token's owner (404 when the token is unknown), and
  ``GET /v1/collections/<user>/<collection>`` answers 200 only to an owner;
* its registry API: ``GET /api/collection/<name>`` is ``{}`` when no such
  (public) collection exists.

The token itself is sent only over HTTPS or to a loopback address, so it never
crosses a network in clear text (HMAC signatures never reveal it).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from sregistry.errors import AuthenticationError, PermissionDenied, SregistryError
from sregistry.main.registry.api import Exchange, clock_hint
from sregistry.main.registry.urls import RegistryUrls
from sregistry.transfer.http import Timeout, Transport

__all__ = ["Probe", "explain_refusal"]

log = logging.getLogger("sregistry.registry")
_PROBE_TIMEOUT = Timeout(10.0, 20.0)


def _may_send_token(root: str) -> bool:
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


@dataclass(frozen=True)
class Probe:
    """Questions asked of the registry after it refused a push (each may answer ``None``:
    cannot tell)."""

    transport: Transport
    urls: RegistryUrls
    username: str
    token: str

    def _get(self, url: str, *, bearer: bool) -> requests.Response | None:
        if bearer and not _may_send_token(self.urls.root):
            return None
        headers = {"Accept": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            return self.transport.request(
                "GET", url, headers=headers, timeout=_PROBE_TIMEOUT, log_as=f"{url} (diagnosis)"
            )
        except SregistryError as exc:
            log.debug("diagnosis request failed: %s", exc)
            return None

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def token_owner(self) -> str | None:
        """The token's username; ``""`` when the server does not know the token."""
        response = self._get(f"{self.urls.root}/v1/entities", bearer=True)
        if response is None:
            return None
        with response:
            if response.status_code == 404 and not response.content.strip():
                return ""
            data = self._json(response) if response.status_code == 200 else None
        entity = data.get("data") if isinstance(data, dict) else None
        name = entity.get("name") if isinstance(entity, dict) else None
        return name if isinstance(name, str) else None

    def owns(self, collection: str) -> bool | None:
        """Whether the token's user owns ``collection`` (404 also means: no such collection)."""
        url = f"{self.urls.root}/v1/collections/{quote(self.username, safe='')}/" + quote(
            collection, safe=""
        )
        response = self._get(url, bearer=True)
        if response is None:
            return None
        with response:
            if response.status_code == 200 and isinstance(self._json(response), dict):
                return True
            return False if response.status_code == 404 else None

    def collection_exists(self, collection: str) -> bool | None:
        response = self._get(self.urls.collection(collection), bearer=False)
        if response is None:
            return None
        with response:
            data = self._json(response) if response.status_code == 200 else None
            if isinstance(data, dict):
                return bool(data)
            return True if response.status_code in {403, 500} else None  # private (B3)


def _identity(probe: Probe, common: dict[str, Any]) -> tuple[SregistryError | None, str | None]:
    """An error when the token is unknown or someone else's; else the token's owner."""
    user = probe.username
    owner = probe.token_owner()
    if owner == "":
        return AuthenticationError(
            f"the registry does not accept the token of {user!r}",
            hint="check SREGISTRY_REGISTRY_TOKEN or run `sregistry login` again (a token changes "
            "when it is rotated in the web interface)",
            **common,
        ), owner
    if owner is not None and owner != user:
        return AuthenticationError(
            f"the token belongs to {owner!r}, not to {user!r}",
            hint=f"sign as {owner!r} (SREGISTRY_REGISTRY_USERNAME or the username option) or use "
            f"{user!r}'s own token",
            **common,
        ), owner
    return None, owner


def _permission(
    probe: Probe, owner: str | None, subject: str, collection: str, common: dict[str, Any]
) -> PermissionDenied:
    user = probe.username
    owns = probe.owns(collection) if owner == user else None
    if owns:
        return PermissionDenied(
            f"the registry refused the push of {subject} although {user!r} owns "
            f"collection {collection!r} and the token is valid",
            hint="the registry may let only staff push (USER_COLLECTIONS is off), or this "
            "computer's clock is off by an hour or more (signatures are checked against the "
            "server's UTC hour)",
            **common,
        )
    exists = probe.collection_exists(collection) if owns is False else None
    if exists:
        return PermissionDenied(
            f"{user!r} is not an owner of collection {collection!r}",
            hint="only owners may push to a collection; ask one to add you",
            **common,
        )
    if exists is False:
        return PermissionDenied(
            f"the registry refused to let {user!r} create collection {collection!r} (the token "
            "is valid)",
            hint="it may not allow users to create collections (USER_COLLECTIONS): ask its "
            "administrators to create it and make you an owner; or this computer's clock is off "
            "by an hour or more (signatures are checked against the server's UTC hour)",
            **common,
        )
    return PermissionDenied(
        f"the registry refused to let {user!r} push to collection {collection!r} (it answers "
        "HTTP 500 to every refusal)",
        hint="check the username and token (`sregistry config`), that you own the collection or "
        "the registry lets users create collections, and that this computer's clock is right",
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
    error, owner = _identity(probe, common)
    if error is not None:
        return error
    return _permission(probe, owner, exchange.subject, collection, common)
