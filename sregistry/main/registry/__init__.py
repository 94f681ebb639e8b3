"""Backend for Singularity Registry Server's registry API (``/api``, HMAC-signed).

Import-light on purpose: the server imports :mod:`.auth` from this package.
The client lives in :mod:`sregistry.main.registry.client`.
"""

import dataclasses

from sregistry.main.backend import INSECURE, Backend, Option

__all__ = ["BACKEND"]

_USE = frozenset({"push", "pull", "delete", "search", "labels", "inspect"})
_ACCOUNT = frozenset({"login", "logout"})

BACKEND = Backend(
    name="registry",
    client="sregistry.main.registry.client:RegistryClient",
    options=(
        Option(
            "base",
            "--registry",
            "Registry base URL (overrides SREGISTRY_REGISTRY_BASE).",
            metavar="URL",
            operations=_USE | _ACCOUNT | {"config"},
            selects=True,
        ),
        Option(
            "username",
            "--username",
            "Registry username (overrides SREGISTRY_REGISTRY_USERNAME).",
            metavar="NAME",
            operations=_USE | {"config"},
        ),
        Option(
            "username",
            "--username",
            "Registry username (default: the configured one).",
            metavar="NAME",
            operations=_ACCOUNT,
            strict=True,
        ),
        dataclasses.replace(INSECURE, operations=INSECURE.operations - _ACCOUNT),
    ),
    login="sregistry.main.registry.account:login",
    logout="sregistry.main.registry.account:logout",
    report="sregistry.main.registry.account:report",
)
"""What the ``sregistry.backends`` entry point ``registry`` names."""
