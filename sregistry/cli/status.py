"""Exit statuses, and the one table that turns exceptions into a line of text and a code.

The library's messages and hints speak to any caller; only this table adds
what is particular to the command line (flag names) and decides exit codes.
"""

from __future__ import annotations

from enum import IntEnum

from sregistry.errors import (
    AuthenticationError,
    DestinationExists,
    IntegrityError,
    InvalidName,
    NotFound,
    NotKept,
    PermissionDenied,
    SregistryError,
)

__all__ = ["ERRORS", "ExitStatus", "cli_hint", "describe_error", "exit_status"]


class ExitStatus(IntEnum):
    """What ``sregistry`` exits with (docs/exit-codes.md)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    """Also click's own usage errors."""
    NOT_FOUND = 3
    PERMISSION = 4
    INTEGRITY = 5
    NOT_KEPT = 6
    """A push arrived but the server does not hold it as asked."""
    INTERRUPTED = 130


ERRORS: tuple[tuple[type[SregistryError], ExitStatus, str | None], ...] = (
    (InvalidName, ExitStatus.USAGE, None),
    (NotFound, ExitStatus.NOT_FOUND, None),
    (PermissionDenied, ExitStatus.PERMISSION, None),  # Frozen too
    (AuthenticationError, ExitStatus.PERMISSION, None),
    (IntegrityError, ExitStatus.INTEGRITY, None),
    (NotKept, ExitStatus.NOT_KEPT, None),
    (
        DestinationExists,
        ExitStatus.ERROR,
        "use --force to replace it, or -o to choose another path",
    ),
    (SregistryError, ExitStatus.ERROR, None),
)
"""Exception type -> exit status and the command line's own hint (which
replaces the library's), first match wins: subclasses before their bases."""


def _entry(exc: SregistryError) -> tuple[ExitStatus, str | None]:
    for kind, status, hint in ERRORS:
        if isinstance(exc, kind):
            return status, hint
    return ExitStatus.ERROR, None  # unreachable: SregistryError is last


def exit_status(exc: SregistryError) -> ExitStatus:
    """The exit status for ``exc``."""
    return _entry(exc)[0]


def cli_hint(exc: SregistryError) -> str | None:
    """The hint to print: the table's for this type, else the library's."""
    return _entry(exc)[1] or exc.hint


def describe_error(exc: SregistryError) -> str:
    """One line: ``error: <message>; <hint>``."""
    line = f"error: {exc.message}"
    hint = cli_hint(exc)
    if hint:
        line = f"{line}; {hint}"
    return " ".join(line.split())
