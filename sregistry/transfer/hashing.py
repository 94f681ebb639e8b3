"""Digests computed while bytes stream, inline or in a worker thread.

hashlib releases the GIL on large buffers, so a worker thread hashes one
block while the transfer thread receives or sends the next: on a machine with
two or more cores that keeps hashing off the transfer's critical path
(``bench/transfer.py`` measures both).

For a file read before it is sent (a library push), :func:`hash_stream`
computes every digest in one read, and :class:`PartHasher` the digests of
its parts on a worker thread ahead of the uploads that need them.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

__all__ = [
    "PASS_BLOCK",
    "BufferPool",
    "Cancelled",
    "Digests",
    "FileDigests",
    "Hasher",
    "InlineHasher",
    "PartHasher",
    "Readable",
    "ThreadedHasher",
    "hash_stream",
    "make_hasher",
    "md5_stream",
]

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


# -- one read pass, several digests ---------------------------------------------------------

PASS_BLOCK = 2 << 20
"""Bytes read at a time by :func:`hash_stream`."""
PASS_BUFFERS = 4
"""Blocks in flight at most in :func:`hash_stream` (8 MiB with 2 MiB blocks)."""


class Readable(Protocol):
    """A binary file as :func:`hash_stream` reads it."""

    def readinto(self, buffer: memoryview, /) -> int | None:
        """Fill ``buffer`` from the current position; the bytes read (0 at the end)."""


class SeekableReadable(Readable, Protocol):
    """A binary file :class:`PartHasher` can seek in and close."""

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Move to ``offset``."""

    def __enter__(self) -> Any:
        """Itself."""

    def __exit__(self, kind: Any, value: Any, traceback: Any, /) -> Any:
        """Close it."""


@dataclass(frozen=True)
class FileDigests:
    """What one read pass found: the length, the digests asked for (lowercase hex)."""

    size: int
    sha256: str
    md5: str | None = None
    parts: tuple[str, ...] = ()
    """SHA-256 of each ``part_size`` slice, the last one shorter (none for an empty file)."""


