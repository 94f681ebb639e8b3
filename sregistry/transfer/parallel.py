"""Running transfer parts on several threads: the plan, the runner, the progress sum.

:func:`run_parts` is what uploads use: ``send(part, report)`` sends one part
(the caller builds the request) and is retried with backoff when
``retryable(exc)`` says so; the first fatal error cancels the parts not yet
started, asks running ones to stop at their next block, and is re-raised for
the caller to abort the upload server-side. :func:`run_all` is the bare
runner (ranged downloads use it with their own retries).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

from sregistry.results import ProgressCallback

__all__ = [
    "AUTO_LIMIT",
    "DEFAULT_CONNECTIONS",
    "Cancelled",
    "Growth",
    "Part",
    "ProgressMeter",
    "plan_parts",
    "run_all",
    "run_growing",
    "run_parts",
]

log = logging.getLogger("sregistry.transfer")

DEFAULT_CONNECTIONS = 4
AUTO_LIMIT = 8
"""Connections an automatic count grows to at most."""
GROWTH_WINDOW = 0.5
"""Seconds of throughput compared before adding a connection."""
GROWTH_GAIN = 1.1
"""A connection is added while the last one raised the throughput by this factor."""
T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside a worker when another part failed or the user interrupted.

    Not an :class:`OSError`, so an HTTP library never takes it for a network error.
    """


@dataclass(frozen=True)
class Part:
    """One byte range of a file: ``number`` counts from 1, ``size`` may be 0."""

    number: int
    offset: int
    size: int

    @property
    def end(self) -> int:
        """The last byte (inclusive), as ``Range`` wants it."""
        return self.offset + self.size - 1


def plan_parts(total: int, part_size: int, *, first: int | None = None) -> list[Part]:
    """Cut ``total`` bytes into parts of ``part_size`` (the last shorter).

    ``first`` makes the first part that size instead (the probe's range).
    """
    if part_size <= 0:
        raise ValueError("part_size must be positive")
    parts: list[Part] = []
    offset = 0
    size = part_size if first is None else first
    while offset < total:
        length = min(size, total - offset)
        parts.append(Part(len(parts) + 1, offset, length))
        offset += length
        size = part_size
    return parts


class ProgressMeter:
    """Sums per-part byte counts from many threads into one callback."""

    def __init__(self, callback: ProgressCallback | None, total: int | None) -> None:
        self._callback = callback
        self._total = total
        self._lock = threading.Lock()
        self._parts: dict[int, int] = {}
        self._done = 0

    def set(self, number: int, done: int) -> None:
        """Part ``number`` has ``done`` bytes now (it may go back to 0 on a retry)."""
        with self._lock:
            self._done += done - self._parts.get(number, 0)
            self._parts[number] = done
            if self._callback is not None:
                self._callback(self._done, self._total)

    @property
    def done(self) -> int:
        """Bytes done so far, all parts together."""
        with self._lock:
            return self._done

    def start(self, done: int = 0) -> None:
        """Report the starting point (``done`` bytes already there, e.g. resumed)."""
        with self._lock:
            self._done = done
            if self._callback is not None:
                self._callback(done, self._total)


