"""Content-addressed image files: ``<root>/blobs/sha256/<hex>.sif``.

A blob is written under a temporary name in the same directory
(``tmp.<host>.<pid>.<random>``), flushed to disk, and renamed to its final
name only inside the database transaction that records it, so the rename and
the row are serialised against every other process. A blob is never edited
in place: when it is placed it gets :func:`blob_mode` (read-only, and
executable wherever readable, however it came in).

Temporary names carry the writer's host and process id so a sweep can tell
a dead writer's leftovers from a live writer's work in progress.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sregistry.errors import IntegrityError
from sregistry.results import ProgressCallback
from sregistry.store.files import (
    copy_hashing,
    copy_plain,
    create_temp,
    fsync_dir,
    hash_fd,
    remove_quietly,
)

__all__ = ["BLOB_SUFFIX", "TEMP_PREFIX", "BlobDir", "Staged", "blob_mode", "is_digest"]

TEMP_PREFIX = "tmp."
BLOB_SUFFIX = ".sif"
STALE_AFTER = 24 * 3600.0
"""A temporary file untouched for this long is removed whoever wrote it."""
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOTSUP}


def blob_mode(mode: int) -> int:
    """The permission bits of a stored blob whose staged file has ``mode``.

    One mode whether the file was copied in (a new file: the umask decides)
    or moved in (a hard link to the user's file: its bits decide): whoever
    may read it may also execute it, and nobody may write it. Read-only
    because a blob is shared by every tag with its bytes and never edited.
    Executable because a SIF file is an executable (it starts with
    ``#!/usr/bin/env run-singularity``; ``singularity build`` writes it
    ``rwxr-xr-x``) and ``$(sregistry get NAME)`` may be run directly; under
    umask 022 that is ``r-xr-xr-x``. Files written out of the store
    (``pull`` from the store, ``mv``) add the user's write bit back.
    """
    readable = stat.S_IMODE(mode) & 0o444
    return readable | (readable >> 2)


def is_digest(text: str) -> bool:
    """True for a lowercase sha256 hex digest."""
    return bool(_DIGEST.match(text))


@dataclass
class Staged:
    """Bytes written (or linked) into the blob directory, not yet placed."""

    path: Path
    sha256: str
    size: int
    placed: bool = field(default=False)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BlobDir:
    """The directory of blobs, one file per sha256."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, digest: str) -> Path:
        """Where the blob of ``digest`` lives (whether or not it exists)."""
        return self.directory / f"{digest}{BLOB_SUFFIX}"

    def find(self, digest: str) -> Path | None:
        """The blob of ``digest`` when it exists."""
        path = self.path(digest)
        return path if path.is_file() else None

    def digests(self) -> set[str]:
        """Every digest with a blob (one directory listing)."""
        found: set[str] = set()
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return found
        for entry in entries:
            stem, suffix = entry.name[: -len(BLOB_SUFFIX)], entry.name[-len(BLOB_SUFFIX) :]
            if suffix == BLOB_SUFFIX and is_digest(stem):
                found.add(stem)
        return found

    def temps(self) -> list[Path]:
        """Temporary files currently in the directory (anyone's)."""
        try:
            return sorted(
                Path(entry.path)
                for entry in os.scandir(self.directory)
                if entry.name.startswith(TEMP_PREFIX)
            )
        except FileNotFoundError:
            return []

    # -- staging ------------------------------------------------------------
    def _temp(self) -> tuple[int, Path]:
        self.directory.mkdir(parents=True, exist_ok=True)
        prefix = f"{TEMP_PREFIX}{os.uname().nodename}.{os.getpid()}."
        return create_temp(self.directory, prefix)

    def _temp_name(self) -> Path:
        fd, path = self._temp()
        os.close(fd)
        os.unlink(path)
        return path

    @contextmanager
    def stage_copy(
        self,
        source: Path,
        *,
        sha256: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Iterator[Staged]:
        """Copy ``source`` to a temporary blob, flushed to disk.

        Without ``sha256`` the bytes are hashed while copied. With it, the
        caller vouches for the digest (a download it verified) and the copy
        is a plain kernel copy; only the size is checked. The temporary file
        is removed on exit unless it was placed.
        """
        fd, temp = self._temp()
        staged = Staged(temp, "", 0)
        try:
            with open(source, "rb") as reader:
                total = os.fstat(reader.fileno()).st_size
                if sha256 is None:
                    digest, size = copy_hashing(reader.fileno(), fd, total=total, progress=progress)
                else:
                    digest = sha256
                    size = copy_plain(reader.fileno(), fd, total=total, progress=progress)
                    if size != total:
                        raise IntegrityError(
                            f"copying {source} into the store gave {size} bytes, expected {total}"
                        )
            os.fsync(fd)
            staged.sha256, staged.size = digest, size
            os.close(fd)
            fd = -1
            yield staged
        finally:
            if fd >= 0:
                os.close(fd)
            if not staged.placed:
                remove_quietly(temp)

    @contextmanager
    def stage_link(
        self, source: Path, *, sha256: str | None = None, progress: ProgressCallback | None = None
    ) -> Iterator[Staged | None]:
        """Hard-link ``source`` into the directory as a temporary blob (no copy).

        Yields ``None`` when that is not possible (another filesystem, no
        hard links, or ``source`` already has other links, which would share
        the blob's bytes with a file the user can still edit). The source
        itself is left alone: the caller removes it after the row is committed.
        """
        temp: Path | None = None
        if os.stat(source).st_nlink == 1:
            temp = self._temp_name()
            try:
                os.link(source, temp)
            except OSError as exc:
                if exc.errno not in _NO_LINK:
                    raise
                temp = None
        if temp is None:
            yield None
            return
        staged = Staged(temp, "", 0)
        try:
            with open(temp, "rb") as reader:
                size = os.fstat(reader.fileno()).st_size
                if sha256 is None:
                    digest, size = hash_fd(reader.fileno(), total=size, progress=progress)
                else:
                    digest = sha256
            staged.sha256, staged.size = digest, size
            yield staged
        finally:
            if not staged.placed:
                remove_quietly(temp)

    def place(self, staged: Staged, *, replace: bool = False) -> Path:
        """Give ``staged`` its final name; run inside the recording transaction.

        When the blob already exists the staged copy is dropped (same bytes),
        unless ``replace`` (the existing file is known to be damaged).
        """
        final = self.path(staged.sha256)
        if final.exists() and not replace:
            remove_quietly(staged.path)
        else:
            os.chmod(staged.path, blob_mode(os.stat(staged.path).st_mode))
            os.replace(staged.path, final)
            fsync_dir(self.directory)
        staged.placed = True
        return final

    def remove(self, digest: str) -> None:
        """Delete the blob of ``digest`` (run inside a transaction that saw no row using it)."""
        remove_quietly(self.path(digest))

    def sweep_temps(self, *, min_age: float, now: float | None = None) -> list[Path]:
        """Remove temporary files whose writer is gone; return what was removed.

        A temporary file is stale when it has not changed for ``min_age``
        seconds and its writer (host and pid in its name) is a process of
        this host that no longer runs, or when it has not changed for a day.
        """
        now = time.time() if now is None else now
        host = os.uname().nodename
        removed: list[Path] = []
        for path in self.temps():
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            age = now - max(info.st_mtime, info.st_ctime)
            owner_host, pid = _owner(path.name)
            dead_here = owner_host == host and pid is not None and not _pid_alive(pid)
            if age >= STALE_AFTER or (age >= min_age and dead_here):
                remove_quietly(path)
                removed.append(path)
        return removed


def _owner(name: str) -> tuple[str | None, int | None]:
    parts = name[len(TEMP_PREFIX) :].rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None, None
    return parts[0], int(parts[1])
