"""Small helpers shared by the commands that move images: sizes, TLS warning noise."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["human_size", "no_urllib3_tls_warnings"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_size(size: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@contextmanager
def no_urllib3_tls_warnings() -> Iterator[None]:
    """Hide urllib3's per-request ``InsecureRequestWarning``: with ``--insecure`` the
    command has already said, once, that TLS verification is off.

    Matched by its text and the module issuing it, so that a command that never
    talks HTTP (the local backend) does not import urllib3 (~30 ms) to name it.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unverified HTTPS request", module="urllib3")
        yield
