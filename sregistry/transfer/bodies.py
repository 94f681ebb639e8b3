"""Request bodies streamed from disk: never more than one block in memory.

Both bodies are iterables with ``__len__``, so requests sends a
``Content-Length`` (not chunked encoding, which upload proxies such as nginx's
upload module may refuse). Iterating again starts again from the first byte,
so a body can be re-sent.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from sregistry.results import ProgressCallback

__all__ = ["BLOCK_SIZE", "FileBody", "MultipartBody", "Opener", "SourceError", "open_binary"]

BLOCK_SIZE = 1 << 20
"""Bytes read from disk (and handed to the socket) at a time."""

BlockCallback = Callable[[bytes], None]
Opener = Callable[[Path], io.BufferedIOBase]
"""Opens a file for reading (a test can count what is read through it)."""


def open_binary(path: Path) -> io.BufferedIOBase:
    """``open(path, "rb")``: the :data:`Opener` used unless another is given."""
    return open(path, "rb")


class SourceError(RuntimeError):
    """The file being uploaded could not be read to the end (it shrank, or reading failed).

    Not an :class:`OSError` on purpose: raised inside the HTTP library's send
    loop, it must abort the request instead of being taken for a network error.
    """


class FileBody:
    """``length`` bytes of ``path`` from ``offset``, in blocks.

    ``on_block`` sees every block (e.g. a hasher), ``progress`` gets
    ``(bytes sent, length)`` after each one; ``opener`` opens the file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        offset: int = 0,
        length: int | None = None,
        on_block: BlockCallback | None = None,
        progress: ProgressCallback | None = None,
        block_size: int = BLOCK_SIZE,
        opener: Opener = open_binary,
    ) -> None:
        self.path = Path(path)
        self.offset = offset
        self.length = os.stat(self.path).st_size - offset if length is None else length
        if self.length < 0:
            raise ValueError(f"offset {offset} is past the end of {self.path}")
        self.on_block = on_block
        self.progress = progress
        self.block_size = block_size
        self.opener = opener

    def __len__(self) -> int:
        return self.length

    def _open(self) -> io.BufferedIOBase:
        try:
            handle = self.opener(self.path)
            if self.offset:
                handle.seek(self.offset)
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror}") from exc
        return handle

    def __iter__(self) -> Iterator[bytes]:
        done = 0
        if self.progress is not None:
            self.progress(0, self.length)
        with self._open() as handle:
            while done < self.length:
                try:
                    block = handle.read(min(self.block_size, self.length - done))
                except OSError as exc:
                    raise SourceError(f"cannot read {self.path}: {exc.strerror}") from exc
                if not block:
                    raise SourceError(
                        f"{self.path} shrank while it was being sent "
                        f"({self.offset + done} of {self.offset + self.length} bytes)"
                    )
                done += len(block)
                if self.on_block is not None:
                    self.on_block(block)
                yield block
                if self.progress is not None:
                    self.progress(done, self.length)


def _quote(value: str) -> str:
    """A form-data parameter value (HTML5 rules: escape CR, LF and the double quote)."""
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


class MultipartBody:
    """``multipart/form-data`` with text fields first and one file part last."""

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        *,
        file_field: str,
        path: str | os.PathLike[str],
        filename: str,
        file_type: str = "application/octet-stream",
        boundary: str | None = None,
        on_block: BlockCallback | None = None,
        progress: ProgressCallback | None = None,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        self.boundary = boundary or secrets.token_hex(16)
        self.file = FileBody(path, on_block=on_block, progress=progress, block_size=block_size)
        dash = f"--{self.boundary}\r\n"
        parts = [
            f'{dash}Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n{value}\r\n'
            for name, value in fields
        ]
        parts.append(
            f'{dash}Content-Disposition: form-data; name="{_quote(file_field)}"; '
            f'filename="{_quote(filename)}"\r\nContent-Type: {file_type}\r\n\r\n'
        )
        self.head = "".join(parts).encode("utf-8")
        self.tail = f"\r\n--{self.boundary}--\r\n".encode("ascii")
        if self.boundary.encode("ascii") in self.head.replace(
            f"--{self.boundary}".encode("ascii"), b""
        ):
            raise ValueError("a form field contains the multipart boundary")

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header value, boundary included."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + len(self.file) + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        yield from self.file
        yield self.tail
