"""Ranged downloads over several connections, verified, atomic, resumable.

A first ``GET`` asks for the first part with ``Range``. Only a ``206`` whose
``Content-Range`` names exactly that range and the full size switches to
parts; anything else (a ``200``, a malformed or open-ended ``Content-Range``)
falls back to one plain stream (:func:`sregistry.transfer.download.download`).
Parts are written in place (``os.pwrite``) into a preallocated
``.incomplete`` file beside the target by ``connections`` workers; a part
that fails is asked for again from its own first missing byte (bounded
tries). The SHA-256 is computed *in order while parts arrive*: a hasher
thread reads back the contiguous prefix already written (from the page
cache), so after the last byte only the last stretch remains to hash. The
file is renamed into place only when size and digest match.

After a failure or Ctrl-C, a download whose sha256 is known keeps its
``.incomplete`` file and a journal of the bytes on disk, and the next run
fetches only what is missing (see :mod:`sregistry.transfer.journal` for why
that is safe); otherwise nothing is left behind.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests
import requests.auth

from sregistry.errors import (
    DestinationExists,
    IntegrityError,
    ServerError,
    SregistryError,
    TransferError,
)
from sregistry.transfer.download import Download, Downloaded, download, place, verify
from sregistry.transfer.hashing import BufferPool, Digests
from sregistry.transfer.http import Transport, describe
from sregistry.transfer.journal import (
    Span,
    Temporary,
    kept_note,
    open_temporary,
    remove_stale,
    resumable,
)
from sregistry.transfer.parallel import (
    DEFAULT_CONNECTIONS,
    Cancelled,
    Part,
    ProgressMeter,
    run_all,
    run_growing,
)
from sregistry.transfer.partfile import PartFile, PrefixHasher, Slot, layout
from sregistry.transfer.stream import (
    RECEIVE_BLOCK,
    BodyReadError,
    body_reader,
    read_full,
)

__all__ = [
    "DEFAULT_PART_SIZE",
    "DEFAULT_THRESHOLD",
    "RangedResult",
    "Ranges",
    "download_ranged",
    "probe_headers",
]

log = logging.getLogger("sregistry.transfer")

DEFAULT_PART_SIZE = 32 << 20
DEFAULT_THRESHOLD = 64 << 20
"""Files up to this size are fetched over one connection (still in ranges)."""

PART_AHEAD = 16
"""Receive buffers per part (2 MiB): the hasher, faster than one connection, keeps
few of them queued, and several parts (and the part before, finishing its
hashing) may hold theirs at once: the peak RSS stays flat."""

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$", re.IGNORECASE)
ResponseCheck = Callable[[requests.Response], None]


def _parse_range(response: requests.Response) -> tuple[int, int, int] | None:
    """``(start, end, total)`` of an identity-coded ``Content-Range``, else ``None``."""
    coding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if coding not in {"", "identity"}:
        return None
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match is None:
        return None
    start, end, total = (int(group) for group in match.groups())
    if start > end or end >= total:
        return None
    return start, end, total


def _pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


class _DiskError(Exception):
    """Writing the file failed: never retried."""


def _receive_part(
    response: requests.Response,
    slot: Slot,
    state: PartFile,
    meter: ProgressMeter,
    hasher: PrefixHasher,
) -> None:
    """Write the body at the part's offset, block by block (ranges are only used
    on identity-coded answers); bytes that arrived before a cut are kept, so a
    retry continues after them. A block that extends the hashed prefix goes to
    the hasher, and the next one is received into another buffer of a small
    pool (which also bounds how far receiving runs ahead of hashing)."""
    read = body_reader(response)
    pool = BufferPool(PART_AHEAD, RECEIVE_BLOCK)
    while True:
        buffer = pool.acquire()
        view = memoryview(buffer)
        failure: BodyReadError | None = None
        try:
            got = read_full(read, view)
        except BodyReadError as exc:
            failure, got = exc, exc.filled
        if state.cancel.is_set():
            raise Cancelled(f"part {slot.part.number} stopped")
        release = pool.releaser(buffer)
        if not (got and _store_block(view[:got], slot, state, meter, hasher, release=release)):
            release()
        if failure is not None:
            raise TransferError(str(failure)) from failure
        if got < len(view):
            return


def _store_block(
    block: memoryview,
    slot: Slot,
    state: PartFile,
    meter: ProgressMeter,
    hasher: PrefixHasher,
    *,
    release: Callable[[], None],
) -> bool:
    """Write ``block`` in place; whether the hasher took it (and will ``release`` it)."""
    room = slot.part.size - slot.written
    if len(block) > room:
        raise ServerError(f"the server sent more than part {slot.part.number}'s range")
    offset = slot.part.offset + slot.written
    try:
        _pwrite_all(state.fd, block, offset)
    except OSError as exc:
        raise _DiskError(exc.strerror or str(exc)) from exc
    with state.cond:
        slot.written += len(block)
        taken = hasher.offer(offset, block, release)
        state.cond.notify_all()
    meter.set(slot.part.number, slot.written)
    return taken


def _fetch_part(
    transport: Transport,
    plan: _Plan,
    slot: Slot,
    state: PartFile,
    meter: ProgressMeter,
    *,
    hasher: PrefixHasher,
    first: requests.Response | None,
) -> None:
    """Fetch one part, resuming it from its first missing byte after a failure."""
    job = plan.job
    where = job.where
    failures = 0
    waiting_since, written_before = time.monotonic(), slot.written
    while not slot.complete:
        if state.cancel.is_set():
            raise Cancelled(f"part {slot.part.number} stopped")
        if slot.written > written_before:  # bytes arrived: the wait starts again
            waiting_since, written_before = time.monotonic(), slot.written
        start = slot.part.offset + slot.written
        response = first
        first = None
        try:
            if response is None:
                sent = {**plan.headers, "Range": f"bytes={start}-{slot.part.end}"}
                response = transport.request(
                    "GET", job.url, headers=sent, auth=job.auth, stream=True, log_as=where
                )
            with response:
                got = _parse_range(response)
                if response.status_code != 206 or got is None or got[0] != start:
                    raise ServerError(
                        f"{where} answered HTTP {response.status_code} without the range "
                        f"bytes={start}-{slot.part.end}",
                        status=response.status_code,
                    )
                _receive_part(response, slot, state, meter, hasher)
            if not slot.complete:
                raise TransferError(
                    f"part {slot.part.number} of {where} ended early "
                    f"({slot.written} of {slot.part.size} bytes)"
                )
        except (Cancelled, _DiskError):
            raise
        except (requests.exceptions.RequestException, TransferError, ServerError) as exc:
            failures += 1
            reason = describe(exc) if isinstance(exc, requests.RequestException) else str(exc)
            if failures >= job.attempts:
                raise TransferError(
                    f"part {slot.part.number} of {where} failed {failures} times: {reason}",
                    url=where,
                ) from None
            delay = transport.retry.backoff_delay(failures)
            if slot.written == written_before and (
                time.monotonic() - waiting_since + delay >= transport.deadline
            ):
                raise transport.gave_up(where, waiting_since, failures, reason) from None
            log.debug("part %d: %s; retrying from byte %d", slot.part.number, reason, start)
            transport.sleep(delay)


def _allocate(fd: int, size: int) -> None:
    try:
        os.posix_fallocate(fd, 0, size)
    except (AttributeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise TransferError(f"not enough disk space for {size} bytes") from None
        os.ftruncate(fd, size)


def probe_headers(part_size: int = DEFAULT_PART_SIZE) -> dict[str, str]:
    """Headers of the first request of a ranged download (it asks for the first part)."""
    return {"Accept-Encoding": "identity", "Range": f"bytes=0-{part_size - 1}"}


@dataclass(frozen=True)
class RangedResult:
    """A verified download and how it went."""

    downloaded: Downloaded
    parts: int
    """Parts fetched in this run (0: the server ignored ``Range``, one stream was used)."""


@dataclass(frozen=True, kw_only=True)
class Ranges:
    """How a ranged download splits the file."""

    connections: int | None = DEFAULT_CONNECTIONS
    """Parallel connections; ``None``: start with one and add one while that raises
    the throughput (:func:`~sregistry.transfer.parallel.run_growing`)."""
    part_size: int = DEFAULT_PART_SIZE
    threshold: int = DEFAULT_THRESHOLD
    """Files up to this size are fetched over one connection (still in ranges)."""
    hash_after: bool = False
    """Hash in one pass after the last part instead of in order while parts
    arrive (for measurements)."""
    resume: bool = True
    """Reuse what an earlier run left; ``False`` ignores (and replaces) it."""


@dataclass(frozen=True)
class _Plan:
    """How one ranged download runs."""

    job: Download
    ranges: Ranges
    total: int
    head: int
    """Bytes the probe asked for (its part)."""
    headers: Mapping[str, str]
    """The job's headers, asking for the identity coding."""

    def slots(self, spans: list[Span]) -> list[Slot]:
        """Parts to fetch around the spans already on disk (complete slots for those)."""
        connections = self.ranges.connections
        single = self.total <= self.ranges.threshold or (
            connections is not None and connections <= 1
        )
        part_size = self.ranges.part_size
        return layout(self.total, spans, head=self.head, part_size=part_size, single=single)


