"""Store and remove tokens: the keyring when usable, else the secrets file.

The secrets file gets the client-written keys (``SREGISTRY_REGISTRY_BASE``,
``_USERNAME``, ``_TOKEN``; ``SREGISTRY_LIBRARY_BASE``, ``_TOKEN``), the token
key only when no keyring took the token. A section describes one account:
storing sets its base/username and drops any older token (the legacy
``base``/``username``/``token`` keys included), so an old file token can
never shadow a newer keyring entry. Other sections and keys are kept.

Values equal to the environment's ``SREGISTRY_<KIND>_BASE``/``_USERNAME`` are
not written (the environment keeps providing them, and nothing from the
environment lands on disk); a different value left in the file under that key
is dropped, so that the file never describes two accounts at once.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from sregistry.config import read_secrets, secrets_path
from sregistry.credentials import keyring_store
from sregistry.credentials.resolve import (
    LEGACY_KEYS,
    LIBRARY_BASE,
    LIBRARY_TOKEN,
    REGISTRY_BASE,
    REGISTRY_TOKEN,
    REGISTRY_USERNAME,
    registry_nohttps,
)
from sregistry.credentials.secrets_file import section_of, setting, write_secrets
from sregistry.credentials.urls import library_base, registry_base, same_server
from sregistry.errors import ConfigError

__all__ = ["check_registry_username", "clean_token", "remove_token", "store_token"]

Kind = Literal["registry", "library"]


def check_registry_username(username: str | None) -> str:
    """The username stripped, or a ConfigError when it cannot sign requests.

    The server splits the HMAC credential on ``/``, so a username whose
    base64 form contains ``/`` can never authenticate (legacy-client.md §2).
    """
    name = (username or "").strip()
    if not name:
        raise ConfigError(
            "a registry token needs a username",
            hint="give the username (SREGISTRY_REGISTRY_USERNAME or the username option)",
        )
    if "/" in base64.b64encode(name.encode("utf-8")).decode("ascii"):
        raise ConfigError(
            f"the username {name!r} cannot sign registry requests: its base64 form "
            "contains '/', which the server's credential parser splits on"
        )
    return name


def clean_token(text: str) -> str:
    """``text`` without surrounding whitespace, or a ConfigError when it
    cannot be a token: empty, or not one word of printable ASCII (tokens are
    40 hex digits or a JWT; anything else is a paste accident, and would not
    survive an HTTP header). The message never repeats the text."""
    token = text.strip()
    if not token:
        raise ConfigError("refusing to store an empty token")
    if not all("!" <= char <= "~" for char in token):
        raise ConfigError(
            "a token is a single word of printable ASCII, "
            "but the text given contains spaces, line breaks or other characters"
        )
    return token


def _check_kind(kind: str) -> None:
    if kind not in ("registry", "library"):
        raise ValueError(f"unknown credential kind {kind!r}")


def _base_key(kind: Kind) -> str:
    return REGISTRY_BASE if kind == "registry" else LIBRARY_BASE


def _token_keys(kind: Kind) -> tuple[str, ...]:
    return (REGISTRY_TOKEN, LEGACY_KEYS[REGISTRY_TOKEN]) if kind == "registry" else (LIBRARY_TOKEN,)


def _service(kind: Kind, base: str, env: Mapping[str, str], section: Mapping[str, Any]) -> str:
    if kind == "registry":
        normalized = str(registry_base(base, nohttps=registry_nohttps(env, section)))
    else:
        normalized = str(library_base(base))
    return keyring_store.service_name(kind, normalized)


def _same(kind: Kind) -> Callable[[str, str], bool]:
    return lambda one, two: same_server(kind, one, two)


def store_token(
    kind: Kind,
    *,
    base: str,
    username: str | None,
    token: str,
    env: Mapping[str, str] | None = None,
) -> str:
    """Store ``token`` for (``base``, ``username``); return ``"keyring"`` or the file path.

    Refuses an empty token, a token with whitespace inside and, for a
    registry, a missing or unusable username. A corrupt secrets file is
    reported (ConfigError), never overwritten.
    """
    _check_kind(kind)
    env = os.environ if env is None else env
    secret = clean_token(token)
    user = check_registry_username(username) if kind == "registry" else None
    path = secrets_path(env)
    data = dict(read_secrets(path))
    section = dict(section_of(data, kind, path))
    service = _service(kind, base, env, section)
    normalized = service.split(":", 1)[1]
    in_keyring = keyring_store.set_(env, service, user or keyring_store.LIBRARY_USER, secret)
    for key in _token_keys(kind):
        section.pop(key, None)
    if kind == "registry":
        section.pop(LEGACY_KEYS[REGISTRY_BASE], None)
        section.pop(LEGACY_KEYS[REGISTRY_USERNAME], None)
    _record(section, _base_key(kind), normalized, env, _same(kind))
    if user is not None:
        _record(section, REGISTRY_USERNAME, user, env, str.__eq__)
    if not in_keyring:
        section[_token_keys(kind)[0]] = secret
    if section:
        data[kind] = section
    else:
        data.pop(kind, None)
    if data or path.exists():
        write_secrets(path, data)
    return "keyring" if in_keyring else str(path)


def _record(
    section: dict[str, Any],
    key: str,
    value: str,
    env: Mapping[str, str],
    same: Callable[[str, str], bool],
) -> None:
    """Set ``section[key]`` unless the environment already provides that value."""
    from_env = env.get(key, "").strip()
    if from_env and same(from_env, value):
        section.pop(key, None)
    else:
        section[key] = value


def remove_token(
    kind: Kind,
    *,
    base: str | None,
    username: str | None,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Remove the token of (``base``, ``username``) from the keyring and the
    secrets file; return where it was removed from (``"keyring"``, the file
    path). Base and username stay in the file. With ``base=None`` only a file
    token that names no base is removed."""
    _check_kind(kind)
    env = os.environ if env is None else env
    path = secrets_path(env)
    data = dict(read_secrets(path))
    section = dict(section_of(data, kind, path))
    removed: list[str] = []
    user = (username or "").strip() or None
    if base:
        keyring_user = user if kind == "registry" else keyring_store.LIBRARY_USER
        service = _service(kind, base, env, section)
        if keyring_user and keyring_store.delete(env, service, keyring_user):
            removed.append("keyring")
    present = [key for key in _token_keys(kind) if key in section]
    if present and _file_account(kind, section, path, base, user):
        for key in present:
            del section[key]
        data[kind] = section
        write_secrets(path, data)
        removed.append(str(path))
    return removed


def _file_account(
    kind: Kind, section: Mapping[str, Any], path: Path, base: str | None, user: str | None
) -> bool:
    """Whether the file's token belongs to (``base``, ``user``)."""
    legacy = kind == "registry"
    file_base = setting(section, _base_key(kind), path, kind) or (
        setting(section, "base", path, kind) if legacy else None
    )
    if bool(file_base) != bool(base) and file_base:
        return False
    if file_base and base and not _same(kind)(file_base, base):
        return False
    if kind == "library":
        return True
    file_user = setting(section, REGISTRY_USERNAME, path, kind) or setting(
        section, "username", path, kind
    )
    return not (file_user and user and file_user != user)
