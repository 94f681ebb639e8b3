"""Exit statuses and the one place exceptions become a line of text."""

from __future__ import annotations

from enum import IntEnum

from sregistry.errors import SregistryError

__all__ = ["ExitStatus", "describe_error"]


class ExitStatus(IntEnum):
    """What ``sregistry`` exits with."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    PERMISSION = 4
    INTEGRITY = 5
    INTERRUPTED = 130


def describe_error(exc: SregistryError) -> str:
    """One line: ``error: <message>; <hint>``."""
    line = f"error: {exc.message}"
    if exc.hint:
        line = f"{line}; {exc.hint}"
    return " ".join(line.split())
