"""A file written in parts by several threads, and its SHA-256 computed in order.

:class:`PartFile` holds the parts (:class:`Slot`: a range and how much of it
is on disk) and tells the end of the contiguous prefix written so far;
:class:`PrefixHasher` follows that prefix on its own thread: blocks that
extend it are handed over as they arrive and hashed from memory, bytes that
arrived ahead of it are read back from the file (the page cache) in 4 MiB
blocks once it reaches them, so that by the time the last part arrives almost
everything is hashed, and each byte is read once. With ``after=True`` it waits for
the last part and reads the file once instead (``bench/library_transfer.py``
measures both).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sregistry.errors import TransferError
from sregistry.transfer.parallel import Part, plan_parts

__all__ = ["PartFile", "PrefixHasher", "Slot", "layout"]

Release = Callable[[], None]

_HASH_BLOCK = 4 << 20


@dataclass
class Slot:
    """A part of the file and how much of it is on disk."""

    part: Part
    written: int = 0

    @property
    def complete(self) -> bool:
        return self.written >= self.part.size


@dataclass
class PartFile:
    """The open file, its parts in offset order, and what the threads share."""

    fd: int
    total: int
    slots: list[Slot]
    cancel: threading.Event = field(default_factory=threading.Event)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def frontier(self) -> int:
        """The end of the contiguous prefix already written."""
        for slot in self.slots:
            if not slot.complete:
                return slot.part.offset + slot.written
        return self.total


class PrefixHasher:
    """Hashes the contiguous written prefix while parts arrive.

    A block that extends what is hashed (or queued for hashing) is handed over
    by the receiving thread as it arrives (:meth:`offer`) and hashed from
    memory: with one connection every block is. Bytes that arrived out of
    order (parts ahead of the prefix) are read back from the file (the page
    cache) once the prefix reaches them. With ``after`` nothing is offered: it
    waits for every part and then reads the file once (measured against the
    in-order way by ``bench/library_transfer.py``).
    """

    def __init__(self, state: PartFile, *, after: bool = False) -> None:
        self._state = state
        self._after = after
        self._sha256 = hashlib.sha256()
        self._hashed = 0
        self._claimed = 0
        """The end of what is hashed, queued for hashing or being read back (under ``cond``)."""
        self._queue: deque[tuple[memoryview, Release]] = deque()
        self._closed = False
        self.read_back = 0
        """Bytes hashed by reading them back from the file (the rest came from memory)."""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sregistry-hash", daemon=True)
        self._thread.start()

    @property
    def hashed(self) -> int:
        """Bytes hashed so far: the verified prefix grows this fast."""
        return self._hashed

    def offer(self, offset: int, block: memoryview, release: Release) -> bool:
        """Take ``block``, just written at ``offset``, to hash from memory, when it
        extends the prefix; call with ``state.cond`` held, right after counting the
        block as written. ``release`` is called once it is hashed. ``False``: not
        taken (out of order, or hashing stopped); the caller keeps the buffer."""
        if self._after or self._closed or offset != self._claimed:
            return False
        self._queue.append((block, release))
        self._claimed += len(block)
        self._state.cond.notify_all()
        return True

    def _ready(self) -> bool:
        if self._queue:
            return True
        frontier = self._state.frontier()
        return frontier > self._claimed and (not self._after or frontier >= self._state.total)

    def _run(self) -> None:
        state = self._state
        buffer = bytearray(_HASH_BLOCK)
        view = memoryview(buffer)
        try:
            while self._hashed < state.total:
                item: tuple[memoryview, Release] | None = None
                with state.cond:
                    while not self._ready() and not state.cancel.is_set():
                        state.cond.wait(timeout=1.0)
                    if state.cancel.is_set():
                        return
                    if self._queue:
                        item = self._queue.popleft()
                    else:
                        start, end = self._claimed, state.frontier()
                        self._claimed = end
                if item is not None:
                    block, release = item
                    self._sha256.update(block)
                    self._hashed += len(block)
                    release()
                    continue
                while start < end:
                    length = min(_HASH_BLOCK, end - start)
                    got = os.preadv(state.fd, [view[:length]], start)
                    if not got:
                        raise OSError("short read while hashing the download")
                    self._sha256.update(view[:got])
                    start += got
                    self.read_back += got
                self._hashed = end
        except OSError as exc:  # reported by result()
            self._error = exc
        finally:
            with state.cond:
                self._closed = True
                queued, self._queue = list(self._queue), deque()
            for _, release in queued:
                release()

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise TransferError(f"hashing the download failed: {self._error}")
        if self._hashed != self._state.total:
            raise TransferError("hashing the download stopped early")
        return self._sha256.hexdigest()

    def stop(self) -> None:
        with self._state.cond:
            self._state.cancel.set()
            self._state.cond.notify_all()
        self._thread.join()


def layout(
    total: int, spans: list[tuple[int, int]], *, head: int, part_size: int, single: bool
) -> list[Slot]:
    """The parts of a ``total``-byte file in offset order.

    Without ``spans`` on disk: a first part of ``head`` bytes (what the probe
    asked for), then parts of ``part_size`` (``single``: one part for the
    rest). With spans: complete slots for them and parts for every gap (one
    per gap when ``single``).
    """
    if not spans:
        first = min(head, total)
        size = max(total - first, 1) if single else part_size
        return [Slot(part) for part in plan_parts(total, size, first=first)]
    pieces: list[tuple[int, int, bool]] = []
    position = 0
    for start, end in [*spans, (total, total)]:
        gap = start - position
        step = gap if single else part_size
        while gap > 0:
            length = min(step, gap)
            pieces.append((position, length, False))
            position += length
            gap -= length
        if end > start:
            pieces.append((start, end - start, True))
        position = max(position, end)
    return [
        Slot(Part(number, offset, length), length if done else 0)
        for number, (offset, length, done) in enumerate(pieces, start=1)
    ]
