"""Credentials: the ordered chain of sources, and storing tokens safely.

Order (first match wins; each value remembers its source):

- command-line options (``--registry``, ``--username``, ``--library``, ``--remote``)
- the environment (``SREGISTRY_REGISTRY_BASE``/``_USERNAME``/``_TOKEN``,
  ``SREGISTRY_LIBRARY_BASE``/``_TOKEN``; the file itself from
  ``SREGISTRY_CLIENT_SECRETS``)
- the secrets file ``~/.sregistry`` (both key styles)
- the OS keyring (optional ``keyring`` extra)
- for library tokens, Singularity/Apptainer's ``remote.yaml``

See :mod:`sregistry.credentials.resolve` for the exact rules,
:mod:`sregistry.credentials.store` for what ``login``/``logout`` write and
:mod:`sregistry.credentials.remote_yaml` for remote.yaml. Nothing here
prompts, prints or writes except :func:`store_token` and
:func:`remove_token`. Tokens travel as :class:`Secret` and never show
themselves.

Importing this package is cheap: keyring, PyYAML and requests are imported
only by the functions that need them, and what only ``login``, ``logout`` and
``config`` use (storing tokens, the keyring's status) on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sregistry.credentials.resolve import (
    LibraryCredentials,
    RegistryCredentials,
    configured_library_base,
    configured_registry_base,
    resolve_library,
    resolve_registry,
)
from sregistry.credentials.secret import Secret, Sourced
from sregistry.credentials.urls import library_base, registry_base, same_server

if TYPE_CHECKING:
    from sregistry.credentials.keyring_store import KeyringStatus
    from sregistry.credentials.keyring_store import status as keyring_status
    from sregistry.credentials.store import (
        check_registry_username,
        clean_token,
        remove_token,
        store_token,
    )

__all__ = [
    "KeyringStatus",
    "LibraryCredentials",
    "RegistryCredentials",
    "Secret",
    "Sourced",
    "check_registry_username",
    "clean_token",
    "configured_library_base",
    "configured_registry_base",
    "keyring_status",
    "library_base",
    "registry_base",
    "remove_token",
    "resolve_library",
    "resolve_registry",
    "same_server",
    "store_token",
]

_ON_FIRST_USE = {
    "KeyringStatus": ("sregistry.credentials.keyring_store", "KeyringStatus"),
    "keyring_status": ("sregistry.credentials.keyring_store", "status"),
    "check_registry_username": ("sregistry.credentials.store", "check_registry_username"),
    "clean_token": ("sregistry.credentials.store", "clean_token"),
    "remove_token": ("sregistry.credentials.store", "remove_token"),
    "store_token": ("sregistry.credentials.store", "store_token"),
}
"""Exports imported when first asked for: a pull resolves credentials but stores none."""


def __getattr__(name: str) -> Any:
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _ON_FIRST_USE[name]
    return getattr(importlib.import_module(module), attribute)