class _ResumedMismatch(Exception):
    """A resumed file failed verification: start again from scratch."""


def download_ranged(
    transport: Transport,
    job: Download,
    ranges: Ranges = Ranges(),
    *,
    first: requests.Response | None = None,
) -> RangedResult:
    """GET ``job.url`` into ``job.target`` in parallel ranges when the server allows it.

    See the module docstring. ``job.check`` sees the first response and raises
    for the caller's protocol errors (e.g. 404 -> NotFound). ``first`` is an
    answer the caller already has to ``GET url`` with
    ``Range: bytes=0-<part_size - 1>`` (see :func:`probe_headers`); without it
    that request is made here. A resumed file that does not verify is
    downloaded again from scratch, once.
    """
    if job.expected.md5 is not None:
        raise ValueError("ranged downloads verify size and sha256 only, not md5")
    if job.target.exists() and not job.overwrite:
        raise DestinationExists.at(job.target)
    resume = ranges.resume
    while True:
        try:
            return _download(transport, job, ranges, first=first, resume=resume)
        except _ResumedMismatch:
            log.info("%s: the resumed download did not verify: starting again", job.where)
            first, resume = None, False


def _download(
    transport: Transport,
    job: Download,
    ranges: Ranges,
    *,
    first: requests.Response | None,
    resume: bool,
) -> RangedResult:
    where = job.where
    headers = {"Accept-Encoding": "identity", **job.headers}
    sha256 = job.expected.sha256.lower() if job.expected.sha256 else None
    probe = first
    if probe is None:
        # resuming: the first part is probably on disk, so ask for one byte only
        ask = 1 if resume and resumable(job.target, sha256) else ranges.part_size
        probe = transport.request(
            "GET",
            job.url,
            headers={**headers, **probe_headers(ask)},
            auth=job.auth,
            stream=True,
            log_as=job.log_as,
        )
    got = _parse_range(probe) if probe.status_code == 206 else None
    if got is None or got[0] != 0:
        with probe:
            if probe.status_code in {200, 206, 416}:
                log.debug("%s: no usable Range (HTTP %d): one stream", where, probe.status_code)
            else:
                job.checked(probe)
                raise ServerError(
                    f"{where} answered HTTP {probe.status_code} to a download",
                    status=probe.status_code,
                )
        return RangedResult(download(transport, job), 0)
    _start, first_end, total = got
    if job.expected.size is not None and job.expected.size != total:
        probe.close()
        raise IntegrityError(
            f"{where} holds {total} bytes, expected {job.expected.size}",
            hint="nothing was saved; the registry's record and its file disagree",
        )
    plan = _Plan(job, ranges, total=total, head=first_end + 1, headers=headers)
    temp = open_temporary(job.target, sha256=sha256 if resume else None, size=total)
    return _ranged(transport, plan, temp, probe)


