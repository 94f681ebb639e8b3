"""Streamed, verified, resumable, atomic downloads.

The body goes to ``<target>.<random>.incomplete`` beside the target while it is
hashed. After a transient failure the download goes on with
``Range: bytes=<done>-``; a ``206`` must name that offset in ``Content-Range``,
a ``200`` means the server ignored the range and the file starts again from
byte 0. Only when the size and the expected digests match is the file renamed
into place; on any failure (Ctrl-C included) the temporary file is removed and
an existing target is left untouched.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import requests
import requests.auth

from sregistry.errors import (
    DestinationExists,
    IntegrityError,
    NotFound,
    ServerError,
    TransferError,
)
from sregistry.results import ProgressCallback
from sregistry.transfer.hashing import BufferPool, Digests, Hasher, make_hasher
from sregistry.transfer.http import Transport, describe, redact
from sregistry.transfer.stream import (
    RECEIVE_AHEAD,
    RECEIVE_BLOCK,
    BodyReadError,
    body_reader,
    read_full,
)

__all__ = ["Download", "Downloaded", "Expected", "Incomplete", "download", "place"]

log = logging.getLogger("sregistry.transfer")

ResponseCheck = Callable[[requests.Response], None]
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_TRANSIENT = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)


@dataclass(frozen=True, kw_only=True)
class Expected:
    """What the bytes must be; ``None`` fields are not checked."""

    size: int | None = None
    sha256: str | None = None
    md5: str | None = None


@dataclass(frozen=True, kw_only=True)
class Download:
    """One download: what to fetch, where to, what the bytes must be, how to ask."""

    url: str
    target: Path
    expected: Expected = Expected()
    overwrite: bool = False
    """Replace an existing ``target``; without it, a ``target`` that exists is
    refused before any request."""
    progress: ProgressCallback | None = None
    check: ResponseCheck | None = None
    """Sees the answers and raises for those that are errors in the caller's
    protocol (default: :func:`generic_check`)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: requests.auth.AuthBase | None = None
    attempts: int = 5
    threaded_hash: bool = True
    """Hash on a worker thread (else inline); ranged downloads hash their own way."""
    log_as: str | None = None
    """Replaces the URL in logs and errors (for URLs carrying secrets)."""

    @property
    def where(self) -> str:
        return self.log_as or redact(self.url)

    def checked(self, response: requests.Response) -> None:
        """Raise when ``response`` is an error (through :attr:`check`)."""
        (self.check or generic_check)(response)


@dataclass(frozen=True)
class Downloaded:
    """A completed, verified download."""

    path: Path
    size: int
    digests: Digests
    resumed_from: int = 0
    """The last offset a ``Range`` request continued from (0: never resumed)."""
    restarts: int = 0
    """How often the server ignored ``Range`` and the download began again."""


