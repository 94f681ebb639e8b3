"""A file on an HTTP server, read by position with ``Range`` requests.

:class:`RemoteFile` lets the SIF and squashfs readers
(:mod:`sregistry.metadata`) read an image's metadata without downloading
the image: reads are rounded out to aligned blocks (64 KiB), blocks are
cached, the missing blocks of one read are fetched in one request (small gaps
between them too), and the first request asks for the first 64 KiB, which
holds the header, the descriptor table and, in images built by Singularity
>= 3.7 / Apptainer, the metadata objects. A typical image costs one to a few
requests whatever its size.

A server that ignores ``Range`` (``200`` and the whole body) is read from
the start of its answer only as far as needed, then the connection is
closed. Either way no more than ``max_bytes`` (default 8 MiB,
``$SREGISTRY_REMOTE_READ_MAX``) are ever received for one file: reaching
it raises :class:`ReadLimitReached` instead of downloading a whole image.

Redirects (a library's 303 to storage, presigned URLs) are followed here,
never carrying the credentials or ``Authorization`` header to the target,
even on the same host; later requests go straight to the target. Nothing
here knows a registry protocol: ``check`` turns an unexpected answer into
the backend's error.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

import requests
import requests.auth

from sregistry.errors import ConfigError, ServerError, TransferError
from sregistry.transfer.http import MAX_REDIRECTS, Transport, redact
from sregistry.transfer.stream import BodyReadError, body_reader, read_full

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_MAX_BYTES",
    "MAX_BYTES_ENV",
    "ReadLimitReached",
    "RemoteFile",
    "max_bytes_setting",
]

log = logging.getLogger("sregistry.transfer")

DEFAULT_BLOCK_SIZE = 64 << 10
DEFAULT_MAX_BYTES = 8 << 20
MAX_BYTES_ENV = "SREGISTRY_REMOTE_READ_MAX"
MERGE_GAP = 2
"""Missing runs at most this many cached blocks apart are fetched in one request."""

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
ResponseCheck = Callable[[requests.Response], None]


class ReadLimitReached(TransferError):
    """Reading would receive more than the byte cap of one remote file."""


def max_bytes_setting(value: int | None, env: Mapping[str, str]) -> int:
    """The byte cap: ``value``, else ``$SREGISTRY_REMOTE_READ_MAX`` (``8M``,
    ``8388608``), else 8 MiB."""
    if value is not None:
        if value <= 0:
            raise ConfigError("the remote read cap must be a positive number of bytes")
        return value
    text = env.get(MAX_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    match = _SIZE.match(text)
    number = int(match.group(1)) * _UNITS[match.group(2).lower()] if match else 0
    if number <= 0:
        raise ConfigError(
            f"{MAX_BYTES_ENV}={text!r} is not a size",
            hint="give bytes, e.g. 8388608 or 8M",
        )
    return number


class RemoteFile(io.RawIOBase):
    """A read-only, seekable file whose bytes come from ``url`` in ranges.

    ``auth`` and ``headers`` go with requests to ``url`` itself, never to a
    redirect target. ``check(response)`` raises the caller's error for an
    answer that is neither 200 nor 206 (a generic
    :class:`~sregistry.errors.ServerError` otherwise). ``name`` names the
    file in messages (default: the URL without its query). Counters
    :attr:`requests` and :attr:`bytes_received` say what reading cost.
    """

    def __init__(
        self,
        transport: Transport,
        url: str,
        *,
        auth: requests.auth.AuthBase | None = None,
        headers: Mapping[str, str] | None = None,
        check: ResponseCheck | None = None,
        name: str | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        super().__init__()
        if block_size <= 0 or max_bytes <= 0:
            raise ValueError("block_size and max_bytes must be positive")
        self._transport = transport
        self._url = url
        self._auth = auth
        self._headers = dict(headers or {})
        self._check = check
        self._name = name or redact(url)
        self.block_size = block_size
        self.max_bytes = max_bytes
        self._blocks: dict[int, bytes] = {}
        self._size: int | None = None
        self._stream: requests.Response | None = None
        """The open answer of a server that ignored ``Range``."""
        self._prefix = bytearray()
        """What that answer delivered so far: the file from byte 0."""
        self._stream_done = False
        self._position = 0
        self.requests = 0
        """HTTP requests sent (redirect hops included)."""
        self.bytes_received = 0
        """Body bytes received."""
        self.ranges_honoured: bool | None = None
        """Whether the server answered with ranges; ``None`` before the first read."""

    # -- the file API -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def size(self) -> int:
        """The file size (asks for the first block when not yet known)."""
        if self._size is None and self._stream is None:
            self._fetch(0, 1)
        if self._size is None and self._stream is not None:
            self._extend_prefix(self.max_bytes)  # no Content-Length: read to the end, or the cap
            if self._size is None:
                raise self._limit_error()
        if self._size is None:
            raise ServerError(f"{self._name}: the server does not say how large the file is")
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        elif whence == io.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError("negative seek position")
        self._position = target
        return target

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.pread(len(view), self._position)
        view[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        super().close()

    # -- positional reads --------------------------------------------------------------------

    def pread(self, size: int, offset: int) -> bytes:
        """Up to ``size`` bytes at ``offset`` (fewer at the end of the file)."""
        if self.closed:
            raise ValueError("I/O operation on a closed remote file")
        if size <= 0 or offset < 0:
            return b""
        if self._size is None:
            self._fetch(offset, offset + size)
        total = self.size
        end = min(offset + size, total)
        if offset >= end:
            return b""
        if self._stream is not None or self._stream_done:
            return self._from_prefix(offset, end)
        first, last = offset // self.block_size, (end - 1) // self.block_size
        while runs := self._missing_runs(first, last):
            start, stop = runs[0]
            cached = len(self._blocks)
            self._fetch(start * self.block_size, min(stop * self.block_size, total))
            if self._stream is not None or self._stream_done:
                return self._from_prefix(offset, end)
            if len(self._blocks) == cached:
                raise ServerError(f"{self._name}: the server sends no bytes of the range asked")
        out = b"".join(self._blocks[index] for index in range(first, last + 1))
        skip = offset - first * self.block_size
        return out[skip : skip + end - offset]

    def _missing_runs(self, first: int, last: int) -> list[tuple[int, int]]:
        """``[start, stop)`` block runs to fetch for blocks ``first..last``."""
        runs: list[list[int]] = []
        for index in range(first, last + 1):
            if index in self._blocks:
                continue
            if runs and index - runs[-1][1] <= MERGE_GAP:
                runs[-1][1] = index + 1
            else:
                runs.append([index, index + 1])
        return [(start, stop) for start, stop in runs]

    # -- requests ---------------------------------------------------------------------------

    def _fetch(self, start: int, stop: int) -> None:
        """Ask for the aligned blocks covering ``[start, stop)`` and cache them."""
        start -= start % self.block_size
        stop = max(stop, start + 1)
        stop += -stop % self.block_size
        if self._size is not None:
            stop = min(stop, self._size)
        self._reserve(stop - start)
        response = self._get({"Range": f"bytes={start}-{stop - 1}"})
        if response.status_code == 200:
            self._start_stream(response)
            return
        with response:
            span = _content_range(response)
            if span is None or span[0] != start or span[1] >= stop or span[1] < start:
                raise ServerError(
                    f"{self._name}: the server answered bytes "
                    f"{response.headers.get('Content-Range')!r} to a request for {start}-{stop - 1}"
                )
            if span[2] is not None:
                self._size = span[2]
            length = span[1] + 1 - start
            data = self._read_body(response, length)
        self.ranges_honoured = True
        size = self._size
        for position in range(0, length, self.block_size):
            block = data[position : position + self.block_size]
            end_of_file = size is not None and start + position + len(block) >= size
            if len(block) == self.block_size or end_of_file:
                self._blocks[(start + position) // self.block_size] = block

    def _reserve(self, length: int) -> None:
        if self.bytes_received + length > self.max_bytes:
            raise self._limit_error()

    def _limit_error(self) -> ReadLimitReached:
        how = "ignores Range requests" if self.ranges_honoured is False else "serves ranges"
        return ReadLimitReached(
            f"{self._name}: reading its metadata needs more than {self.max_bytes} bytes "
            f"(the server {how}); stopped rather than download the whole image",
            hint=f"raise {MAX_BYTES_ENV} (bytes, e.g. 64M) or pull the image and inspect the file",
            url=redact(self._url),
        )

    def _get(self, headers: Mapping[str, str]) -> requests.Response:
        """GET ``url`` (redirects followed without credentials); a 200 or 206 answer."""
        url, auth = self._url, self._auth
        sent = {**self._headers, **headers, "Accept-Encoding": "identity"}
        for _hop in range(MAX_REDIRECTS + 1):
            self.requests += 1
            response = self._transport.request(
                "GET",
                url,
                auth=auth,
                headers=sent,
                stream=True,
                follow_redirects=False,
                log_as=self._name if url == self._url else None,
            )
            if response.is_redirect:
                response.close()
                url = urljoin(url, response.headers["Location"])
                auth = None
                sent = {k: v for k, v in sent.items() if k.lower() != "authorization"}
                log.debug("%s is at %s", self._name, redact(url))
                self._url, self._auth, self._headers = url, None, {}
                continue
            if response.status_code in (200, 206):
                return response
            try:
                if self._check is not None:
                    self._check(response)
            finally:
                response.close()
            raise ServerError(
                f"{self._name}: the server answered {response.status_code} to a range request",
                url=redact(url),
                status=response.status_code,
            )
        raise TransferError(f"more than {MAX_REDIRECTS} redirects from {self._name}")

    def _read_body(self, response: requests.Response, length: int) -> bytes:
        buffer = bytearray(length)
        try:
            got = read_full(body_reader(response), memoryview(buffer))
        except BodyReadError as exc:
            raise TransferError(f"{self._name}: {exc}", url=redact(self._url)) from None
        self.bytes_received += got
        if got != length:
            raise TransferError(
                f"{self._name}: the connection closed after {got} of {length} bytes",
                url=redact(self._url),
            )
        return bytes(buffer)

    # -- a server that ignores Range -----------------------------------------------------------

    def _start_stream(self, response: requests.Response) -> None:
        self.ranges_honoured = False
        length = response.headers.get("Content-Length", "").strip()
        if length.isdigit():
            self._size = int(length)
        log.debug("%s: the server ignores Range; reading its answer from the start", self._name)
        if self._stream is not None:
            self._stream.close()
        self._stream, self._prefix, self._stream_done = response, bytearray(), False
        self._extend_prefix(min(self.block_size, self.max_bytes))

    def _extend_prefix(self, end: int) -> None:
        """Read the streamed answer until it holds ``end`` bytes (or ends)."""
        stream = self._stream
        if stream is None or len(self._prefix) >= end:
            return
        if end > self.max_bytes:
            self.close_stream()
            raise self._limit_error()
        have = len(self._prefix)
        self._prefix.extend(bytes(end - have))
        try:
            got = read_full(body_reader(stream), memoryview(self._prefix)[have:end])
        except BodyReadError as exc:
            self.close_stream()
            raise TransferError(f"{self._name}: {exc}", url=redact(self._url)) from None
        self.bytes_received += got
        del self._prefix[have + got :]
        if have + got < end:  # the whole file is in
            self._size = len(self._prefix)
            self.close_stream()

    def close_stream(self) -> None:
        """Close a streamed (Range-ignoring) answer; what was read stays readable."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
            self._stream_done = True

    def _from_prefix(self, offset: int, end: int) -> bytes:
        if end > len(self._prefix):
            if self._stream is None:
                if offset >= len(self._prefix):
                    raise self._limit_error()
                end = len(self._prefix)
            elif end > self.max_bytes:
                self._extend_prefix(end)  # raises ReadLimitReached
            else:
                self._extend_prefix(min(end + -end % self.block_size, self.max_bytes))
        return bytes(self._prefix[offset : min(end, len(self._prefix))])


def _content_range(response: requests.Response) -> tuple[int, int, int | None] | None:
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match is None:
        return None
    total = match.group(3)
    return int(match.group(1)), int(match.group(2)), None if total == "*" else int(total)
