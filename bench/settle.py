"""Start every timed command from the same page-cache state.

Measured here: a 2 GiB download run right after ``curl`` had written (and the
script had deleted) another 2 GiB file took twice as long as the same download
run after a Python writer, whatever the tool; rotating the order only spread
that penalty over every tool's median. ``settle(paths)`` writes dirty pages
back (``sync``) and evicts the pages of the files a measurement uses
(``fsync`` then ``posix_fadvise(POSIX_FADV_DONTNEED)`` on each), so no command
pays for the one before it, without dropping the page cache of the whole
machine (other people's work). Keep the served image and upload sources on
tmpfs (``/dev/shm``): tmpfs pages cannot be evicted, so servers keep serving
from memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["default_fast_dir", "evict", "settle"]


def evict(path: Path) -> None:
    """Write ``path``'s dirty pages back and drop its pages from the page cache
    (a folder: every file below it). A missing path is nothing to do."""
    if path.is_dir():
        for folder, _dirs, files in os.walk(path):
            for name in files:
                evict(Path(folder) / name)
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def settle(paths: Iterable[Path] = ()) -> None:
    """``sync``, then evict the pages of ``paths`` (see :func:`evict`)."""
    os.sync()
    for path in paths:
        evict(path)


def default_fast_dir() -> Path | None:
    """``/dev/shm`` when it is a writable folder (for server data and sources)."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None
