"""What a backend declares about itself, without importing its client.

A backend package registers one entry point in the ``sregistry.backends``
group naming a :class:`Backend` (or, simplest, its ``Client`` subclass)::

    [project.entry-points."sregistry.backends"]
    mykind = "mypackage:BACKEND"

:class:`Backend` names the client class by ``module:attribute`` (imported
only when a client is built) and lists the :class:`Option` descriptions the
command line turns into flags. The client class declares its
:class:`BackendSettings` (the constructor's keyword options, checked and read
from the environment in one place) and its :class:`Capability` set. A
:class:`Backend` may also name account hooks (``login``, ``logout``,
``report``) the ``login``/``logout``/``config`` commands call instead of a
client: :data:`LoginHook`, :data:`LogoutHook`, :data:`ReportHook`. Those
hooks' types live in :mod:`sregistry.main.account` and are exported here too,
imported on first use: a command that opens a client never needs them.

This module imports nothing heavy and nothing of sregistry's but errors.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from sregistry.errors import ConfigError

if TYPE_CHECKING:
    from sregistry.main.account import (
        LoginHook,
        LoginRequest,
        LoginResult,
        LogoutHook,
        LogoutResult,
        MissingSetting,
        ReportHook,
        Setting,
        SettingsReport,
    )

__all__ = [
    "ACCOUNT_COMMANDS",
    "INSECURE",
    "NOVERIFY_ENV",
    "OPERATIONS",
    "Backend",
    "BackendSettings",
    "Capability",
    "CreatedCollection",
    "LoginHook",
    "LoginRequest",
    "LoginResult",
    "LogoutHook",
    "LogoutResult",
    "MissingSetting",
    "Option",
    "ReportHook",
    "Setting",
    "SettingsReport",
    "insecure_setting",
    "option_names",
    "server_of",
]

NOVERIFY_ENV = "SREGISTRY_HTTPS_NOVERIFY"
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})

ACCOUNT_COMMANDS = frozenset({"login", "logout", "config"})
"""The commands served by a backend's hooks (:attr:`Backend.login`...), not its client."""
OPERATIONS = (
    frozenset({"push", "pull", "delete", "search", "labels", "create_collection", "inspect"})
    | ACCOUNT_COMMANDS
)
"""The client methods (and :data:`ACCOUNT_COMMANDS`) an :class:`Option` can apply to."""


def insecure_setting(value: bool | None, env: Mapping[str, str]) -> bool:
    """TLS verification off: the option when true, else ``$SREGISTRY_HTTPS_NOVERIFY``.

    The one reader of that variable, for every backend.
    """
    if value:
        return True
    text = env.get(NOVERIFY_ENV)
    return text is not None and text.strip().lower() in _TRUE


class Capability(Enum):
    """Something a client can do beyond the :class:`~sregistry.main.base.Client` methods."""

    CREATE_COLLECTION = "create_collection"
    """``client.create_collection(name, private=...)`` creates a collection."""

    OPEN_IMAGE = "open_image"
    """``client.open_image(name)`` opens an image on the server as a seekable
    file read in HTTP ranges, so ``client.inspect(name)`` reads its metadata
    without downloading it."""