class Incomplete:
    """A new ``<target>.<random>.incomplete`` file beside the target, its name
    remembered *before* it is created so that an interrupt at any moment
    leaves nothing behind (:meth:`remove`)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path: Path | None = None

    def create(self, flags: int) -> tuple[Path, int]:
        """Create the file exclusively (``O_CREAT | O_EXCL`` added to ``flags``)
        under a fresh random name: its path and descriptor."""
        target = self.target
        if not target.parent.is_dir():
            raise NotFound(f"the directory {target.parent} does not exist")
        for _ in range(8):
            self.path = target.with_name(f"{target.name}.{secrets.token_hex(4)}.incomplete")
            try:
                return self.path, os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                self.path = None
            except OSError as exc:
                self.path = None
                raise TransferError(
                    f"cannot write in {target.parent}: {exc.strerror}",
                    hint="choose another destination",
                ) from None
        raise TransferError(f"cannot create a temporary file beside {target}")

    def remove(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()


def place(source: Path, target: Path, *, overwrite: bool) -> None:
    """Move ``source`` to ``target`` atomically; without ``overwrite`` never replace a file."""
    try:
        _place(source, target, overwrite=overwrite)
    except OSError as exc:
        if isinstance(exc, DestinationExists):
            raise
        raise TransferError(
            f"cannot move the download to {target}: {exc.strerror or exc}",
            hint="choose another destination",
        ) from exc


def _place(source: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(source, target)
        return
    try:
        os.link(source, target)
    except FileExistsError:
        raise DestinationExists.at(target) from None
    except OSError as exc:
        if exc.errno not in {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV}:
            raise
        if target.exists():  # no hard links here: check, then rename
            raise DestinationExists.at(target) from None
        os.replace(source, target)
        return
    source.unlink()


def generic_check(response: requests.Response) -> None:
    """404 -> :class:`NotFound`, any other error status -> :class:`ServerError`."""
    if response.status_code == 404:
        raise NotFound(f"{redact(response.url)} was not found", status=404)
    if response.status_code >= 400:
        raise ServerError(
            f"{redact(response.url)} answered HTTP {response.status_code}",
            status=response.status_code,
        )


class _Restart(Exception):
    """The server did not continue where we asked: start again from byte 0."""


@dataclass
class _State:
    handle: BinaryIO
    hasher: Hasher
    pool: BufferPool
    done: int = 0
    total: int | None = None
    resumed_from: int = 0
    restarts: int = 0
    ranges_ok: bool = True

    def rewind(self) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.hasher.reset()
        self.done = 0
        self.restarts += 1


def _total_from(response: requests.Response, state: _State) -> int | None:
    """Check a 200/206 answer against our offset; the full size when it says."""
    if response.status_code == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if state.done == 0 or match is None or int(match.group(1)) != state.done:
            raise _Restart("the server answered a range other than the one asked for")
        return None if match.group(3) == "*" else int(match.group(3))
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


class _ReadFailed(Exception):
    """Receiving the body failed (not writing it: a full disk is no network hiccup)."""


class _WriteFailed(Exception):
    """Writing the temporary file failed (full disk, quota, I/O error)."""


def _receive(response: requests.Response, state: _State, progress: ProgressCallback | None) -> None:
    """Copy the body to the file and the hasher, block by block.

    Blocks are received straight into pooled buffers (see
    :mod:`sregistry.transfer.stream`); a buffer goes back to the pool once
    hashed. A body sent with a content coding despite
    ``Accept-Encoding: identity`` is decoded.
    """
    coding = response.headers.get("Content-Encoding", "identity").strip().lower()
    read = body_reader(response, decode=coding not in {"", "identity"})
    if progress is not None:
        progress(state.done, state.total)
    while True:
        buffer = state.pool.acquire()
        view = memoryview(buffer)
        failure: BodyReadError | None = None
        try:
            got = read_full(read, view)
        except BodyReadError as exc:
            failure, got = exc, exc.filled
        if got:
            _keep(state, view[:got], state.pool.releaser(buffer))
            if progress is not None:
                progress(state.done, state.total)
        else:
            state.pool.releaser(buffer)()
        if failure is not None:
            raise _ReadFailed(str(failure)) from failure
        if got < len(view):
            return


def _keep(state: _State, block: memoryview, release: Callable[[], None]) -> None:
    """Write ``block`` to the file and hand it to the hasher (which releases it)."""
    try:
        state.handle.write(block)
    except OSError as exc:
        release()
        raise _WriteFailed(exc.strerror or str(exc)) from exc
    state.hasher.update(block, release)
    state.done += len(block)


def _close(handle: BinaryIO) -> None:
    """Close the file: its last buffered blocks are written here (a full disk shows now)."""
    try:
        handle.close()
    except OSError as exc:
        raise _WriteFailed(exc.strerror or str(exc)) from exc


def _one_try(
    transport: Transport, request: Download, state: _State, *, progress: ProgressCallback | None
) -> None:
    sent = {"Accept-Encoding": "identity", **request.headers}
    if state.done:
        sent["Range"] = f"bytes={state.done}-"
    response = transport.request(
        "GET", request.url, headers=sent, auth=request.auth, stream=True, log_as=request.log_as
    )
    try:
        request.checked(response)
        if response.status_code not in {200, 206}:
            raise ServerError(
                f"{request.where} answered HTTP {response.status_code} to a download",
                status=response.status_code,
            )
        if response.status_code == 200 and state.done:
            log.debug("the server ignored Range: starting again from byte 0")
            state.rewind()
            state.ranges_ok = False
        elif state.done:
            state.resumed_from = state.done
        total = _total_from(response, state)
        state.total = total if total is not None else state.total
        _receive(response, state, progress)
    finally:
        response.close()


def _fetch(
    transport: Transport,
    request: Download,
    state: _State,
    *,
    progress: ProgressCallback | None,
    attempts: int,
) -> None:
    """Tries until the whole body is in the file: resumes, restarts, gives up after ``attempts``."""
    where = request.where
    failures = 0
    waiting_since, done_before = time.monotonic(), state.done
    while True:
        if state.done > done_before:  # bytes arrived: the wait starts again
            waiting_since = time.monotonic()
        done_before = state.done
        try:
            _one_try(transport, request, state, progress=progress)
        except _Restart as exc:
            failures += 1
            if failures >= attempts:
                raise ServerError(f"the download of {where} failed: {exc}", url=where) from None
            log.debug("%s: %s", where, exc)
            state.rewind()
            state.ranges_ok = False
            continue
        except (*_TRANSIENT, _ReadFailed) as exc:
            failures += 1
            reason = str(exc) if isinstance(exc, _ReadFailed) else describe(exc)
            if failures >= attempts:
                raise TransferError(
                    f"the download of {where} failed after {failures} tries: {reason}", url=where
                ) from exc
            delay = transport.retry.backoff_delay(failures)
            if state.done == done_before and (
                time.monotonic() - waiting_since + delay >= transport.deadline
            ):
                raise transport.gave_up(where, waiting_since, failures, reason) from exc
            log.debug("%s: %s; continuing from byte %d", where, reason, state.done)
            if not state.ranges_ok:
                state.rewind()
            transport.sleep(delay)
            continue
        if state.total is not None and state.done < state.total:
            failures += 1  # closed early without an error: resume
            if failures >= attempts:
                raise TransferError(
                    f"the download of {where} stopped at {state.done} of {state.total} bytes "
                    f"{failures} times",
                    url=where,
                )
            continue
        return


def download(transport: Transport, job: Download) -> Downloaded:
    """GET ``job.url`` into ``job.target``, verified against ``job.expected``,
    resuming on failures.

    Raises :class:`~sregistry.errors.DestinationExists` (before any request)
    when the target exists and ``job.overwrite`` is false,
    :class:`~sregistry.errors.IntegrityError` on a size or digest mismatch and
    :class:`~sregistry.errors.TransferError` when ``job.attempts`` tries failed
    or the file cannot be written.
    """
    expected, target = job.expected, job.target
    if target.exists() and not job.overwrite:
        raise DestinationExists.at(target)
    hasher = make_hasher(
        md5=expected.md5 is not None, threaded=job.threaded_hash, depth=RECEIVE_AHEAD
    )
    temporary = Incomplete(target)
    try:
        path, fd = temporary.create(os.O_WRONLY)
        handle = os.fdopen(fd, "wb")
        pool = BufferPool(RECEIVE_AHEAD + 2, RECEIVE_BLOCK)
        state = _State(handle, hasher, pool, total=expected.size)
        try:
            _fetch(transport, job, state, progress=job.progress, attempts=job.attempts)
        except BaseException:
            with contextlib.suppress(OSError):
                handle.close()
            raise
        _close(handle)
        digests = hasher.result()
        verify(state.done, digests, expected, job.where)
        place(path, target, overwrite=job.overwrite)
    except BaseException as exc:
        hasher.close()
        temporary.remove()
        if isinstance(exc, _WriteFailed):
            raise TransferError(
                f"cannot write {target}: {exc}",
                hint="free some space or choose another destination",
            ) from exc
        raise
    return Downloaded(target, state.done, digests, state.resumed_from, state.restarts)


def verify(size: int, digests: Digests, expected: Expected, where: str) -> None:
    """Raise :class:`IntegrityError` unless the size and digests are what was expected."""
    hint = "nothing was saved; try again, and if it persists the registry's copy may be damaged"
    if expected.size is not None and size != expected.size:
        raise IntegrityError(
            f"the download of {where} has {size} bytes, expected {expected.size}", hint=hint
        )
    if expected.sha256 is not None and digests.sha256 != expected.sha256.lower():
        raise IntegrityError(
            f"the download of {where} has sha256 {digests.sha256}, "
            f"expected {expected.sha256.lower()}",
            hint=hint,
        )
    if expected.md5 is not None and digests.md5 != expected.md5.lower():
        raise IntegrityError(
            f"the download of {where} has md5 {digests.md5}, expected {expected.md5.lower()}",
            hint=hint,
        )
