"""Reading a response body into buffers the caller owns.

A download reads gigabytes in small blocks. Reading them as new ``bytes``
objects costs an allocation, page faults and a copy per block; reading
straight into a reused buffer costs none of those. urllib3 keeps the standard
library's response object as ``HTTPResponse._fp``; when the body needs no
decoding we read from it with ``readinto``, otherwise (or should urllib3 ever
change that attribute) through urllib3's ``read`` and one copy.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable

import requests
import urllib3.exceptions

from sregistry.transfer.http import describe

__all__ = [
    "RECEIVE_AHEAD",
    "RECEIVE_BLOCK",
    "BodyReadError",
    "BodyReader",
    "body_reader",
    "read_full",
]

RECEIVE_BLOCK = 128 << 10
"""Bytes received per block. Small enough to stay in a core's L2 cache between
``recv`` filling it and ``write`` copying it to the page cache: receiving a
2 GiB body on loopback into 1 MiB blocks cost 4-6 s of system time, into
128 KiB blocks 2.5-3 s (curl: 2 s), for the same bytes."""

RECEIVE_AHEAD = 64
"""Received blocks that may wait for the hasher (8 MiB): bounds memory."""

BodyReader = Callable[[memoryview], int]
"""Fill (part of) a buffer with the next body bytes; 0 at the end of the body."""


class BodyReadError(Exception):
    """Receiving the body failed (connection reset, timeout, malformed framing).

    ``filled`` counts the bytes :func:`read_full` had already put in the
    buffer: they arrived intact and a resumable download keeps them.
    """

    def __init__(self, reason: str, filled: int = 0) -> None:
        super().__init__(reason)
        self.filled = filled


def body_reader(response: requests.Response, *, decode: bool = False) -> BodyReader:
    """A ``readinto``-style reader for ``response``'s body (streamed)."""
    raw = response.raw
    fp = getattr(raw, "_fp", None)
    if not decode and isinstance(fp, http.client.HTTPResponse):

        def direct(view: memoryview) -> int:
            try:
                got = fp.readinto(view)
            except (http.client.HTTPException, OSError, ValueError) as exc:
                raise BodyReadError(describe(exc)) from exc
            if not got and len(view) and fp.length:
                # http.client returns 0 on a short body; urllib3 would raise
                raise BodyReadError(f"the connection closed early, {fp.length} bytes missing")
            return got

        return direct

    def copying(view: memoryview) -> int:
        try:
            block = raw.read(len(view), decode_content=decode)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise BodyReadError(describe(exc)) from exc
        view[: len(block)] = block
        return len(block)

    return copying


def read_full(read: BodyReader, view: memoryview) -> int:
    """Read until ``view`` is full or the body ends; the number of bytes read."""
    filled = 0
    while filled < len(view):
        try:
            got = read(view[filled:])
        except BodyReadError as exc:
            exc.filled = filled
            raise
        if not got:
            break
        filled += got
    return filled
