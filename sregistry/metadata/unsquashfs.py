"""A few files of a squashfs read through ``unsquashfs`` (squashfs-tools >= 4.5).

Only for compressions the Python reader lacks (lzo, lz4): one ``unsquashfs -o
OFFSET -cat`` per file and one ``-ll`` per directory listing, each bounded by
the same deadline. Offers the subset of :class:`~.squashfs.SquashFS` that
reading ``/.singularity.d`` needs.
"""

from __future__ import annotations

import re
import time

from sregistry.errors import MetadataError
from sregistry.metadata.process import Completed, last_line, run_bounded
from sregistry.metadata.squashfs import DEFAULT_FILE_LIMIT, DirEntry, FileType

__all__ = ["Unsquashfs"]

_LISTING = re.compile(rb"^(\S)\S*\s+\S+\s+\S+\s+\S+\s+\S+\s+squashfs-root(/.*)?$")
_TYPES = {
    b"d": FileType.DIRECTORY,
    b"-": FileType.FILE,
    b"l": FileType.SYMLINK,
    b"b": FileType.BLOCK_DEVICE,
    b"c": FileType.CHAR_DEVICE,
    b"p": FileType.FIFO,
    b"s": FileType.SOCKET,
}
_MISSING = (b"no matches for", b"is a directory", b"failed to resolve symbolic link")


class Unsquashfs:
    """The squashfs at ``offset`` in ``image``, read by the ``unsquashfs`` at ``executable``."""

    def __init__(self, executable: str, image: str, offset: int, *, timeout: float = 60.0) -> None:
        self._argv = [executable, "-o", str(offset)]
        self._image = image
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout

    def _run(self, option: str, path: str) -> Completed:
        inside = path.strip("/")
        return run_bounded(
            [*self._argv, option, self._image, *([inside] if inside else [])],
            deadline=self._deadline,
            timeout=self._timeout,
            hint="the image's compression needs unsquashfs, which did not finish",
        )

    def read_file(self, path: str, *, limit: int = DEFAULT_FILE_LIMIT) -> bytes | None:
        """The content of the regular file at ``path``, or ``None`` when there is none."""
        done = self._run("-cat", path)
        if done.returncode != 0:
            if any(marker in done.stderr for marker in _MISSING):
                return None
            raise MetadataError(
                f"`unsquashfs -cat` failed (exit {done.returncode}): {last_line(done.stderr)}"
            )
        if len(done.stdout) > limit:
            raise MetadataError(f"file of {len(done.stdout)} bytes exceeds the {limit}-byte limit")
        return done.stdout

    def _listing(self, path: str) -> dict[str, FileType]:
        done = self._run("-ll", path)
        if done.returncode != 0:
            raise MetadataError(
                f"`unsquashfs -ll` failed (exit {done.returncode}): {last_line(done.stderr)}"
            )
        entries: dict[str, FileType] = {}
        for line in done.stdout.splitlines():
            match = _LISTING.match(line)
            if match is None:
                continue
            name = match.group(2) or b"/"
            if match.group(1) == b"l":
                name = name.split(b" -> ", 1)[0]
            entries[name.decode("utf-8", "replace")] = _TYPES.get(match.group(1), FileType.FILE)
        return entries

    def listdir(self, path: str) -> list[DirEntry]:
        """The entries of the directory at ``path`` (empty when it is missing)."""
        base = "/" + path.strip("/")
        prefix = base.rstrip("/") + "/"
        children = []
        for name, kind in sorted(self._listing(path).items()):
            if name.startswith(prefix) and "/" not in name[len(prefix) :]:
                child = name[len(prefix) :]
                children.append(DirEntry(child, child.encode(), kind, 0))
        return children

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a directory (symlinks are not followed)."""
        return self._listing(path).get("/" + path.strip("/")) == FileType.DIRECTORY
