"""File primitives of the store: streamed copies (hashed or not), temporary
files beside their target, atomic no-clobber placement, directory fsync.

Memory stays flat: bytes move through one reused buffer (or the kernel's
``copy_file_range``) whatever the file size.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from sregistry.errors import DestinationExists, SregistryError
from sregistry.results import ProgressCallback

__all__ = [
    "CHUNK_SIZE",
    "copy_hashing",
    "copy_plain",
    "create_temp",
    "file_errors",
    "fsync_dir",
    "hash_fd",
    "place",
    "remove_quietly",
]

CHUNK_SIZE = 1 << 20
"""Bytes per read: large enough for full speed, small enough to keep memory flat."""

P = ParamSpec("P")
R = TypeVar("R")


def file_errors(action: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn a file system failure (permissions, a full disk) into one
    :class:`SregistryError` line naming the file; sregistry's own errors pass."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except SregistryError:
                raise
            except OSError as exc:
                where = f" ({exc.filename})" if exc.filename else ""
                hint = None
                if exc.errno == errno.ENOSPC:
                    hint = "free some space; `sregistry images` lists what the store holds"
                raise SregistryError(f"{action}: {exc.strerror or exc}{where}", hint=hint) from exc

        return wrapper

    return decorate


def create_temp(
    directory: Path, prefix: str, suffix: str = "", mode: int = 0o777
) -> tuple[int, Path]:
    """Create a new, empty file ``<prefix><random><suffix>`` in ``directory``.

    Returns ``(fd, path)``, the descriptor open for writing. ``mode`` is
    filtered by the umask as usual (0o777 gives ``rwxr-xr-x`` under umask 022:
    SIF images are executables).
    """
    while True:
        path = directory / f"{prefix}{os.urandom(6).hex()}{suffix}"
        try:
            fd = os.open(
                path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode
            )
        except FileExistsError:
            continue
        return fd, path


def copy_hashing(
    src_fd: int, dst_fd: int, *, total: int | None = None, progress: ProgressCallback | None = None
) -> tuple[str, int]:
    """Copy ``src_fd`` to ``dst_fd`` from their current offsets to the end of the
    source, hashing on the way. Returns ``(sha256 hex, bytes copied)``."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    done = 0
    with os.fdopen(os.dup(src_fd), "rb", buffering=0) as reader:
        while True:
            count = reader.readinto(view)
            if not count:
                break
            chunk = view[:count]
            digest.update(chunk)
            _write_all(dst_fd, chunk)
            done += count
            if progress is not None:
                progress(done, total)
    return digest.hexdigest(), done


def hash_fd(
    fd: int, *, total: int | None = None, progress: ProgressCallback | None = None
) -> tuple[str, int]:
    """``(sha256 hex, size)`` of what ``fd`` holds from its offset to the end."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    done = 0
    with os.fdopen(os.dup(fd), "rb", buffering=0) as reader:
        while count := reader.readinto(view):
            digest.update(view[:count])
            done += count
            if progress is not None:
                progress(done, total)
    return digest.hexdigest(), done


def copy_plain(
    src_fd: int, dst_fd: int, *, total: int, progress: ProgressCallback | None = None
) -> int:
    """Copy ``total`` bytes without hashing: ``copy_file_range`` where the
    kernel offers it (a server-side or reflink copy on some filesystems), a
    buffered loop otherwise. Returns the bytes copied."""
    done = 0
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        try:
            while done < total:
                count = copy_range(src_fd, dst_fd, min(total - done, 64 * CHUNK_SIZE))
                if count == 0:
                    break
                done += count
                if progress is not None:
                    progress(done, total)
            return done
        except OSError as exc:
            if exc.errno not in {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP} or done:
                raise
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with os.fdopen(os.dup(src_fd), "rb", buffering=0) as reader:
        while True:
            count = reader.readinto(view)
            if not count:
                break
            _write_all(dst_fd, view[:count])
            done += count
            if progress is not None:
                progress(done, total)
    return done


FICLONE = 0x40049409
"""Linux ``ioctl`` request: make the destination share the source's blocks."""
_NO_CLONE = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.ENOSYS}


def clone(src_fd: int, dst_fd: int) -> bool:
    """Make the empty file ``dst_fd`` a copy-on-write clone of ``src_fd`` (a
    reflink: btrfs, XFS with reflink). ``False`` when the filesystem (ext4,
    tmpfs), the pair (two filesystems) or the platform cannot clone."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return False
    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
    except OSError as exc:
        if exc.errno in _NO_CLONE:
            return False
        raise
    return True


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def place(temp: Path, target: Path, *, force: bool) -> None:
    """Move a complete ``temp`` to ``target`` (same directory) atomically.

    Without ``force`` an existing target is never replaced, even one created
    by another process a moment ago: the file is hard-linked into place
    (which fails if the name exists) and the temporary name dropped. Where
    hard links are not supported, an existence check precedes the rename.
    """
    if force:
        os.replace(temp, target)
    else:
        try:
            os.link(temp, target)
        except FileExistsError:
            raise DestinationExists.at(target) from None
        except OSError as exc:
            if exc.errno not in {errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}:
                raise
            if os.path.lexists(target):
                raise DestinationExists.at(target) from None
            os.replace(temp, target)
        else:
            os.unlink(temp)
    fsync_dir(target.parent)


def remove_quietly(path: Path) -> None:
    """Unlink ``path`` if it exists; errors are ignored (best-effort cleanup)."""
    with contextlib.suppress(OSError):
        os.unlink(path)
