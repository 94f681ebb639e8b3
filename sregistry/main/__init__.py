"""``get_client``: pick a backend by URI, name or configuration and build its client.

Backends are found through the ``sregistry.backends`` entry-point group, so a
third-party package can add one with one entry point naming a
:class:`~sregistry.main.backend.Backend` (its options for the command line
and its client class) or simply its ``Client`` subclass::

    [project.entry-points."sregistry.backends"]
    mykind = "mypackage:BACKEND"

The built-in backends are also known without installed metadata (running from
a source tree), and their names always mean the built-in ones.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from importlib.machinery import PathFinder
from typing import TYPE_CHECKING, Any, Literal, overload

from sregistry.config import choose_backend
from sregistry.errors import ConfigError
from sregistry.main.backend import Backend
from sregistry.main.base import Client

if TYPE_CHECKING:
    from sregistry.main.account import LoginHook, LogoutHook, ReportHook
    from sregistry.main.library.client import LibraryClient
    from sregistry.main.local.client import LocalClient
    from sregistry.main.oras.client import OrasClient
    from sregistry.main.registry.client import RegistryClient

__all__ = [
    "BUILTIN_BACKENDS",
    "ENTRY_POINT_GROUP",
    "account_hook",
    "available_backends",
    "client_class",
    "entry_points",
    "get_client",
    "load_backends",
    "make_client",
]

ENTRY_POINT_GROUP = "sregistry.backends"
BUILTIN_BACKENDS: dict[str, str] = {
    "registry": "sregistry.main.registry:BACKEND",
    "library": "sregistry.main.library:BACKEND",
    "local": "sregistry.main.local:BACKEND",
}


def available_backends() -> dict[str, str]:
    """Backend name -> ``module:attribute``: the built-ins, then other entry points by name."""
    found = dict(BUILTIN_BACKENDS)
    for name, value in sorted(entry_points(ENTRY_POINT_GROUP), key=lambda point: point[0]):
        found.setdefault(name, value)
    return found


def entry_points(group: str) -> list[tuple[str, str]]:
    """``(name, value)`` of the entry points in ``group``, as
    ``importlib.metadata.entry_points(group=group)`` finds them.

    Installed distributions on ``sys.path`` directories are read directly
    (their ``*.dist-info`` / ``*.egg-info`` ``entry_points.txt``, the first
    distribution of a name winning): importing :mod:`importlib.metadata`
    costs more than the rest of a command's start-up. A zip file on the path,
    or an import hook that provides distributions of its own, gets
    :mod:`importlib.metadata` itself.
    """
    if any(os.path.isfile(entry) for entry in sys.path) or any(
        hasattr(finder, "find_distributions")
        for finder in sys.meta_path
        if finder is not PathFinder
    ):
        from importlib.metadata import entry_points as scan

        return [(point.name, point.value) for point in scan(group=group)]
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for info in names:
            stem, dot, suffix = info.rpartition(".")
            if not dot or suffix not in {"dist-info", "egg-info"}:
                continue
            distribution = re.sub(r"[-_.]+", "_", stem.partition("-")[0]).lower()
            if distribution in seen:
                continue
            seen.add(distribution)
            found.extend(_group_of(os.path.join(entry or ".", info, "entry_points.txt"), group))
    return found


def _group_of(path: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of section ``[group]`` of an ``entry_points.txt``."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return []
    points: list[tuple[str, str]] = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            name, _, value = line.partition("=")
            points.append((name.strip(), value.strip()))
    return points


def _import(name: str, target: str) -> object:
    module_name, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"the {name!r} backend cannot be loaded ({target}): {exc}") from exc


def _describe(name: str, target: str) -> Backend:
    """The :class:`Backend` an entry point names (a Client class has no options)."""
    found = _import(name, target)
    if isinstance(found, Backend):
        return found
    if isinstance(found, type) and issubclass(found, Client):
        return Backend(name=name, client=target)
    raise ConfigError(f"the {name!r} backend ({target}) is neither a Backend nor a Client")


def load_backends(names: dict[str, str] | None = None) -> dict[str, Backend]:
    """Every backend's description (``names``: :func:`available_backends`), in order.

    Imports each backend's entry-point module, never its client.
    """
    names = available_backends() if names is None else names
    return {name: _describe(name, target) for name, target in names.items()}


def client_class(backend: Backend) -> type[Client]:
    """Import the client class ``backend`` names."""
    cls = _import(backend.name, backend.client)
    if not (isinstance(cls, type) and issubclass(cls, Client)):
        raise ConfigError(f"the {backend.name!r} backend ({backend.client}) is not a Client")
    return cls


def make_client(backend: Backend, **options: Any) -> Client:
    """The client of ``backend`` for ``options``: the one place options become
    settings (the client class's ``settings_type``), then a client."""
    cls, name = client_class(backend), backend.name
    if cls.settings_type is not None:
        return cls.from_settings(cls.settings_type.from_options(name, options))
    parameters = inspect.signature(cls).parameters
    valid = sorted(key for key, item in parameters.items() if item.kind is item.KEYWORD_ONLY)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(
            f"the {name} backend has no option {', '.join(map(repr, unknown))}",
            hint=f"its options: {', '.join(valid)}",
        )
    return cls(**options)


@overload
def account_hook(backend: Backend, hook: Literal["login"]) -> LoginHook | None: ...
@overload
def account_hook(backend: Backend, hook: Literal["logout"]) -> LogoutHook | None: ...
@overload
def account_hook(backend: Backend, hook: Literal["report"]) -> ReportHook | None: ...


def account_hook(
    backend: Backend, hook: Literal["login", "logout", "report"]
) -> LoginHook | LogoutHook | ReportHook | None:
    """Import the ``hook`` function ``backend`` names, or None when it names none."""
    target: str | None = getattr(backend, hook)
    if target is None:
        return None
    found = _import(backend.name, target)
    if not callable(found):
        raise ConfigError(f"the {backend.name!r} backend's {hook} hook ({target}) is not callable")
    return found


@overload
def get_client(name_or_uri: Literal["registry"], **options: Any) -> RegistryClient: ...
@overload
def get_client(name_or_uri: Literal["library"], **options: Any) -> LibraryClient: ...
@overload
def get_client(name_or_uri: Literal["local"], **options: Any) -> LocalClient: ...
@overload
def get_client(name_or_uri: Literal["oras"], **options: Any) -> OrasClient: ...
@overload
def get_client(name_or_uri: str | None = None, **options: Any) -> Client: ...


def get_client(name_or_uri: str | None = None, **options: Any) -> Client:
    """Build the client for ``name_or_uri``.

    ``name_or_uri`` is a backend name (``"registry"``), a reference with a
    scheme (``"registry://host/collection/name:tag"``, ``"library://..."``) or
    ``None`` to follow the configuration (``$SREGISTRY_CLIENT``, the secrets
    file, then ``registry`` when one is configured, else ``local``).
    ``options`` are the backend's settings (its constructor's keywords, e.g.
    ``base``, ``username``, ``token``, ``insecure``); an unknown one is a
    :class:`~sregistry.errors.ConfigError` naming the valid ones. A host in
    the URI sets the base URL.
    """
    backends = available_backends()
    kind, _reason = choose_backend(
        name_or_uri, frozenset(backends), registry_option=options.get("base")
    )
    if name_or_uri and "://" in name_or_uri:
        options.setdefault("uri", name_or_uri)
    return make_client(_describe(kind, backends[kind]), **options)
