"""Resolve registry and library credentials, remembering where each value came from.

Registry (Singularity Registry Server ``/api``, HMAC-signed):

1. ``base``: ``--registry`` > ``$SREGISTRY_REGISTRY_BASE`` > secrets file
   ``registry.SREGISTRY_REGISTRY_BASE`` > ``registry.base``.
2. ``username``: ``--username`` > ``$SREGISTRY_REGISTRY_USERNAME`` > secrets file
   ``registry.SREGISTRY_REGISTRY_USERNAME`` > ``registry.username``.
3. ``token``: ``$SREGISTRY_REGISTRY_TOKEN`` > secrets file
   ``registry.SREGISTRY_REGISTRY_TOKEN`` > ``registry.token`` > keyring entry for
   (base, username). The file's token belongs to the file's account: it is
   skipped when the file names another base or username than the ones in
   effect (e.g. ``--registry`` pointing elsewhere), so it is never offered to a
   server it was not issued by.
4. ``nohttps``: ``$SREGISTRY_REGISTRY_NOHTTPS`` when set (a boolean: ``false``
   means false), else the secrets file key of the same name.

Library (Library API, Bearer token):

1. ``base``: ``--library`` > ``--remote NAME`` > ``$SREGISTRY_LIBRARY_BASE`` >
   secrets file ``library.SREGISTRY_LIBRARY_BASE`` > the active remote of
   ``remote.yaml``.
2. ``token``: ``$SREGISTRY_LIBRARY_TOKEN`` > secrets file
   ``library.SREGISTRY_LIBRARY_TOKEN`` (when the file's base, if any, is the
   base in effect) > keyring entry for the base > ``remote.yaml`` token of the
   remote named by ``--remote``, else of the remote the base came from, else
   of the first remote whose URL is the base in effect.

Empty values count as unset. Nothing here writes, prompts or prints; the
secrets file and remote.yaml files are read at most once per call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sregistry.config import read_secrets, secrets_path, truthy
from sregistry.credentials.secret import Secret, Sourced
from sregistry.credentials.secrets_file import display_path, section_of, setting
from sregistry.credentials.urls import library_base, registry_base, same_server

if TYPE_CHECKING:
    from sregistry.credentials.remote_yaml import Remote, Remotes

__all__ = [
    "LibraryCredentials",
    "RegistryCredentials",
    "configured_library_base",
    "configured_registry_base",
    "registry_nohttps",
    "resolve_library",
    "resolve_registry",
]

REGISTRY_BASE = "SREGISTRY_REGISTRY_BASE"
REGISTRY_USERNAME = "SREGISTRY_REGISTRY_USERNAME"
REGISTRY_TOKEN = "SREGISTRY_REGISTRY_TOKEN"  # noqa: S105 - a setting's name
REGISTRY_NOHTTPS = "SREGISTRY_REGISTRY_NOHTTPS"
LIBRARY_BASE = "SREGISTRY_LIBRARY_BASE"
LIBRARY_TOKEN = "SREGISTRY_LIBRARY_TOKEN"  # noqa: S105 - a setting's name
LEGACY_KEYS = {REGISTRY_BASE: "base", REGISTRY_USERNAME: "username", REGISTRY_TOKEN: "token"}


@dataclass(frozen=True)
class RegistryCredentials:
    """What a registry backend signs with, and where each part came from."""

    base: Sourced[str] | None
    username: Sourced[str] | None
    token: Sourced[Secret] | None
    nohttps: bool
    """``SREGISTRY_REGISTRY_NOHTTPS``: a base without a scheme means ``http://``."""


@dataclass(frozen=True)
class LibraryCredentials:
    """What a library backend talks to and the Bearer token it sends."""

    base: Sourced[str] | None
    token: Sourced[Secret] | None
    remote: str | None
    """The ``remote.yaml`` entry used (for the base or the token), if any."""
    discover: bool = False
    """``base`` is a Singularity remote's endpoint: the Library API base is
    the ``libraryAPI.uri`` of ``<base>/assets/config/config.prod.json``
    (library-api.md §2.1). Singularity Registry Server announces its own URL."""


def _option(value: str | None, flag: str) -> Sourced[str] | None:
    value = value.strip() if value else None
    return Sourced(value, flag) if value else None


def _environ(env: Mapping[str, str], name: str) -> Sourced[str] | None:
    value = env.get(name, "").strip()
    return Sourced(value, f"${name}") if value else None


class _File:
    """One section of the secrets file, read once, with sources for its keys."""

    def __init__(self, env: Mapping[str, str], name: str) -> None:
        self.path: Path = secrets_path(env)
        self.shown = display_path(self.path, env)
        self.name = name
        self.section: dict[str, Any] = section_of(read_secrets(self.path), name, self.path)

    def get(self, *keys: str) -> Sourced[str] | None:
        for key in keys:
            value = setting(self.section, key, self.path, self.name)
            if value:
                return Sourced(value, f"{self.shown} ({self.name}.{key})")
        return None


def registry_nohttps(env: Mapping[str, str], section: Mapping[str, Any]) -> bool:
    """``SREGISTRY_REGISTRY_NOHTTPS`` as a boolean: the environment when set,
    else the secrets file's registry section (a JSON boolean or string)."""
    from_env = env.get(REGISTRY_NOHTTPS, "").strip()
    if from_env:
        return truthy(from_env)
    value = section.get(REGISTRY_NOHTTPS)
    if isinstance(value, bool):
        return value
    return truthy(value) if isinstance(value, str) else False


