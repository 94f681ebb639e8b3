"""Helpers the benchmarks share: sizes on the command line and files of random bytes."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["MiB", "parse_size", "write_random"]

MiB = 1 << 20
_UNITS = {"K": 1 << 10, "M": MiB, "G": 1 << 30}


def parse_size(text: str) -> int:
    """``256M``, ``2G``, ``1.5GiB``, ``4096`` -> bytes (an argparse ``type``)."""
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = _UNITS.get(cleaned[-1:], 1)
    number = cleaned[:-1] if cleaned[-1:] in _UNITS else cleaned
    try:
        return int(float(number) * unit)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from None


def write_random(path: Path, size: int) -> None:
    """``size`` random bytes at ``path`` (incompressible, unlike zeros)."""
    with path.open("wb") as handle:
        left = size
        while left:
            block = os.urandom(min(left, 16 * MiB))
            handle.write(block)
            left -= len(block)
