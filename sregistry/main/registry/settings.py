"""Where the registry backend's settings come from: arguments first, then the
credentials chain (:func:`sregistry.credentials.resolve_registry`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sregistry.config import truthy
from sregistry.credentials.urls import registry_base
from sregistry.errors import ConfigError
from sregistry.main.backend import BackendSettings, insecure_setting

if TYPE_CHECKING:
    import requests

    from sregistry.main.registry.signing import Clock
    from sregistry.transfer import Timeout

__all__ = ["NOHTTPS_ENV", "RegistrySettings", "Settings", "base_for_host", "resolve_settings"]


@dataclass(frozen=True, kw_only=True)
class RegistrySettings(BackendSettings):
    """The options of :class:`~sregistry.main.registry.client.RegistryClient`."""

    base: str | None = None
    username: str | None = None
    token: str | None = field(default=None, repr=False)
    insecure: bool = False
    timeout: Timeout | float | tuple[float, float] | None = None
    session: requests.Session | None = None
    clock: Clock | None = None
    hash_in_thread: bool | None = None
    cache: bool = True

    def resolved(self) -> RegistrySettings:
        """``insecure`` also from ``$SREGISTRY_HTTPS_NOVERIFY``."""
        return dataclasses.replace(self, insecure=insecure_setting(self.insecure, self.environ()))


NOHTTPS_ENV = "SREGISTRY_REGISTRY_NOHTTPS"


@dataclass(frozen=True)
class Settings:
    """The registry root, and who signs (the token is only read when signing)."""

    root: str
    username: str | None
    token: Callable[[], str] | None = field(repr=False)
    sources: dict[str, str] = field(default_factory=dict)
    """Setting name -> where it came from (``--registry``, ``$SREGISTRY_REGISTRY_TOKEN``...)."""


def resolve_settings(
    *, base: str | None, username: str | None, token: str | None, env: Mapping[str, str]
) -> Settings:
    """Explicit values win; missing ones come from the credentials chain."""
    sources: dict[str, str] = {}
    nohttps = truthy(env.get(NOHTTPS_ENV))
    token_getter: Callable[[], str] | None = (lambda: token) if token else None
    if base is None or username is None or token is None:
        from sregistry.credentials import resolve_registry

        found = resolve_registry(base=base, username=username, env=env)
        nohttps = found.nohttps
        if found.base is not None:
            base = found.base.value
            sources["base"] = found.base.source
        if username is None and found.username is not None:
            username = found.username.value
            sources["username"] = found.username.source
        if token_getter is None and found.token is not None:
            token_getter = found.token.value.reveal
            sources["token"] = found.token.source
    if not base:
        raise ConfigError(
            "no registry is configured",
            hint="set SREGISTRY_REGISTRY_BASE, pass the base option, or run `sregistry login`",
        )
    return Settings(str(registry_base(base, nohttps=nohttps)), username, token_getter, sources)


def base_for_host(host: str, base: str | None, env: Mapping[str, str]) -> str:
    """The base URL for a ``registry://host/...`` reference.

    When the configured registry (``base``, else the credentials chain) is on
    that same host and port, its scheme and path prefix are kept (a registry
    configured as ``http://host:5000`` stays on http); otherwise the host alone,
    whose scheme follows ``SREGISTRY_REGISTRY_NOHTTPS``.
    """
    configured = base
    if configured is None:
        from sregistry.credentials import configured_registry_base

        configured = configured_registry_base(env)
    if configured:
        try:
            origin = registry_base(configured).origin
        except ConfigError:
            return host
        if origin.named_by(host):
            return configured
    return host
