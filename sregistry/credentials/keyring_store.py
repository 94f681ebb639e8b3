"""The OS keyring, when there is a usable one (the optional ``keyring`` extra).

"Usable" means: ``keyring`` imports, and the backend in effect is not the
fail or null backend nor a chainer with nothing to chain. The backend is
``$PYTHON_KEYRING_BACKEND`` from the environment given (loaded afresh, so the
choice follows that mapping), else keyring's own default.

Every keyring failure is logged at debug level and treated as "no keyring":
a broken keyring never stops a command, it only loses its vote.

Entries: service ``sregistry+registry:<base>`` / ``sregistry+library:<base>``
(``<base>`` spelled as :class:`~sregistry.origin.BaseUrl` does, a registry's without ``/api``),
username the registry username, or ``token`` for a library.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "LIBRARY_USER",
    "KeyringStatus",
    "delete",
    "get",
    "service_name",
    "set_",
    "status",
]

log = logging.getLogger(__name__)

Kind = Literal["registry", "library"]
LIBRARY_USER = "token"
"""The keyring username under which a library token is stored."""


@dataclass(frozen=True)
class KeyringStatus:
    """Whether a keyring is usable, which backend is in effect and why not."""

    usable: bool
    backend: str | None
    reason: str


def service_name(kind: Kind, base: str) -> str:
    """``sregistry+<kind>:<normalised base>``: the keyring service of one server."""
    return f"sregistry+{kind}:{base}"


def _load(env: Mapping[str, str]) -> tuple[Any | None, str]:
    """(backend, reason): the backend when usable, else ``None`` and why."""
    try:
        import keyring
        import keyring.backends.chainer
        import keyring.backends.fail
        import keyring.backends.null
        import keyring.core
    except ImportError:
        return None, "the keyring package is not installed (pip install 'sregistry[keyring]')"
    try:
        name = env.get("PYTHON_KEYRING_BACKEND")
        backend = keyring.core.load_keyring(name) if name else keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - any keyring failure means "no keyring"
        log.debug("keyring backend could not be loaded: %s", type(exc).__name__)
        return None, f"the keyring backend could not be loaded ({type(exc).__name__})"
    label = _label(backend)
    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        return None, f"no usable keyring backend ({label})"
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        try:
            chained = list(backend.backends)
        except Exception as exc:  # noqa: BLE001
            log.debug("keyring chainer failed: %s", type(exc).__name__)
            chained = []
        if not chained:
            return None, "no usable keyring backend (an empty chainer)"
    return backend, label


def _label(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def status(env: Mapping[str, str]) -> KeyringStatus:
    """Usability of the keyring for ``sregistry config`` and ``login``."""
    backend, reason = _load(env)
    if backend is None:
        return KeyringStatus(usable=False, backend=None, reason=reason)
    return KeyringStatus(usable=True, backend=reason, reason="usable")


def get(env: Mapping[str, str], service: str, username: str) -> str | None:
    """The stored password, or ``None`` (also when the keyring fails)."""
    backend, _ = _load(env)
    if backend is None:
        return None
    try:
        value = backend.get_password(service, username)
    except Exception as exc:  # noqa: BLE001
        log.debug("keyring lookup failed for %s: %s", service, type(exc).__name__)
        return None
    return value if isinstance(value, str) and value else None


def set_(env: Mapping[str, str], service: str, username: str, secret: str) -> bool:
    """Store a password; ``False`` when no keyring took it."""
    backend, _ = _load(env)
    if backend is None:
        return False
    try:
        backend.set_password(service, username, secret)
    except Exception as exc:  # noqa: BLE001
        log.debug("keyring store failed for %s: %s", service, type(exc).__name__)
        return False
    return True


def delete(env: Mapping[str, str], service: str, username: str) -> bool:
    """Remove a password; ``True`` only when one was there and is gone."""
    backend, _ = _load(env)
    if backend is None:
        return False
    try:
        if backend.get_password(service, username) is None:
            return False
        backend.delete_password(service, username)
    except Exception as exc:  # noqa: BLE001
        log.debug("keyring delete failed for %s: %s", service, type(exc).__name__)
        return False
    return True