def _ranged(
    transport: Transport, plan: _Plan, temp: Temporary, probe: requests.Response
) -> RangedResult:
    job = plan.job
    resumed = temp.reused
    slots = plan.slots(temp.spans)
    if resumed:
        probe.close()  # its bytes may be on disk already: every part is asked for afresh
    state = PartFile(temp.fd, plan.total, slots)
    hasher: PrefixHasher | None = None
    todo = [slot.part for slot in slots if not slot.complete]
    try:
        if not resumed:
            _allocate(temp.fd, plan.total)
        hasher = PrefixHasher(state, after=plan.ranges.hash_after)
        meter = ProgressMeter(job.progress, plan.total)
        meter.start(resumed)

        def one(part: Part) -> None:
            assert hasher is not None
            _fetch_part(
                transport,
                plan,
                state.slots[part.number - 1],
                state,
                meter,
                hasher=hasher,
                first=None if resumed or part.number != 1 else probe,
            )

        try:
            _run(plan, todo, one, state, hasher)
        except _DiskError as exc:
            raise TransferError(f"cannot write {temp.path}: {exc}") from None
        sha256 = hasher.result()
        hasher = None
        try:
            verify(plan.total, Digests(sha256), job.expected, job.where)
        except IntegrityError:
            temp.discard()
            if resumed:
                raise _ResumedMismatch from None
            raise
        temp.close()
        place(temp.path, job.target, overwrite=job.overwrite)
        temp.forget_journal()
        for stale in remove_stale(job.target):
            log.info("removed %s, the partial download of other content", stale)
    except BaseException as exc:
        probe.close()
        if hasher is not None:
            hasher.stop()
        if temp.fd >= 0 or temp.path.exists():
            kept = temp.keep(_spans(state), job.expected.sha256 or "", plan.total)
            if kept:
                log.info("kept %s to resume later", temp.path)
                if isinstance(exc, SregistryError):
                    note = kept_note(temp.path)
                    exc.hint = f"{exc.hint}; {note}" if exc.hint else note
        raise
    downloaded = Downloaded(job.target, plan.total, Digests(sha256), resumed)
    return RangedResult(downloaded, len(todo))


def _run(
    plan: _Plan,
    todo: list[Part],
    one: Callable[[Part], None],
    state: PartFile,
    hasher: PrefixHasher,
) -> None:
    """Fetch the parts ``todo``: on one connection up to the threshold, else on the
    connections asked for, or as many as raise the throughput when none were. That
    throughput is the hashed prefix's: on a machine short of CPU, connections that
    only receive bytes ahead of it (to be read back later) buy nothing."""
    connections = 1 if plan.total <= plan.ranges.threshold else plan.ranges.connections
    if connections is None:
        run_growing(todo, one, state.cancel, done=lambda: hasher.hashed)
    else:
        run_all(todo, one, connections, state.cancel)


def _spans(state: PartFile) -> list[Span]:
    return [
        (slot.part.offset, slot.part.offset + slot.written) for slot in state.slots if slot.written
    ]