def _first(*candidates: Sourced[str] | None) -> Sourced[str] | None:
    return next((item for item in candidates if item is not None), None)


def _secret(value: Sourced[str] | None) -> Sourced[Secret] | None:
    return Sourced(Secret(value.value), value.source) if value is not None else None


def resolve_registry(
    *,
    base: str | None = None,
    username: str | None = None,
    env: Mapping[str, str] | None = None,
) -> RegistryCredentials:
    """The registry base, username and token in effect (see the module doc for the order)."""
    env = os.environ if env is None else env
    file = _File(env, "registry")
    file_base = file.get(REGISTRY_BASE, "base")
    file_user = file.get(REGISTRY_USERNAME, "username")
    base_s = _first(_option(base, "--registry"), _environ(env, REGISTRY_BASE), file_base)
    user_s = _first(_option(username, "--username"), _environ(env, REGISTRY_USERNAME), file_user)
    nohttps = registry_nohttps(env, file.section)
    token = _secret(_environ(env, REGISTRY_TOKEN))
    if token is None and _file_account_matches(file_base, file_user, base_s, user_s):
        token = _secret(file.get(REGISTRY_TOKEN, "token"))
    if token is None and base_s is not None and user_s is not None:
        from sregistry.credentials import keyring_store  # only without a token elsewhere

        service = keyring_store.service_name(
            "registry", str(registry_base(base_s.value, nohttps=nohttps))
        )
        stored = keyring_store.get(env, service, user_s.value)
        if stored:
            token = Sourced(Secret(stored), "keyring")
    return RegistryCredentials(base=base_s, username=user_s, token=token, nohttps=nohttps)


def _file_account_matches(
    file_base: Sourced[str] | None,
    file_user: Sourced[str] | None,
    base: Sourced[str] | None,
    user: Sourced[str] | None,
) -> bool:
    """Whether the secrets file's token may be used with this base and user."""
    if (
        file_base is not None
        and base is not None
        and base is not file_base
        and not same_server("registry", file_base.value, base.value)
    ):
        return False
    return file_user is None or user is None or file_user.value == user.value


def resolve_library(
    *,
    base: str | None = None,
    remote: str | None = None,
    env: Mapping[str, str] | None = None,
) -> LibraryCredentials:
    """The Library API base and token in effect (see the module doc for the order)."""
    from sregistry.credentials import keyring_store
    from sregistry.credentials.remote_yaml import Remotes

    env = os.environ if env is None else env
    file = _File(env, "library")
    file_base = file.get(LIBRARY_BASE)
    remotes = Remotes(env)
    named = remotes.named(remote) if remote else None
    base_s, from_remote = _library_base(base, named, env, file_base, remotes)
    discover = from_remote is not None and from_remote.library_url is None
    token = _secret(_environ(env, LIBRARY_TOKEN))
    if token is None and (
        file_base is None or base_s is None or same_server("library", file_base.value, base_s.value)
    ):
        token = _secret(file.get(LIBRARY_TOKEN))
    if token is None and base_s is not None:
        service = keyring_store.service_name("library", str(library_base(base_s.value)))
        stored = keyring_store.get(env, service, keyring_store.LIBRARY_USER)
        if stored:
            token = Sourced(Secret(stored), "keyring")
    used = from_remote
    if token is None:
        source = named or from_remote
        if source is None and base_s is not None:
            source = remotes.matching(base_s.value)
        if source is not None and source.token:
            token = Sourced(source.token, remotes.source(source))
            used = source
    return LibraryCredentials(
        base=base_s, token=token, remote=used.name if used else None, discover=discover
    )


def _library_base(
    base: str | None,
    named: Remote | None,
    env: Mapping[str, str],
    file_base: Sourced[str] | None,
    remotes: Remotes,
) -> tuple[Sourced[str] | None, Remote | None]:
    """The library base in effect, and the remote.yaml entry it came from (if one)."""
    from_named = remotes.base_of(named)
    base_s = _first(_option(base, "--library"), from_named, _environ(env, LIBRARY_BASE), file_base)
    if base_s is not None:
        return base_s, (named if base_s is from_named else None)
    active = remotes.active()
    base_s = remotes.base_of(active)
    return base_s, (active if base_s is not None else None)


def configured_library_base(
    *, remote: str | None = None, env: Mapping[str, str] | None = None
) -> str | None:
    """The library base from configuration alone: no token is looked up."""
    from sregistry.credentials.remote_yaml import Remotes

    env = os.environ if env is None else env
    remotes = Remotes(env)
    named = remotes.named(remote) if remote else None
    found, _ = _library_base(None, named, env, _File(env, "library").get(LIBRARY_BASE), remotes)
    return found.value if found is not None else None


def configured_registry_base(env: Mapping[str, str] | None = None) -> str | None:
    """The registry base from configuration alone: no token is looked up."""
    env = os.environ if env is None else env
    found = _first(_environ(env, REGISTRY_BASE), _File(env, "registry").get(REGISTRY_BASE, "base"))
    return found.value if found is not None else None
