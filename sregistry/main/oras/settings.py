"""The options of :class:`~sregistry.main.oras.client.OrasClient`, and the
credentials it uses for a registry host.

Credentials for a host, first found wins (each remembers its source):

1. ``username`` and ``password`` given to the client;
2. ``$APPTAINER_DOCKER_USERNAME`` / ``$APPTAINER_DOCKER_PASSWORD`` (or the
   ``SINGULARITY_DOCKER_*`` pair);
3. the files and credential helpers of :mod:`sregistry.main.oras.credentials`
   (``authfile``, ``$REGISTRY_AUTH_FILE``, ``~/.apptainer/docker-config.json``,
   ``~/.docker/config.json``).

None found: anonymous (a registry may still hand out anonymous tokens).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sregistry.credentials.secret import Secret
from sregistry.main.backend import BackendSettings, insecure_setting
from sregistry.main.oras.credentials import RegistryCredential, find_credential

if TYPE_CHECKING:
    import requests

    from sregistry.transfer import Timeout

__all__ = ["CREDENTIAL_ENV", "OrasSettings", "credential_environment", "credential_for"]

CREDENTIAL_ENV = (
    ("APPTAINER_DOCKER_USERNAME", "APPTAINER_DOCKER_PASSWORD"),
    ("SINGULARITY_DOCKER_USERNAME", "SINGULARITY_DOCKER_PASSWORD"),
)
_KEPT = frozenset({"HOME", "REGISTRY_AUTH_FILE", "DOCKER_CONFIG"})


@dataclass(frozen=True, kw_only=True)
class OrasSettings(BackendSettings):
    """The options of :class:`~sregistry.main.oras.client.OrasClient`."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    authfile: str | None = None
    insecure: bool = False
    plain_http: bool = False
    arch: str | None = None
    chunk_size: int | None = None
    timeout: Timeout | float | tuple[float, float] | None = None
    session: requests.Session | None = None
    cache: bool = True

    def resolved(self) -> OrasSettings:
        """``insecure`` also from ``$SREGISTRY_HTTPS_NOVERIFY``."""
        return dataclasses.replace(self, insecure=insecure_setting(self.insecure, self.environ()))


def credential_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The part of ``env`` credential lookups read (nothing else is kept)."""
    names = _KEPT | {name for pair in CREDENTIAL_ENV for name in pair}
    return {name: value for name, value in env.items() if name in names}


def credential_for(
    registry: str,
    *,
    username: str | None,
    password: Secret | None,
    authfile: str | None,
    env: Mapping[str, str],
) -> RegistryCredential | None:
    """The credential for ``registry`` by the order above."""
    if username and password is not None:
        return RegistryCredential("basic", password, username, "the username and password given")
    for user_name, password_name in CREDENTIAL_ENV:
        user, secret = env.get(user_name), env.get(password_name)
        if user and secret:
            return RegistryCredential("basic", Secret(secret), user, f"${user_name}")
    return find_credential(registry, env=env, authfile=authfile)
