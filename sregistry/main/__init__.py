"""``get_client``: pick a backend by URI, name or configuration and build its client.

Backends are found through the ``sregistry.backends`` entry-point group, so a
third-party package can add one::

    [project.entry-points."sregistry.backends"]
    mykind = "mypackage.backend:Client"

The built-in backends are also known without installed metadata (running from
a source tree).
"""

from __future__ import annotations

import importlib
from typing import Any

from sregistry.config import choose_backend
from sregistry.errors import ConfigError
from sregistry.main.base import Client

__all__ = ["BUILTIN_BACKENDS", "ENTRY_POINT_GROUP", "available_backends", "get_client"]

ENTRY_POINT_GROUP = "sregistry.backends"
BUILTIN_BACKENDS: dict[str, str] = {
    "registry": "sregistry.main.registry.client:RegistryClient",
    "library": "sregistry.main.library.client:LibraryClient",
    "local": "sregistry.main.local.client:LocalClient",
}


def available_backends() -> dict[str, str]:
    """Backend name -> ``module:attribute``: entry points over the built-ins."""
    from importlib.metadata import entry_points  # ~25 ms: only when a backend is needed

    found = dict(BUILTIN_BACKENDS)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        found[point.name] = point.value
    return found


def _load(name: str, target: str) -> type[Client]:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"the {name!r} backend cannot be loaded ({target}): {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Client)):
        raise ConfigError(f"the {name!r} backend ({target}) is not a sregistry Client")
    return cls


def get_client(name_or_uri: str | None = None, **options: Any) -> Client:
    """Build the client for ``name_or_uri``.

    ``name_or_uri`` is a backend name (``"registry"``), a reference with a
    scheme (``"registry://host/collection/name:tag"``, ``"library://..."``) or
    ``None`` to follow the configuration (``$SREGISTRY_CLIENT``, the secrets
    file, then ``registry`` when one is configured, else ``local``).
    ``options`` go to the backend's constructor (e.g. ``base``, ``username``,
    ``token``, ``insecure``); a host in the URI sets the base URL.
    """
    backends = available_backends()
    kind, _reason = choose_backend(
        name_or_uri, frozenset(backends), registry_option=options.get("base")
    )
    cls = _load(kind, backends[kind])
    if name_or_uri and "://" in name_or_uri:
        options.setdefault("uri", name_or_uri)
    return cls(**options)
