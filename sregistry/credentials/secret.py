"""A token that never shows itself, and a value that remembers where it came from."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

__all__ = ["Secret", "Sourced"]

T = TypeVar("T")

_STARS = "****"
_SHOW_TAIL_FROM = 12
"""Tokens shorter than this are masked completely (the last 4 of a short
secret are too large a share of it)."""


class Secret:
    """A credential whose text only :meth:`reveal` returns.

    ``str``, ``repr``, ``format`` (f-strings, ``%s``), ``json.dumps(default=str)``,
    logging and tracebacks that print locals all see :meth:`masked`. It is not
    a ``str`` subclass, so it cannot be concatenated or written by accident.
    Pickling is refused (a pickle would carry the value); copies share the
    (immutable) instance.
    """

    __slots__ = ("__value",)
    __value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"a Secret holds a str, not {type(value).__name__}")
        object.__setattr__(self, "_Secret__value", value)

    def reveal(self) -> str:
        """The secret text: call this only where it is sent or stored."""
        return self.__value

    def masked(self) -> str:
        """``****`` plus at most the last 4 characters (none for short values)."""
        if len(self.__value) < _SHOW_TAIL_FROM:
            return _STARS
        return _STARS + self.__value[-4:]

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    def __str__(self) -> str:
        return self.masked()

    def __format__(self, format_spec: str) -> str:
        return format(self.masked(), format_spec)

    def __bool__(self) -> bool:
        return bool(self.__value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.__value.encode(), other.__value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self.__value))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled (the pickle would hold the token)")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A setting and a human-readable origin, e.g. ``"--registry"``,
    ``"$SREGISTRY_REGISTRY_TOKEN"``, ``"~/.sregistry (registry.token)"``,
    ``"keyring"``, ``"~/.apptainer/remote.yaml (SylabsCloud)"``."""

    value: T
    source: str
