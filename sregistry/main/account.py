"""What a backend's account hooks take and return: ``login``, ``logout`` and ``config``.

A :class:`~sregistry.main.backend.Backend` names these hooks as
``module:function`` strings; the commands that call them import this module,
a pull or a push never does. :mod:`sregistry.main.backend` exports the same
names (imported from here on first use), as the plugin documentation shows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sregistry.errors import ConfigError

if TYPE_CHECKING:
    from sregistry.credentials.secret import Secret

__all__ = [
    "LoginHook",
    "LoginRequest",
    "LoginResult",
    "LogoutHook",
    "LogoutResult",
    "MissingSetting",
    "ReportHook",
    "Setting",
    "SettingsReport",
]


class MissingSetting(ConfigError):
    """A hook needs a setting nobody gave: ``setting`` names the option (or ``"token"``).

    The command line reads the token, asks for a setting with a ``prompt`` on a
    terminal (then calls the hook again), or names the option's flag.
    """

    def __init__(self, message: str, *, setting: str, prompt: str | None = None) -> None:
        super().__init__(message, hint=f"give the {setting!r} option")
        self.setting = setting
        self.prompt = prompt


@dataclass(frozen=True)
class LoginRequest:
    """What ``sregistry login`` asks of a backend's login hook."""

    options: Mapping[str, Any]
    """The backend's options that were given, by :attr:`Option.name` (and
    ``uri``: a ``scheme://host`` naming the server)."""
    token: Secret | None = None
    """None until the hook asks for it (``MissingSetting(setting="token")``)."""
    env: Mapping[str, str] | None = None
    """Replaces ``os.environ``."""
    sleep: Callable[[float], None] | None = None
    """Replaces ``time.sleep`` between retries of the hook's requests (tests)."""

    def environ(self) -> Mapping[str, str]:
        """``env``, else ``os.environ``."""
        return os.environ if self.env is None else self.env


@dataclass(frozen=True)
class LoginResult:
    """What a login stored, and where; nothing here is a secret."""

    what: str
    """E.g. ``the library token for https://host``."""
    place: str
    """``"keyring"`` or the path of the file written."""
    checked: str | None = None
    """How the server confirmed the token, when the protocol can check one."""
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogoutResult:
    """What a logout removed (``removed`` is empty when nothing was stored)."""

    what: str
    removed: tuple[str, ...] = ()
    """``"keyring"`` and/or the paths of the files changed."""
    warnings: tuple[str, ...] = ()


class _Sourced(Protocol):
    """A value and where it came from (:class:`sregistry.credentials.Sourced`)."""

    @property
    def value(self) -> object: ...

    @property
    def source(self) -> str: ...


@dataclass(frozen=True)
class Setting:
    """One line of ``sregistry config``: a setting's value (a token masked) and its source."""

    name: str
    value: str | bool | None
    """None: not set."""
    source: str | None = None
    """Where the value came from (``$SREGISTRY_...``, a file, a flag); None when
    it has no source of its own (a value derived from others)."""
    listed: bool = True
    """False: in the JSON report only."""

    @classmethod
    def sourced(cls, name: str, item: _Sourced | None) -> Setting:
        """The setting ``name`` from a sourced value (a secret shows itself masked)."""
        if item is None:
            return cls(name, None)
        return cls(name, str(item.value), item.source)

    def as_json(self) -> Any:
        """``{"value", "source"}`` for a sourced value, else the value itself."""
        if self.value is None or self.source is None:
            return self.value
        return {"value": self.value, "source": self.source}


@dataclass(frozen=True)
class SettingsReport:
    """What a backend's report hook says for ``sregistry config``."""

    settings: tuple[Setting, ...]
    notes: tuple[str, ...] = ()


LoginHook = Callable[[LoginRequest], LoginResult]
"""Check the token where the protocol can, store it (:func:`sregistry.credentials.store_token`)."""
LogoutHook = Callable[[Mapping[str, Any]], LogoutResult]
"""Remove the stored token of the server the given options (by name) name."""
ReportHook = Callable[[Mapping[str, Any]], SettingsReport]
"""The settings the given options (by name) would use; raises when unreadable."""
