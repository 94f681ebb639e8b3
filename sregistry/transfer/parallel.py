"""Parallel transfers: ranged downloads over several connections, and parts
uploaded concurrently.

**Download** (:func:`download_ranged`). A first ``GET`` asks for the first
part with ``Range``. Only a ``206`` whose ``Content-Range`` names exactly that
range and the full size switches to parts; anything else (a ``200``, a
malformed or open-ended ``Content-Range``) falls back to one plain stream
(:func:`sregistry.transfer.download.download`). Parts are written in place
(``os.pwrite``) into a preallocated ``<target>.<random>.incomplete`` file
beside the target, by ``connections`` workers. A part that fails is asked for
again from its own first missing byte (bounded tries). The SHA-256 is computed
*in order while parts arrive*: a hasher thread reads back the contiguous
prefix already written (from the page cache) and hashes it, so at the end
only the last stretch remains to hash. The file is renamed into place only
when size and digest match; on any failure, Ctrl-C included, it is removed.

A second run never reuses a kept ``.incomplete`` file: names are random and
nothing records which parts of one were complete, so reuse cannot be shown
to be safe; a failed run leaves nothing behind and the next one starts over.

**Upload** (:func:`run_parts`). A generic runner: ``send(part, report)``
uploads one part (the caller builds the request) and is retried with backoff
when ``retryable(exc)`` says so; the first fatal error cancels the parts not
yet started, asks running ones to stop at their next block, and is re-raised
for the caller to abort the upload server-side.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import requests
import requests.auth

from sregistry.errors import (
    DestinationExists,
    IntegrityError,
    NotFound,
    ServerError,
    TransferError,
)
from sregistry.transfer.bodies import BLOCK_SIZE
from sregistry.transfer.download import Downloaded, Expected, download, place, temporary_path
from sregistry.transfer.hashing import Digests
from sregistry.transfer.http import classify, redact

if TYPE_CHECKING:
    from sregistry.transfer.http import Transport

__all__ = [
    "DEFAULT_CONNECTIONS",
    "DEFAULT_PART_SIZE",
    "DEFAULT_THRESHOLD",
    "Cancelled",
    "Part",
    "download_ranged",
    "plan_parts",
    "probe_headers",
    "run_parts",
]

log = logging.getLogger("sregistry.transfer")

DEFAULT_CONNECTIONS = 4
DEFAULT_PART_SIZE = 32 << 20
DEFAULT_THRESHOLD = 64 << 20
"""Files up to this size are fetched over one connection (still resumable)."""

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$", re.IGNORECASE)
_HASH_BLOCK = 4 << 20
_HASH_BATCH = 16 << 20
"""The in-order hasher wakes up for at least this many new contiguous bytes."""
Progress = Callable[[int, "int | None"], None]
ResponseCheck = Callable[[requests.Response], None]
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


class _Progress:
    """Sums per-part byte counts from many threads into one callback."""

    def __init__(self, callback: Progress | None, total: int | None) -> None:
        self._callback = callback
        self._total = total
        self._lock = threading.Lock()
        self._parts: dict[int, int] = {}
        self._done = 0

    def set(self, number: int, done: int) -> None:
        with self._lock:
            self._done += done - self._parts.get(number, 0)
            self._parts[number] = done
            if self._callback is not None:
                self._callback(self._done, self._total)

    def start(self) -> None:
        if self._callback is not None:
            self._callback(0, self._total)


# --------------------------------------------------------------------------- upload


def run_parts(
    parts: Sequence[Part],
    send: Callable[[Part, Callable[[int], None]], T],
    *,
    connections: int,
    attempts: int = 3,
    retryable: Callable[[BaseException], bool],
    progress: Progress | None = None,
    total: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    backoff: float = 0.5,
) -> list[T]:
    """Run ``send(part, report)`` for every part on ``connections`` threads.

    ``report(bytes_done_in_part)`` feeds ``progress`` and raises
    :class:`Cancelled` once the run is failing, so a part being sent stops
    at its next block. Results come back in part order.
    """
    cancel = threading.Event()
    meter = _Progress(progress, total)
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

    return _run_all(parts, one, connections, cancel)


def _run_all(
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


# ------------------------------------------------------------------------- download


@dataclass
class _Slot:
    """A download part and how much of it is on disk."""

    part: Part
    written: int = 0

    @property
    def complete(self) -> bool:
        return self.written >= self.part.size


@dataclass
class _Ranged:
    """Shared state of one ranged download."""

    fd: int
    total: int
    slots: list[_Slot]
    cancel: threading.Event = field(default_factory=threading.Event)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def frontier(self) -> int:
        """The end of the contiguous prefix already written."""
        for slot in self.slots:
            if not slot.complete:
                return slot.part.offset + slot.written
        return self.total


class _InOrderHasher:
    """Hashes the contiguous written prefix while parts arrive (reads back from the file).

    With ``after`` it waits for every part and then reads the file once
    (measured against the in-order way by ``bench/library_transfer.py``).
    """

    def __init__(self, state: _Ranged, *, after: bool = False) -> None:
        self._state = state
        self._after = after
        self._sha256 = hashlib.sha256()
        self._hashed = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sregistry-hash", daemon=True)
        self._thread.start()

    def _ready(self) -> bool:
        frontier = self._state.frontier()
        if frontier >= self._state.total:
            return True
        return not self._after and frontier - self._hashed >= _HASH_BATCH

    def _run(self) -> None:
        state = self._state
        buffer = bytearray(_HASH_BLOCK)
        view = memoryview(buffer)
        try:
            while self._hashed < state.total:
                with state.cond:
                    while not self._ready() and not state.cancel.is_set():
                        state.cond.wait(timeout=1.0)
                    if state.cancel.is_set():
                        return
                    frontier = state.frontier()
                while self._hashed < frontier:
                    length = min(_HASH_BLOCK, frontier - self._hashed)
                    got = os.preadv(state.fd, [view[:length]], self._hashed)
                    if not got:
                        raise OSError("short read while hashing the download")
                    self._sha256.update(view[:got])
                    self._hashed += got
        except OSError as exc:  # reported by result()
            self._error = exc

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


def _parse_range(response: requests.Response) -> tuple[int, int, int] | None:
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match is None:
        return None
    start, end, total = (int(group) for group in match.groups())
    if start > end or end >= total:
        return None
    return start, end, total


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


class _DiskError(Exception):
    """Writing the file failed: never retried."""


def _receive_part(
    response: requests.Response,
    slot: _Slot,
    state: _Ranged,
    meter: _Progress,
) -> None:
    for block in response.iter_content(BLOCK_SIZE):
        if state.cancel.is_set():
            raise Cancelled(f"part {slot.part.number} stopped")
        room = slot.part.size - slot.written
        if len(block) > room:
            raise ServerError(f"the server sent more than part {slot.part.number}'s range")
        try:
            _pwrite_all(state.fd, block, slot.part.offset + slot.written)
        except OSError as exc:
            raise _DiskError(exc.strerror or str(exc)) from exc
        with state.cond:
            slot.written += len(block)
            state.cond.notify_all()
        meter.set(slot.part.number, slot.written)


def _fetch_part(
    transport: Transport,
    url: str,
    slot: _Slot,
    state: _Ranged,
    meter: _Progress,
    *,
    headers: Mapping[str, str],
    auth: requests.auth.AuthBase | None,
    first: requests.Response | None,
    attempts: int,
    where: str,
) -> None:
    failures = 0
    while not slot.complete:
        if state.cancel.is_set():
            raise Cancelled(f"part {slot.part.number} stopped")
        start = slot.part.offset + slot.written
        response = first
        first = None
        try:
            if response is None:
                sent = {**headers, "Range": f"bytes={start}-{slot.part.end}"}
                response = transport.request(
                    "GET", url, headers=sent, auth=auth, stream=True, log_as=where
                )
            with response:
                got = _parse_range(response)
                if response.status_code != 206 or got is None or got[0] != start:
                    raise ServerError(
                        f"{where} answered HTTP {response.status_code} without the range "
                        f"bytes={start}-{slot.part.end}",
                        status=response.status_code,
                    )
                _receive_part(response, slot, state, meter)
            if not slot.complete:
                raise TransferError(
                    f"part {slot.part.number} of {where} ended early "
                    f"({slot.written} of {slot.part.size} bytes)"
                )
        except (Cancelled, _DiskError):
            raise
        except (requests.exceptions.RequestException, TransferError, ServerError) as exc:
            failures += 1
            reason: Exception = exc
            if isinstance(exc, requests.exceptions.RequestException):
                reason = classify(exc, where).error
            if failures >= attempts:
                raise TransferError(
                    f"part {slot.part.number} of {where} failed {failures} times: {reason}",
                    url=where,
                ) from None
            log.debug("part %d: %s; retrying from byte %d", slot.part.number, reason, start)
            transport.sleep(transport.retry.backoff_delay(failures))


def _allocate(fd: int, size: int) -> None:
    try:
        os.posix_fallocate(fd, 0, size)
    except (AttributeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC
            raise TransferError(f"not enough disk space for {size} bytes") from None
        os.ftruncate(fd, size)


def _create(target: Path) -> tuple[Path, int]:
    """A new ``<target>.<random>.incomplete`` opened for reading and writing."""
    if not target.parent.is_dir():
        raise NotFound(f"the directory {target.parent} does not exist")
    for _ in range(8):
        path = temporary_path(target)
        try:
            return path, os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise TransferError(
                f"cannot write in {target.parent}: {exc.strerror}", hint="choose another -o PATH"
            ) from None
    raise TransferError(f"cannot create a temporary file beside {target}")


def probe_headers(part_size: int = DEFAULT_PART_SIZE) -> dict[str, str]:
    """Headers of the first request of a ranged download (it asks for the first part)."""
    return {"Accept-Encoding": "identity", "Range": f"bytes=0-{part_size - 1}"}


@dataclass(frozen=True)
class RangedResult:
    """A verified download and how it went."""

    downloaded: Downloaded
    parts: int
    """Parts fetched (0: the server ignored ``Range`` and one stream was used)."""


def download_ranged(
    transport: Transport,
    url: str,
    target: str | os.PathLike[str],
    *,
    expected: Expected | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    check: ResponseCheck | None = None,
    headers: Mapping[str, str] | None = None,
    auth: requests.auth.AuthBase | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    part_size: int = DEFAULT_PART_SIZE,
    threshold: int = DEFAULT_THRESHOLD,
    attempts: int = 5,
    log_as: str | None = None,
    first: requests.Response | None = None,
    hash_after: bool = False,
) -> RangedResult:
    """GET ``url`` into ``target`` in parallel ranges when the server allows it.

    See the module docstring. ``check`` sees the first response and raises
    for the caller's protocol errors (e.g. 404 -> NotFound). ``first`` is an
    answer the caller already has to ``GET url`` with
    ``Range: bytes=0-<part_size - 1>`` (see :func:`probe_headers`); without it
    that request is made here. ``hash_after`` hashes in one pass after the
    last part instead of in order while parts arrive (for measurements).
    """
    expected = expected or Expected()
    if expected.md5 is not None:
        raise ValueError("ranged downloads verify size and sha256 only, not md5")
    target = Path(target)
    where = log_as or redact(url)
    if target.exists() and not overwrite:
        raise DestinationExists(
            f"{target} exists", hint="use --force to replace it, or -o to choose another path"
        )
    base_headers = {"Accept-Encoding": "identity", **(headers or {})}
    probe = first
    if probe is None:
        probe = transport.request(
            "GET",
            url,
            headers={**base_headers, **probe_headers(part_size)},
            auth=auth,
            stream=True,
            log_as=log_as,
        )
    got = _parse_range(probe) if probe.status_code == 206 else None
    if got is None or got[0] != 0:
        with probe:
            if probe.status_code in {200, 206, 416}:
                log.debug("%s: no usable Range (HTTP %d): one stream", where, probe.status_code)
            else:
                (check or _generic_check)(probe)
                raise ServerError(
                    f"{where} answered HTTP {probe.status_code} to a download",
                    status=probe.status_code,
                )
        plain = download(
            transport,
            url,
            target,
            expected=expected,
            overwrite=overwrite,
            progress=progress,
            check=check,
            headers=headers,
            auth=auth,
            attempts=attempts,
            log_as=log_as,
        )
        return RangedResult(plain, 0)
    _start, first_end, total = got
    if expected.size is not None and expected.size != total:
        probe.close()
        raise IntegrityError(
            f"{where} holds {total} bytes, the registry says {expected.size}",
            hint="nothing was saved; the registry's record and its file disagree",
        )
    head = first_end + 1
    if total <= threshold or connections <= 1:
        parts = plan_parts(total, max(total - head, 1), first=head)
        connections = 1
    else:
        parts = plan_parts(total, part_size, first=head)
    return RangedResult(
        _ranged(
            transport,
            url,
            target,
            probe,
            parts=parts,
            total=total,
            expected=expected,
            overwrite=overwrite,
            progress=progress,
            headers=base_headers,
            auth=auth,
            connections=connections,
            attempts=attempts,
            where=where,
            hash_after=hash_after,
        ),
        len(parts),
    )


def _ranged(
    transport: Transport,
    url: str,
    target: Path,
    probe: requests.Response,
    *,
    parts: list[Part],
    total: int,
    expected: Expected,
    overwrite: bool,
    progress: Progress | None,
    headers: Mapping[str, str],
    auth: requests.auth.AuthBase | None,
    connections: int,
    attempts: int,
    where: str,
    hash_after: bool,
) -> Downloaded:
    temporary, fd = _create(target)
    state = _Ranged(fd, total, [_Slot(part) for part in parts])
    hasher: _InOrderHasher | None = None
    try:
        _allocate(fd, total)
        hasher = _InOrderHasher(state, after=hash_after)
        meter = _Progress(progress, total)
        meter.start()

        def one(part: Part) -> None:
            slot = state.slots[part.number - 1]
            _fetch_part(
                transport,
                url,
                slot,
                state,
                meter,
                headers=headers,
                auth=auth,
                first=probe if part.number == 1 else None,
                attempts=attempts,
                where=where,
            )

        try:
            _run_all(parts, one, connections, state.cancel)
        except _DiskError as exc:
            raise TransferError(f"cannot write {temporary}: {exc}") from None
        sha256 = hasher.result()
        hasher = None
        _verify(total, sha256, expected, where)
        os.close(fd)
        fd = -1
        place(temporary, target, overwrite=overwrite)
    except BaseException:
        probe.close()
        if hasher is not None:
            hasher.stop()
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return Downloaded(target, total, Digests(sha256))


def _generic_check(response: requests.Response) -> None:
    if response.status_code == 404:
        raise NotFound(f"{redact(response.url)} was not found", status=404)
    if response.status_code >= 400:
        raise ServerError(
            f"{redact(response.url)} answered HTTP {response.status_code}",
            status=response.status_code,
        )


def _verify(size: int, sha256: str, expected: Expected, where: str) -> None:
    hint = "nothing was saved; try again, and if it persists the registry's copy may be damaged"
    if expected.size is not None and size != expected.size:
        raise IntegrityError(
            f"the download of {where} has {size} bytes, expected {expected.size}", hint=hint
        )
    if expected.sha256 is not None and sha256 != expected.sha256.lower():
        raise IntegrityError(
            f"the download of {where} has sha256 {sha256}, "
            f"the registry says {expected.sha256.lower()}",
            hint=hint,
        )