class _Parts:
    """SHA-256 of consecutive ``size``-byte slices of a stream."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.digests: list[str] = []
        self._current = hashlib.sha256()
        self._filled = 0

    def update(self, view: memoryview) -> None:
        while view:
            take = min(len(view), self.size - self._filled)
            self._current.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == self.size:
                self.digests.append(self._current.hexdigest())
                self._current = hashlib.sha256()
                self._filled = 0

    def finish(self) -> tuple[str, ...]:
        if self._filled:
            self.digests.append(self._current.hexdigest())
        return tuple(self.digests)


def _fill(handle: Readable, view: memoryview) -> int:
    """Read until ``view`` is full or the stream ends: the bytes read."""
    filled = 0
    while filled < len(view):
        count = handle.readinto(view[filled:])
        if not count:
            break
        filled += count
    return filled


def _sequential(handle: Any) -> None:
    """Ask the kernel for a larger read-ahead on ``handle`` (a cold file reads faster)."""
    advise = getattr(os, "posix_fadvise", None)
    try:
        fd = handle.fileno()
        if advise is not None:
            advise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    except (AttributeError, OSError, ValueError):
        return


def hash_stream(
    handle: Readable,
    *,
    md5: bool = False,
    part_size: int | None = None,
    block_size: int = PASS_BLOCK,
    buffers: int = PASS_BUFFERS,
) -> FileDigests:
    """Read ``handle`` to its end once: SHA-256 of everything, and MD5 and per-part
    SHA-256 (``part_size`` slices) when asked.

    The caller's thread reads into ``buffers`` reusable blocks; SHA-256 runs on
    one worker thread, MD5 and the part digests on a second one, so on two cores
    reading and both digests overlap (hashlib releases the GIL on large
    buffers). Memory stays at ``buffers * block_size``.
    """
    if part_size is not None and part_size <= 0:
        raise ValueError("part_size must be positive")
    whole = hashlib.sha256()
    md5_digest = hashlib.md5(usedforsecurity=False) if md5 else None
    parts = _Parts(part_size) if part_size is not None else None

    def side(view: memoryview) -> None:
        if md5_digest is not None:
            md5_digest.update(view)
        if parts is not None:
            parts.update(view)

    tasks: list[Callable[[memoryview], None]] = [whole.update]
    if md5_digest is not None or parts is not None:
        tasks.append(side)
    size = _read_pass(handle, tasks, block_size, buffers)
    return FileDigests(
        size,
        whole.hexdigest(),
        md5_digest.hexdigest() if md5_digest is not None else None,
        parts.finish() if parts is not None else (),
    )


def md5_stream(
    handle: Readable, *, block_size: int = PASS_BLOCK, buffers: int = PASS_BUFFERS
) -> tuple[int, str]:
    """Read ``handle`` to its end: its length and MD5 (hashed on a worker thread
    while the caller's thread reads on)."""
    digest = hashlib.md5(usedforsecurity=False)
    size = _read_pass(handle, [digest.update], block_size, buffers)
    return size, digest.hexdigest()


def _read_pass(
    handle: Readable, tasks: list[Callable[[memoryview], None]], block_size: int, buffers: int
) -> int:
    """Read ``handle`` to its end into reused blocks, each task seeing every block
    in order on a thread of its own: the bytes read."""
    pool = [bytearray(block_size) for _ in range(max(1, buffers))]
    free = [threading.Semaphore(len(pool)) for _ in tasks]
    """Per worker: blocks it has finished with; buffers are used round-robin, so
    holding one token of every worker means the next buffer is no longer read."""
    inboxes: list[queue.SimpleQueue[memoryview | None]] = [queue.SimpleQueue() for _ in tasks]

    failures: list[BaseException] = []

    def work(task: Callable[[memoryview], None], inbox: queue.SimpleQueue[memoryview | None],
             done: threading.Semaphore) -> None:  # fmt: skip
        while (view := inbox.get()) is not None:
            if not failures:
                try:
                    task(view)
                except BaseException as exc:  # noqa: BLE001 - raised on the reading thread
                    failures.append(exc)
            done.release()  # a failed task still frees its blocks: the reader never hangs

    threads = [
        threading.Thread(target=work, args=job, name=f"sregistry-hash-{n}", daemon=True)
        for n, job in enumerate(zip(tasks, inboxes, free, strict=True))
    ]
    for thread in threads:
        thread.start()
    _sequential(handle)
    size = 0
    try:
        for number in itertools.count():
            buffer = pool[number % len(pool)]
            for done in free:
                done.acquire()
            count = _fill(handle, memoryview(buffer))
            if not count or failures:
                break
            size += count
            view = memoryview(buffer)[:count]
            for inbox in inboxes:
                inbox.put(view)
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    return size


class Cancelled(Exception):
    """A part digest asked for after :meth:`PartHasher.close`."""


class PartHasher:
    """SHA-256 of byte ranges of a file, computed in order on a worker thread
    ahead of their use: an upload asks for part ``n``'s digest (waiting only
    if the worker is not there yet) while the worker reads and hashes up to
    ``ahead`` parts further, which spreads the hashing over the upload instead
    of competing with its start. One buffer of ``block_size`` bytes; digests
    are all it keeps.

    ``open_file()`` gives a seekable handle; a range it cannot read to the end
    fails that digest (and every later one) with the error, e.g. a
    :class:`~sregistry.transfer.SourceError` from ``short``.
    """

    def __init__(
        self,
        open_file: Callable[[], SeekableReadable],
        ranges: list[tuple[int, int]],
        *,
        short: Callable[[int, int], Exception],
        block_size: int = PASS_BLOCK,
        ahead: int = 1,
    ) -> None:
        self._open = open_file
        self._ahead = ahead
        self._asked = 0
        self._ranges = ranges
        self._short = short
        self._block_size = block_size
        self._results: list[str | BaseException | None] = [None] * len(ranges)
        self._ready = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="sregistry-parts", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        index = 0
        try:
            with self._open() as handle:
                _sequential(handle)
                buffer = memoryview(bytearray(self._block_size))
                for index, (offset, length) in enumerate(self._ranges):
                    self._wait_turn(index)
                    digest = hashlib.sha256()
                    handle.seek(offset)
                    left = length
                    while left:
                        if self._stop:
                            raise Cancelled("the part digests are no longer needed")
                        count = _fill(handle, buffer[: min(left, len(buffer))])
                        if not count:
                            raise self._short(offset + length - left, offset + length)
                        digest.update(buffer[:count])
                        left -= count
                    self._put(index, digest.hexdigest())
        except Exception as exc:  # noqa: BLE001 - handed to the thread asking for a digest
            for rest in range(index, len(self._ranges)):
                self._put(rest, exc)

    def _wait_turn(self, index: int) -> None:
        with self._ready:
            self._ready.wait_for(lambda: self._stop or index <= self._asked + self._ahead)
        if self._stop:
            raise Cancelled("the part digests are no longer needed")

    def _put(self, index: int, result: str | BaseException) -> None:
        with self._ready:
            self._results[index] = result
            self._ready.notify_all()

    def digest(self, index: int) -> str:
        """The hex digest of range ``index`` (counting from 0), once computed."""
        with self._ready:
            if index > self._asked:
                self._asked = index
                self._ready.notify_all()
            self._ready.wait_for(lambda: self._results[index] is not None)
            result = self._results[index]
        if isinstance(result, BaseException):
            raise result
        assert result is not None
        return result

    def close(self) -> None:
        """Stop the worker (at its next block) and wait for it."""
        with self._ready:
            self._stop = True
            self._ready.notify_all()
        self._thread.join()

    def __enter__(self) -> PartHasher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