class CreatedCollection(Protocol):
    """What ``create_collection`` returns."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str | None: ...

    @property
    def private(self) -> bool: ...


@dataclass(frozen=True)
class Option:
    """One backend option as the command line offers it (no click types here).

    ``name`` is the keyword ``get_client`` takes; ``flag`` the command-line
    flag. ``operations`` are the client methods whose commands show it.
    ``selects``: given without a ``scheme://`` reference, it picks this
    backend (``--library URL`` means the library backend). ``strict``: given
    while another backend is picked, it is a usage error instead of ignored.
    """

    name: str
    flag: str
    help: str
    metavar: str | None = None
    is_flag: bool = False
    integer: tuple[int, int] | None = None
    """``(minimum, maximum)`` when the value is a whole number in that range."""
    operations: frozenset[str] = OPERATIONS
    selects: bool = False
    strict: bool = False

    def __post_init__(self) -> None:
        unknown = self.operations - OPERATIONS
        if unknown:
            raise ValueError(f"option {self.flag}: unknown operations {sorted(unknown)}")

    def merged(self, other: Option) -> Option:
        """This flag as one command shows it when ``other`` (another backend's
        option of the same flag) is offered too: both help texts, once each."""
        if other.help == self.help or other.help in self.help:
            return self
        return dataclasses.replace(self, help=f"{self.help} {other.help}")


INSECURE = Option(
    "insecure",
    "--insecure",
    "Do not verify TLS certificates (also SREGISTRY_HTTPS_NOVERIFY).",
    is_flag=True,
    operations=OPERATIONS - {"logout", "config"},
)
"""``--insecure``, the same for every backend that speaks TLS."""


@dataclass(frozen=True)
class Backend:
    """A backend as its entry point describes it; nothing of it is imported yet."""

    name: str
    """The backend name, also its URI scheme."""
    client: str
    """``module:attribute`` of its :class:`~sregistry.main.base.Client` subclass."""
    options: tuple[Option, ...] = ()
    """The options the command line offers for it."""
    login: str | None = None
    """``module:function``, a :data:`LoginHook`: checks and stores a token (``sregistry login``)."""
    logout: str | None = None
    """``module:function``, a :data:`LogoutHook`: removes a stored token (``sregistry logout``)."""
    report: str | None = None
    """``module:function``, a :data:`ReportHook`: the settings in effect (``sregistry config``)."""


@dataclass(frozen=True, kw_only=True)
class BackendSettings:
    """A backend's constructor options, checked: subclass it with one field per option.

    :meth:`from_options` is where ``get_client`` (and through it the command
    line) turns keyword options into settings: unknown names are a
    :class:`~sregistry.errors.ConfigError` naming the valid ones, and
    :meth:`resolved` fills what the environment decides.
    """

    uri: str | None = None
    """A reference whose host chooses the server (``scheme://host/...``)."""
    env: Mapping[str, str] | None = None
    """Replaces ``os.environ`` when reading settings."""
    sleep: Callable[[float], None] | None = None
    """Replaces ``time.sleep`` where the client waits before retrying a request
    (tests pass one that records the delays); a client that never retries ignores it."""

    @classmethod
    def from_options(cls, backend: str, options: Mapping[str, Any]) -> BackendSettings:
        """Settings from keyword options, then :meth:`resolved`."""
        valid = option_names(cls)
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ConfigError(
                f"the {backend} backend has no option {', '.join(map(repr, unknown))}",
                hint=f"its options: {', '.join(valid)}",
            )
        return cls(**options).resolved()

    def resolved(self) -> BackendSettings:
        """These settings with environment-decided values filled in (hook)."""
        return self

    def environ(self) -> Mapping[str, str]:
        """``env``, else ``os.environ``."""
        return os.environ if self.env is None else self.env

    def as_options(self) -> dict[str, Any]:
        """The constructor keywords: every field that differs from its default."""
        found: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.default is dataclasses.MISSING or value != item.default:
                found[item.name] = value
        return found


def option_names(settings: type[BackendSettings]) -> list[str]:
    """The option names ``settings`` accepts, sorted."""
    return sorted(item.name for item in dataclasses.fields(settings))


def server_of(uri: str | None) -> str | None:
    """The ``host[:port]`` of a ``scheme://host[/...]`` reference, else None."""
    if not uri or "://" not in uri:
        return None
    host = uri.split("://", 1)[1].split("/", 1)[0]
    return host or None


_ACCOUNT_TYPES = frozenset(
    {
        "LoginHook",
        "LoginRequest",
        "LoginResult",
        "LogoutHook",
        "LogoutResult",
        "MissingSetting",
        "ReportHook",
        "Setting",
        "SettingsReport",
    }
)


def __getattr__(name: str) -> Any:
    """The account hooks' types, from :mod:`sregistry.main.account` on first use."""
    if name not in _ACCOUNT_TYPES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from sregistry.main import account

    return getattr(account, name)
