"""Backend for Singularity Registry Server's registry API (``/api``, HMAC-signed).

Import-light on purpose: the server imports :mod:`.auth` from this package.
The client lives in :mod:`sregistry.main.registry.client`.
"""

from sregistry.main.backend import INSECURE, Backend, Option

__all__ = ["BACKEND"]

_USE = frozenset({"push", "pull", "delete", "search", "labels"})

BACKEND = Backend(
    name="registry",
    client="sregistry.main.registry.client:RegistryClient",
    options=(
        Option(
            "base",
            "--registry",
            "Registry base URL (overrides SREGISTRY_REGISTRY_BASE).",
            metavar="URL",
            operations=_USE,
            selects=True,
        ),
        Option(
            "username",
            "--username",
            "Registry username (overrides SREGISTRY_REGISTRY_USERNAME).",
            metavar="NAME",
            operations=_USE,
        ),
        INSECURE,
    ),
)
"""What the ``sregistry.backends`` entry point ``registry`` names."""
