"""Accounts on the per-test reference server."""

from __future__ import annotations

import pytest

from tests.reference_server.helpers import Account
from tests.server.pytest_plugin import RegistryServer


@pytest.fixture
def alice(registry_server: RegistryServer) -> Account:
    """An ordinary user; owns whatever she pushes first."""
    return Account(registry_server.url, "alice", registry_server.add_user("alice"))


@pytest.fixture
def bob(registry_server: RegistryServer) -> Account:
    """Another ordinary user."""
    return Account(registry_server.url, "bob", registry_server.add_user("bob"))


@pytest.fixture
def staff(registry_server: RegistryServer) -> Account:
    """A staff user (passes registry permission checks, owns nothing)."""
    return Account(registry_server.url, "root", registry_server.add_user("root", staff=True))
