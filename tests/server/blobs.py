"""Image files on disk: hashed temporary uploads, content-addressed blobs, parts.

Layout under the data directory::

    blobs/<sha256 hex>          one file per distinct image content
    tmp/upload-*.part           uploads in progress (removed on failure)
    parts/<upload id>/<n>       multipart upload parts

An upload is written to ``tmp/`` while its SHA-256 and MD5 are computed and
becomes a blob only through :meth:`BlobStore.place` (an atomic rename), so a
failed or cut-off upload never touches an existing image.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO

from tests.server.config import MiB

__all__ = ["BLOCK", "BlobStore", "FileBody", "HashingFile", "copy_stream"]

BLOCK = MiB
"""Read and write granularity for bodies and files."""


class HashingFile:
    """A temporary file that computes SHA-256 (and MD5 unless told not to) of what is written.

    File-like enough to be Werkzeug's multipart ``stream_factory`` container.
    Use :meth:`finish` when complete and :meth:`discard` on failure; as a context
    manager it discards the file on exit unless :meth:`BlobStore.place` took it.
    """

    def __init__(self, directory: Path, *, md5: bool = True) -> None:
        fd, name = tempfile.mkstemp(dir=directory, prefix="upload-", suffix=".part")
        self.path = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        self.size = 0
        self.placed = False

    def write(self, data: bytes) -> int:
        self._file.write(data)
        self._sha256.update(data)
        if self._md5 is not None:
            self._md5.update(data)
        self.size += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        """Werkzeug rewinds a finished part; the hashes already cover it."""
        return self._file.tell()

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def md5(self) -> str:
        if self._md5 is None:
            raise RuntimeError("this upload file was made without MD5")
        return self._md5.hexdigest()

    def finish(self) -> None:
        """Flush and close the file, keeping it."""
        if not self._file.closed:
            self._file.close()

    def discard(self) -> None:
        """Close and delete the file unless it was placed (idempotent)."""
        self._file.close()
        if not self.placed:
            self.placed = True
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> HashingFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()


def copy_stream(source: IO[bytes], target: HashingFile, limit: int | None = None) -> int:
    """Copy ``source`` (at most ``limit`` bytes) into ``target`` in blocks; bytes copied."""
    copied = 0
    while limit is None or copied < limit:
        want = BLOCK if limit is None else min(BLOCK, limit - copied)
        chunk = source.read(want)
        if not chunk:
            break
        target.write(chunk)
        copied += len(chunk)
    return copied


class FileBody:
    """A WSGI response body: ``length`` bytes of an open file from ``start``, 1 MiB
    at a time. The server calls :meth:`close` when the response ends."""

    def __init__(self, path: Path, start: int = 0, length: int | None = None) -> None:
        self._handle = path.open("rb")
        self._handle.seek(start)
        self._remaining = length

    def __iter__(self) -> Iterator[bytes]:
        while self._remaining is None or self._remaining > 0:
            want = BLOCK if self._remaining is None else min(BLOCK, self._remaining)
            chunk = self._handle.read(want)
            if not chunk:
                return
            if self._remaining is not None:
                self._remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._handle.close()


class BlobStore:
    """The file side of the store. Callers serialise :meth:`place` and :meth:`remove`
    with the database write lock, so a blob is never removed while a row that
    is being committed refers to it."""

    def __init__(self, data_dir: Path) -> None:
        self.blobs = data_dir / "blobs"
        self.tmp = data_dir / "tmp"
        self.parts = data_dir / "parts"
        for directory in (self.blobs, self.tmp, self.parts):
            directory.mkdir(parents=True, exist_ok=True)

    def sweep(self) -> list[Path]:
        """Delete the ``tmp/upload-*.part`` files a stopped or killed server left behind
        (only the server process calls this, when no request is in flight)."""
        removed = []
        for path in self.tmp.glob("upload-*.part"):
            path.unlink(missing_ok=True)
            removed.append(path)
        return removed

    def temp(self, *, md5: bool = True) -> HashingFile:
        """A new hashed temporary upload file (``md5=False``: SHA-256 only)."""
        return HashingFile(self.tmp, md5=md5)

    def path(self, digest: str) -> Path:
        """Where the blob with SHA-256 ``digest`` (hex) lives."""
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return self.blobs / digest

    def place(self, upload: HashingFile) -> str:
        """Move a finished upload into place under its SHA-256; returns the digest."""
        upload.finish()
        digest = upload.sha256
        target = self.path(digest)
        if target.exists():
            upload.path.unlink(missing_ok=True)
        else:
            os.replace(upload.path, target)
        upload.placed = True
        return digest

    def remove(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)

    def part_dir(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self.parts / upload_id

    def remove_parts(self, upload_id: str) -> None:
        shutil.rmtree(self.part_dir(upload_id), ignore_errors=True)
