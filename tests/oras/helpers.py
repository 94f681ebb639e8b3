"""Sessions and plain-HTTP access for the protocol tests."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from sregistry.credentials.secret import Secret
from sregistry.main.oras.credentials import RegistryCredential
from sregistry.main.oras.session import RegistrySession
from sregistry.transfer.http import Transport
from sregistry.transfer.retry import RetryPolicy
from tests.oras.harness.distribution import USERS, Account, Distribution
from tests.oras.harness.tokens import SERVICE


def credential_for(account: Account | None) -> RegistryCredential | None:
    if account is None:
        return None
    return RegistryCredential("basic", Secret(account.password), account.username, "test")


@contextmanager
def session(
    registry: Distribution,
    account: Account | str | None = "writer",
    *,
    host: str | None = None,
    credential: RegistryCredential | None = None,
) -> Iterator[RegistrySession]:
    """A session to ``registry`` (or to ``host``, e.g. a proxy in front of it) as
    ``account``: the registry's writer by default, ``None`` for anonymous;
    ``credential`` replaces the account's."""
    chosen = registry.account if account == "writer" else account
    assert not isinstance(chosen, str)
    transport = Transport(timeout=(5, 30), retry=RetryPolicy(backoff=0.01), sleep=lambda _s: None)
    target = host or registry.host
    try:
        yield RegistrySession(
            transport,
            target,
            credential=credential or credential_for(chosen),
            base_url=f"http://{target}",
        )
    finally:
        transport.close()


def plain_headers(registry: Distribution, scope: str) -> dict[str, str]:
    """``Authorization`` for a plain ``requests`` call as the writer."""
    if registry.auth == "anonymous":
        return {}
    basic = "Basic " + base64.b64encode(f"alice:{USERS['alice']}".encode()).decode()
    if registry.auth == "basic":
        return {"Authorization": basic}
    assert registry.tokens is not None
    answer = requests.get(
        registry.tokens.realm,
        params={"service": SERVICE, "scope": scope},
        headers={"Authorization": basic},
        timeout=10,
    )
    answer.raise_for_status()
    return {"Authorization": "Bearer " + answer.json()["token"]}
