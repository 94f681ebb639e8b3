"""A small tmpfs mounted for one test: a disk that fills up for real.

Mounting needs root (and a kernel that lets this process mount); elsewhere
the tests that need it skip with the reason, except under ``CI=true`` where
a skip would hide the check and is turned into a failure.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["small_disk"]


@contextmanager
def small_disk(path: Path, size: str = "1m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``path`` for the block."""
    path.mkdir(parents=True, exist_ok=True)
    why = None
    if os.geteuid() != 0:
        why = "mounting a tmpfs needs root"
    else:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            why = f"cannot mount a tmpfs here: {done.stderr.strip()}"
    if why is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"full-disk test cannot run under CI: {why}")
        pytest.skip(why)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
