"""Content-addressed image files: ``<root>/blobs/sha256/<hex>.sif``.

A blob is written under a temporary name in the same directory
(``tmp.<host>.<pid>.<random>``), flushed to disk, and renamed to its final
name only inside the database transaction that records it, so the rename and
the row are serialised against every other process. A blob is never edited
in place: when it is placed it gets :func:`blob_mode` (read-only, and
executable wherever readable, however it came in).

A recorded pull shares its blocks with the store instead of being copied
(:meth:`BlobDir.stage_share`): a reflink clone where the filesystem can make
one, else a hard link, so the blob and the pulled file are one read-only
inode. A name outside the store can still be opened for writing (by root, or
after a ``chmod``), so every placed blob carries a *stamp*: the microseconds
of its modification time are set to a value derived from its digest. Writing
to the file sets the modification time to the clock's, which loses the stamp
(a chance of one in a million to keep it): :meth:`BlobDir.intact` is false
and the store hashes the blob before trusting it again.

Temporary names carry the writer's host and process id so a sweep can tell
a dead writer's leftovers from a live writer's work in progress.
"""

from __future__ import annotations

import errno
import logging
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
    clone,
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

log = logging.getLogger(__name__)


def _stamp_ns(digest: str) -> int:
    """The nanoseconds within its second a placed blob's mtime carries: a whole
    number of microseconds (filesystems keeping only those still hold it), 1 to
    999,999 of them, derived from the digest."""
    return (int(digest[:8], 16) % 999_999 + 1) * 1000


def blob_mode(mode: int) -> int:
    """The permission bits of a stored blob whose staged file has ``mode``.

    One mode whether the file was copied in (a new file: the umask decides)
    or linked in (``add`` moving a file, a pull sharing its file: the user's
    file's bits decide, and the user's file gets this mode too): whoever
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

    @contextmanager
    def stage_share(self, source: Path, *, sha256: str) -> Iterator[Staged | None]:
        """Stage the verified file ``source`` (digest ``sha256``) without writing
        its bytes again, ``source`` staying where it is: a reflink clone (an
        independent file sharing blocks) where the filesystem can make one,
        else a hard link (see :meth:`stage_link`; once placed, ``source`` is
        the blob's inode and read-only too). ``None`` when neither works: the
        caller copies."""
        with self._stage_clone(source, sha256) as cloned:
            if cloned is not None:
                yield cloned
                return
        with self.stage_link(source, sha256=sha256) as linked:
            yield linked

    @contextmanager
    def _stage_clone(self, source: Path, sha256: str) -> Iterator[Staged | None]:
        fd, temp = self._temp()
        staged = Staged(temp, sha256, 0)
        try:
            with open(source, "rb") as reader:
                staged.size = os.fstat(reader.fileno()).st_size
                cloned = clone(reader.fileno(), fd)
            if cloned:
                os.fsync(fd)
            os.close(fd)
            fd = -1
            yield staged if cloned else None
        finally:
            if fd >= 0:
                os.close(fd)
            if not staged.placed:
                remove_quietly(temp)

    def intact(self, digest: str, size: int) -> bool:
        """Whether the blob of ``digest`` is unchanged since it was placed, as
        far as its size and stamp (see the module documentation) tell: a
        ``False`` blob must be hashed before it is trusted. Raises
        :class:`FileNotFoundError` when there is no such blob."""
        info = os.stat(self.path(digest))
        return info.st_size == size and info.st_mtime_ns % 1_000_000_000 == _stamp_ns(digest)

    def stamp(self, digest: str, path: Path | None = None) -> bool:
        """Stamp the blob of ``digest`` (or the file ``path`` about to become
        it) as intact: after placing it, or after hashing it found it intact.
        ``False`` when the file's owner alone may do that (the blob is then
        hashed whenever it is used)."""
        target = self.path(digest) if path is None else path
        try:
            info = os.stat(target)
            second = info.st_mtime_ns - info.st_mtime_ns % 1_000_000_000
            os.utime(target, ns=(info.st_atime_ns, second + _stamp_ns(digest)))
        except PermissionError as exc:
            log.debug("cannot stamp %s: %s", target, exc)
            return False
        return True

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
            self.stamp(staged.sha256, staged.path)
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
