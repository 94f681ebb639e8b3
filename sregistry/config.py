"""Where settings live and which backend a command acts on.

Nothing here runs at import time: every function takes the environment it
reads (``os.environ`` by default) so callers and tests can pass their own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sregistry.errors import ConfigError

__all__ = [
    "RETIRED_BACKENDS",
    "SECRETS_ENV",
    "choose_backend",
    "default_storage_dir",
    "home_dir",
    "read_secrets",
    "secrets_path",
    "store_database",
    "truthy",
]

SECRETS_ENV = "SREGISTRY_CLIENT_SECRETS"
STORAGE_ENV = "SREGISTRY_STORAGE"
DATABASE_ENV = "SREGISTRY_DATABASE"
DATABASE_FILE = "sregistry.db"
CLIENT_ENV = "SREGISTRY_CLIENT"
RETIRED_BACKENDS = frozenset(
    {
        "hub",
        "shub",
        "docker",
        "nvidia",
        "aws",
        "gitlab",
        "globus",
        "dropbox",
        "google-drive",
        "google-storage",
        "google-compute",
        "google-build",
        "s3",
        "swift",
    }
)
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})


def truthy(value: str | None) -> bool:
    """Parse an environment boolean: ``1/true/t/yes/y/on`` (any case) is true."""
    return value is not None and value.strip().lower() in _TRUE


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$HOME`` when set (unlike sregistry-cli 0.2.39), else the passwd home."""
    env = os.environ if env is None else env
    home = env.get("HOME")
    return Path(home) if home else Path.home()


def secrets_path(env: Mapping[str, str] | None = None) -> Path:
    """``$SREGISTRY_CLIENT_SECRETS``, else ``~/.sregistry``."""
    env = os.environ if env is None else env
    explicit = env.get(SECRETS_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return home_dir(env) / ".sregistry"


def default_storage_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the local image store lives: ``$SREGISTRY_STORAGE``, else the
    platform's user data directory (``platformdirs.user_data_path("sregistry")``,
    e.g. ``~/.local/share/sregistry`` on Linux, honouring ``$XDG_DATA_HOME``).

    Only computes the path; never creates it.
    """
    env = os.environ if env is None else env
    explicit = env.get(STORAGE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return platformdirs.user_data_path("sregistry")


def store_database(env: Mapping[str, str] | None = None) -> Path:
    """The local store's database file: ``sregistry.db`` in ``$SREGISTRY_DATABASE``,
    else in :func:`default_storage_dir`. Only computes the path."""
    env = os.environ if env is None else env
    folder = env.get(DATABASE_ENV)
    return (Path(folder).expanduser() if folder else default_storage_dir(env)) / DATABASE_FILE


def read_secrets(path: Path) -> dict[str, Any]:
    """The secrets file as a dict; ``{}`` when it does not exist or is empty.

    Never creates the file. A corrupt file raises :class:`ConfigError` naming
    the path but never echoing its content (it holds tokens).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read the secrets file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        # the decoder's message quotes the offending byte: say less
        raise ConfigError(
            f"the secrets file {path} is not valid UTF-8 JSON",
            hint="fix or remove it; `sregistry login` writes a fresh one",
        ) from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError(
            f"the secrets file {path} is not valid JSON",
            hint="fix or remove it; `sregistry login` writes a fresh one",
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"the secrets file {path} must hold a JSON object")
    return data


def _scheme(uri_or_name: str) -> str | None:
    if "://" in uri_or_name:
        return uri_or_name.split("://", 1)[0].lower()
    return None


def _registry_configured(env: Mapping[str, str], secrets: Mapping[str, Any]) -> bool:
    if env.get("SREGISTRY_REGISTRY_BASE"):
        return True
    section = secrets.get("registry")
    return isinstance(section, dict) and bool(
        section.get("SREGISTRY_REGISTRY_BASE") or section.get("base")
    )


def choose_backend(
    uri_or_name: str | None,
    known: frozenset[str] | set[str],
    *,
    env: Mapping[str, str] | None = None,
    registry_option: str | None = None,
) -> tuple[str, str]:
    """Pick the backend for a command and say why.

    Order: the URI's scheme (or an explicit backend name), then
    ``$SREGISTRY_CLIENT``, then the secrets file's ``SREGISTRY_CLIENT``, then
    ``registry`` when a registry is configured, else ``local``. Returns
    ``(backend, reason)``.
    """
    env = os.environ if env is None else env
    if uri_or_name:
        scheme = _scheme(uri_or_name)
        if scheme is not None:
            return _known(scheme, known, f"the {scheme}:// prefix"), f"the {scheme}:// prefix"
        if uri_or_name in known:
            return uri_or_name, "asked for by name"
    from_env = env.get(CLIENT_ENV)
    if from_env:
        return _known(from_env.strip().lower(), known, f"${CLIENT_ENV}"), f"${CLIENT_ENV}"
    path = secrets_path(env)
    secrets = read_secrets(path)
    configured = secrets.get(CLIENT_ENV)
    if isinstance(configured, str) and configured:
        return _known(
            configured.lower(), known, f"{CLIENT_ENV} in {path}"
        ), f"the default in {path}"
    if registry_option or _registry_configured(env, secrets):
        return "registry", "a registry is configured"
    return "local", "no registry is configured"


def _known(name: str, known: frozenset[str] | set[str], where: str) -> str:
    if name in known:
        return name
    if name in RETIRED_BACKENDS:
        raise ConfigError(
            f"the {name!r} backend of sregistry-cli 0.2.39 is not supported (set by {where})",
            hint=f"use one of: {', '.join(sorted(known))}",
        )
    raise ConfigError(
        f"unknown backend {name!r} (set by {where})",
        hint=f"use one of: {', '.join(sorted(known))}",
    )
