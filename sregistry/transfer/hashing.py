"""Digests computed while bytes stream, inline or in a worker thread.

hashlib releases the GIL on large buffers, so a worker thread hashes one
block while the transfer thread receives or sends the next: on a machine with
two or more cores that keeps hashing off the transfer's critical path
(``bench/transfer.py`` measures both).
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

__all__ = ["BufferPool", "Digests", "Hasher", "InlineHasher", "ThreadedHasher", "make_hasher"]

Block = bytes | bytearray | memoryview
Release = Callable[[], None]

QUEUE_BLOCKS = 8
"""Blocks waiting to be hashed at most, unless told otherwise (8 MiB with the
1 MiB blocks uploads read): bounds memory."""


@dataclass(frozen=True)
class Digests:
    """Lowercase hex digests of the bytes seen."""

    sha256: str
    md5: str | None = None


class Hasher(Protocol):
    """Something that digests a stream of blocks."""

    def update(self, block: Block, release: Release | None = None) -> None:
        """Add ``block``. It must not change until ``release`` (when given) has
        been called, which happens once the block is hashed."""

    def reset(self) -> None:
        """Forget everything seen so far (a download restarting from byte 0)."""

    def result(self) -> Digests:
        """The digests of everything since the start or the last reset."""

    def close(self) -> None:
        """Release the worker, if any. Safe to call more than once."""


class _State:
    def __init__(self, md5: bool) -> None:
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False) if md5 else None

    def update(self, block: Block) -> None:
        self.sha256.update(block)
        if self.md5 is not None:
            self.md5.update(block)

    def digests(self) -> Digests:
        return Digests(self.sha256.hexdigest(), self.md5.hexdigest() if self.md5 else None)


class InlineHasher:
    """Hashes on the calling thread."""

    def __init__(self, *, md5: bool = False) -> None:
        self._md5 = md5
        self._state = _State(md5)

    def update(self, block: Block, release: Release | None = None) -> None:
        self._state.update(block)
        if release is not None:
            release()

    def reset(self) -> None:
        self._state = _State(self._md5)

    def result(self) -> Digests:
        return self._state.digests()

    def close(self) -> None:
        return None


_RESET = object()
_STOP = object()


class ThreadedHasher:
    """Hashes on a worker thread fed through a small bounded queue."""

    def __init__(self, *, md5: bool = False, depth: int = QUEUE_BLOCKS) -> None:
        self._md5 = md5
        self._state = _State(md5)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="sregistry-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if item is _RESET:
                self._state = _State(self._md5)
                continue
            block, release = cast("tuple[Block, Release | None]", item)
            self._state.update(block)
            if release is not None:
                release()

    def update(self, block: Block, release: Release | None = None) -> None:
        self._queue.put((block, release))

    def reset(self) -> None:
        self._queue.put(_RESET)

    def result(self) -> Digests:
        self.close()
        return self._state.digests()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()


class BufferPool:
    """Receive buffers reused across blocks, so that a download allocates (and
    page-faults) a few MiB once instead of a new block per read.

    ``acquire`` waits while every buffer is still queued for hashing: the pool
    also bounds how far receiving may run ahead of the hasher.
    """

    def __init__(self, count: int, size: int) -> None:
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._unmade = count
        self._size = size

    def acquire(self) -> bytearray:
        """A free buffer: a released one, a new one while fewer than ``count``
        exist (a small download never allocates them all), else wait."""
        if self._free.empty() and self._unmade:
            self._unmade -= 1
            return bytearray(self._size)
        return self._free.get()

    def releaser(self, buffer: bytearray) -> Release:
        """A callback giving ``buffer`` back to the pool."""
        return lambda: self._free.put(buffer)


def make_hasher(*, md5: bool = False, threaded: bool = True, depth: int = QUEUE_BLOCKS) -> Hasher:
    """A hasher for sha256 (and md5 when asked), threaded unless told otherwise;
    a threaded one queues at most ``depth`` blocks."""
    return ThreadedHasher(md5=md5, depth=depth) if threaded else InlineHasher(md5=md5)