def run_parts(
    parts: Sequence[Part],
    send: Callable[[Part, Callable[[int], None]], T],
    *,
    connections: int | None,
    attempts: int = 3,
    retryable: Callable[[BaseException], bool],
    progress: ProgressCallback | None = None,
    total: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    backoff: float = 0.5,
) -> list[T]:
    """Run ``send(part, report)`` for every part on ``connections`` threads
    (``None``: as many as raise the throughput, see :func:`run_growing`).

    ``report(bytes_done_in_part)`` feeds ``progress`` and raises
    :class:`Cancelled` once the run is failing, so a part being sent stops
    at its next block. Results come back in part order.
    """
    cancel = threading.Event()
    meter = ProgressMeter(progress, total)
    meter.start()

    def one(part: Part) -> T:
        def report(done: int) -> None:
            if cancel.is_set():
                raise Cancelled(f"part {part.number} stopped")
            meter.set(part.number, done)

        for attempt in range(1, attempts + 1):
            if cancel.is_set():
                raise Cancelled(f"part {part.number} not sent")
            try:
                return send(part, report)
            except Cancelled:
                raise
            except Exception as exc:
                if cancel.is_set() or attempt >= attempts or not retryable(exc):
                    raise
                log.debug("part %d failed (try %d): %s; retrying", part.number, attempt, exc)
                meter.set(part.number, 0)
                sleep(backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    if connections is None:
        return run_growing(parts, one, cancel, done=lambda: meter.done)
    return run_all(parts, one, connections, cancel)


def run_all(
    parts: Sequence[Part], one: Callable[[Part], T], connections: int, cancel: threading.Event
) -> list[T]:
    executor = ThreadPoolExecutor(max_workers=max(1, connections), thread_name_prefix="sregistry")
    futures: dict[Future[T], Part] = {}
    try:
        futures = {executor.submit(one, part): part for part in parts}
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [future for future in done if future.exception() is not None]
        if failed:
            cancel.set()
            wait(futures)
            raise _first_error(futures, failed[0])
        return [future.result() for future in sorted(futures, key=lambda f: futures[f].number)]
    except BaseException:
        cancel.set()
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _first_error(futures: Mapping[Future[T], Part], first: Future[T]) -> BaseException:
    """The failure to report: the first real error, never a mere cancellation."""
    candidates = [first, *sorted(futures, key=lambda f: futures[f].number)]
    for future in candidates:
        if future.cancelled():
            continue
        exc = future.exception()
        if exc is not None and not isinstance(exc, Cancelled):
            return exc
    exc = first.exception()
    assert exc is not None
    return exc


class Growth:
    """When to add a connection: after each window, while the last one added raised
    the throughput by ``gain`` (the first window, connection set-up, only counts
    as the baseline after it), up to ``limit`` connections."""

    def __init__(self, *, limit: int = AUTO_LIMIT, gain: float = GROWTH_GAIN) -> None:
        self.limit = limit
        self.gain = gain
        self.workers = 1
        self.growing = True
        self._before: float | None = None
        self._warm = False

    def observe(self, rate: float) -> bool:
        """The throughput of the last window (bytes/s): whether to add a connection now."""
        if not self.growing:
            return False
        if not self._warm:
            self._warm = True  # the first window pays for connecting: no verdict yet
            return False
        if self._before is not None and rate <= self._before * self.gain:
            log.debug("%d connections: %.0f B/s, no better than %d: staying", self.workers,
                      rate, self.workers - 1)  # fmt: skip
            self.growing = False
            return False
        if self.workers >= self.limit:
            self.growing = False
            return False
        self._before = rate
        self.workers += 1
        return True


def run_growing(
    parts: Sequence[Part],
    one: Callable[[Part], T],
    cancel: threading.Event,
    *,
    done: Callable[[], int],
    growth: Growth | None = None,
    window: float = GROWTH_WINDOW,
    clock: Callable[[], float] = time.monotonic,
    wait: Callable[[threading.Event, float], bool] = threading.Event.wait,
) -> list[T]:
    """Run ``one(part)`` for every part, starting on one thread and adding one
    after each ``window`` seconds while that raised the throughput (``done()``:
    bytes so far; see :class:`Growth`). The watch ends as soon as every part has
    started or one failed. Errors as :func:`run_all`: the first real one cancels
    the rest and is raised. Results come back in part order. ``clock`` and
    ``wait(event, seconds)`` stand in for time in tests."""
    growth = growth or Growth()
    pending = deque(parts)
    results: dict[int, T] = {}
    failures: list[BaseException] = []
    lock = threading.Lock()
    settled = threading.Event()
    """Set once no part is left to start, or one failed: nothing more to add."""
    threads: list[threading.Thread] = []

    def worker() -> None:
        while not cancel.is_set():
            with lock:
                if not pending:
                    settled.set()
                    return
                part = pending.popleft()
            try:
                value = one(part)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                with lock:
                    failures.append(exc)
                cancel.set()
                settled.set()
                return
            with lock:
                results[part.number] = value

    def add() -> None:
        thread = threading.Thread(target=worker, name=f"sregistry-{len(threads) + 1}", daemon=True)
        thread.start()
        threads.append(thread)

    try:
        add()
        mark, at = done(), clock()
        while growth.growing:
            if wait(settled, window) or settled.is_set() or cancel.is_set():
                break
            count, now = done(), clock()
            rate = (count - mark) / max(now - at, 1e-9)
            mark, at = count, now
            if growth.observe(rate):
                add()
        for thread in threads:
            thread.join()
    except BaseException:
        cancel.set()
        for thread in threads:
            thread.join()
        raise
    if failures:
        real = [exc for exc in failures if not isinstance(exc, Cancelled)]
        raise (real or failures)[0]
    return [results[part.number] for part in parts]
