"""A small btrfs filesystem on a loop device for one test: reflinks for real.

Needs root, ``mkfs.btrfs`` (btrfs-progs: ``.ci/debian-packages`` installs it,
and its absence fails under ``CI=true``) and a kernel that mounts btrfs from a
loop device; elsewhere the tests that need it skip with the reason.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require_tool

__all__ = ["btrfs_disk"]


@contextmanager
def btrfs_disk(path: Path, size: int = 128 << 20) -> Iterator[Path]:
    """Mount a fresh btrfs of ``size`` bytes (an image file beside ``path``) at ``path``."""
    image = path.with_name(path.name + ".img")
    path.mkdir(parents=True, exist_ok=True)
    why = None
    if os.geteuid() != 0:
        why = "mounting a btrfs needs root"
    else:
        mkfs = require_tool("mkfs.btrfs")
        with open(image, "wb") as handle:
            handle.truncate(size)
        for command in (
            [mkfs, "-q", "-f", str(image)],
            ["mount", "-o", "loop", str(image), str(path)],
        ):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                why = f"cannot make a btrfs here: {done.stderr.strip()}"
                break
    if why is not None:
        image.unlink(missing_ok=True)
        pytest.skip(why)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
        image.unlink(missing_ok=True)
