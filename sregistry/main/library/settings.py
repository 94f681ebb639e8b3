"""Transfer settings of the library backend: option > environment > default.

``connections`` (``$SREGISTRY_LIBRARY_CONNECTIONS``, 1..32, default: automatic) and
``part_size`` (``$SREGISTRY_LIBRARY_PART_SIZE``, bytes or ``64M``/``64MiB``,
1 MiB..5 GiB, default 32 MiB). Errors name where the bad value came from.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sregistry.errors import ConfigError
from sregistry.main.backend import BackendSettings, insecure_setting
from sregistry.transfer.ranged import DEFAULT_PART_SIZE

if TYPE_CHECKING:
    import requests

__all__ = [
    "CONNECTIONS_ENV",
    "PART_SIZE_ENV",
    "LibrarySettings",
    "connections_setting",
    "parse_size",
    "part_size_setting",
]

CONNECTIONS_ENV = "SREGISTRY_LIBRARY_CONNECTIONS"
PART_SIZE_ENV = "SREGISTRY_LIBRARY_PART_SIZE"
MAX_CONNECTIONS = 32
MIN_PART_SIZE = 1 << 20
MAX_PART_SIZE = 5 << 30
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(value: int | str, where: str) -> int:
    """Bytes from ``123``, ``64M``, ``64MiB``, ``1g`` (binary units)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if match is None:
        raise ConfigError(f"{where}: {value!r} is not a size (e.g. 33554432 or 32M)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _setting(
    value: int | str | None, env: Mapping[str, str], name: str, default: int | None
) -> tuple[int | str | None, str]:
    if value is not None:
        return value, "the option"
    text = env.get(name, "").strip()
    if text:
        return text, f"${name}"
    return default, "the default"


def connections_setting(value: int | None, env: Mapping[str, str]) -> int | None:
    """Parallel connections: the option, else ``$SREGISTRY_LIBRARY_CONNECTIONS``, else
    ``None``: as many as raise the throughput (one, then one more while it grows)."""
    raw, where = _setting(value, env, CONNECTIONS_ENV, None)
    if raw is None:
        return None
    try:
        number = int(raw)
    except ValueError:
        raise ConfigError(f"{where}: connections must be a whole number, not {raw!r}") from None
    if not 1 <= number <= MAX_CONNECTIONS:
        raise ConfigError(f"{where}: connections must be between 1 and {MAX_CONNECTIONS}")
    return number


def part_size_setting(value: int | str | None, env: Mapping[str, str]) -> int:
    """Ranged-pull part size: the option, else ``$SREGISTRY_LIBRARY_PART_SIZE``, else 32 MiB."""
    raw, where = _setting(value, env, PART_SIZE_ENV, DEFAULT_PART_SIZE)
    assert raw is not None
    size = parse_size(raw, where)
    if not MIN_PART_SIZE <= size <= MAX_PART_SIZE:
        raise ConfigError(f"{where}: the part size must be between 1 MiB and 5 GiB")
    return size


@dataclass(frozen=True, kw_only=True)
class LibrarySettings(BackendSettings):
    """The options of :class:`~sregistry.main.library.client.LibraryClient`."""

    base: str | None = None
    token: str | None = field(default=None, repr=False)
    remote: str | None = None
    insecure: bool = False
    arch: str | None = None
    connections: int | None = None
    part_size: int | str | None = None
    timeout: float | tuple[float, float] | None = None
    session: requests.Session | None = None
    cache: bool = True

    def resolved(self) -> LibrarySettings:
        """``insecure``, ``connections`` and ``part_size`` also from the environment."""
        env = self.environ()
        return dataclasses.replace(
            self,
            insecure=insecure_setting(self.insecure, env),
            connections=connections_setting(self.connections, env),
            part_size=part_size_setting(self.part_size, env),
        )
