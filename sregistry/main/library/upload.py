"""Sending an image's bytes: legacy v1, v2 single-part, or v2 multipart in parallel.

Chosen as the Go client chooses (``library-api.md`` §7.3): no usable
``apiVersion`` -> ``POST /v1/imagefile``; otherwise files above 64 MiB try
multipart (a 404 falls back to single-part). Presigned URLs never get the
token. Multipart parts go out on ``connections`` threads (their SHA-256
computed on a worker thread one part ahead), each retried on
connection errors and 5xx; a fatal error aborts the upload server-side
(``_multipart_abort``) before it is raised, Ctrl-C included.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sregistry.errors import (
    NotFound,
    PermissionDenied,
    ServerError,
    SregistryError,
    TransferError,
)
from sregistry.main.base import ProgressCallback
from sregistry.main.library.api import (
    ABSENT,
    V2_UPLOAD,
    Call,
    SemVer,
    interpret,
    redact_url,
    supports,
)
from sregistry.main.library.endpoint import Endpoint, encode_json
from sregistry.transfer import FileBody, SourceError
from sregistry.transfer.bodies import Opener, open_binary
from sregistry.transfer.hashing import PartHasher, hash_stream, md5_stream
from sregistry.transfer.parallel import Part, plan_parts, run_parts

__all__ = ["MULTIPART_THRESHOLD", "LocalFile", "Quota", "UploadOutcome", "upload"]

log = logging.getLogger(__name__)

MULTIPART_THRESHOLD = 64 << 20
"""Files above this size are sent in parts (the Go client's rule)."""
PART_ATTEMPTS = 3


@dataclass(frozen=True)
class LocalFile:
    """The file being pushed, hashed in one read before any request.

    ``mtime_ns`` is the modification time it had then: :meth:`check_unchanged`
    tells a file changed since (the hashes would not describe it any more).
    ``opener`` opens it for every read (a test can count them).
    """

    path: Path
    size: int
    sha256: str
    md5: str | None = None
    mtime_ns: int | None = None
    opener: Opener = field(default=open_binary, repr=False, compare=False)

    @classmethod
    def hashed(cls, path: Path, *, md5: bool, opener: Opener = open_binary) -> LocalFile:
        """Read ``path`` once: SHA-256, and MD5 when asked, on two threads."""
        try:
            before = os.stat(path)
            with opener(path) as handle:
                digests = hash_stream(handle, md5=md5)
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
        local = cls(path, digests.size, digests.sha256, digests.md5, before.st_mtime_ns, opener)
        local.check_unchanged()
        return local

    def check_unchanged(self) -> None:
        """Raise :class:`~sregistry.transfer.SourceError` when the file's size or
        modification time differs from when it was hashed."""
        try:
            now = os.stat(self.path)
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        if now.st_size != self.size:
            raise SourceError(
                f"{self.path} changed after it was hashed ({self.size} bytes then, "
                f"{now.st_size} now)"
            )
        if self.mtime_ns is not None and now.st_mtime_ns != self.mtime_ns:
            raise SourceError(f"{self.path} changed after it was hashed (it was written to)")

    def with_md5(self) -> LocalFile:
        """The same file with its MD5 when it was not computed (one more read)."""
        if self.md5 is not None:
            return self
        self.check_unchanged()
        try:
            with self.opener(self.path) as handle:
                size, md5 = md5_stream(handle)
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        if size != self.size:
            raise SourceError(f"{self.path} changed after it was hashed")
        self.check_unchanged()
        return replace(self, md5=md5)


@dataclass(frozen=True)
class Quota:
    """Library storage use after the upload, when the server says (bytes; total 0 = unlimited)."""

    total: int
    usage: int


@dataclass(frozen=True)
class UploadOutcome:
    """How the bytes went up."""

    method: str
    """``v1``, ``v2`` (single part) or ``multipart``."""
    parts: int = 1
    quota: Quota | None = None
    container_url: str | None = None


def upload(
    endpoint: Endpoint,
    image_id: str,
    local: LocalFile,
    version: SemVer | None,
    *,
    connections: int | None,
    progress: ProgressCallback | None = None,
) -> UploadOutcome:
    """Send ``local`` for image ``image_id`` the way the server supports.

    The file must not have changed since it was hashed, neither before the
    first byte nor after the last (:class:`~sregistry.transfer.SourceError`).
    """
    local.check_unchanged()
    if not supports(version, V2_UPLOAD):
        return _legacy(endpoint, image_id, local, progress)
    if local.size > MULTIPART_THRESHOLD:
        outcome = _multipart(endpoint, image_id, local, connections, progress)
        if outcome is not None:
            return outcome
        log.debug("multipart declined (404): single-part upload")
    return _single(endpoint, image_id, local.with_md5(), progress)


def _legacy(
    endpoint: Endpoint, image_id: str, local: LocalFile, progress: ProgressCallback | None
) -> UploadOutcome:
    url = endpoint.url(f"v1/imagefile/{image_id}")
    body = FileBody(local.path, length=local.size, progress=progress, opener=local.opener)
    endpoint.exchange("POST", url, Call("upload the image (legacy v1)", read="nothing"), body=body)
    local.check_unchanged()
    return UploadOutcome("v1")


def _signs_sha256(url: str) -> bool:
    """True when a presigned URL's ``X-Amz-SignedHeaders`` includes the content hash."""
    for key, values in parse_qs(urlsplit(url).query).items():
        if key.lower() == "x-amz-signedheaders":
            return any("x-amz-content-sha256" in value.lower().split(";") for value in values)
    return False


def _presigned(data: Any, key: str, what: str) -> str:
    url = data.get(key) if isinstance(data, dict) else None
    if not isinstance(url, str) or not url:
        raise ServerError(f"{what}: the server gave no {key}")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ServerError(f"{what}: the {key} {redact_url(url)!r} is not an absolute URL")
    return url


def _quota(data: Any) -> tuple[Quota | None, str | None]:
    if not isinstance(data, dict):
        return None, None
    quota = data.get("quota")
    parsed = None
    if isinstance(quota, dict):
        total, usage = quota.get("quotaTotal"), quota.get("quotaUsage")
        if isinstance(total, int) and isinstance(usage, int):
            parsed = Quota(total, usage)
    url = data.get("containerUrl")
    return parsed, url if isinstance(url, str) and url else None


def _single(
    endpoint: Endpoint, image_id: str, local: LocalFile, progress: ProgressCallback | None
) -> UploadOutcome:
    what = "start the upload"
    data = endpoint.call(
        "POST",
        f"v2/imagefile/{image_id}",
        what,
        body={"filesize": local.size, "md5sum": local.md5, "sha256sum": local.sha256},
        ok=(200, 201),
    )
    url = _presigned(data, "uploadURL", what)
    headers = {"Content-Type": "application/octet-stream"}
    if _signs_sha256(url):
        headers["x-amz-content-sha256"] = local.sha256
    body = FileBody(local.path, length=local.size, progress=progress, opener=local.opener)
    endpoint.exchange(
        "PUT",
        url,
        Call("upload the image", read="nothing"),
        body=body,
        headers=headers,
        authorized=False,
    )
    local.check_unchanged()
    done = endpoint.call(
        "PUT",
        f"v2/imagefile/{image_id}/_complete",
        "complete the upload",
        body={},
        ok=(200, 204),
        allow_empty=True,
    )
    quota, container_url = _quota(done)
    return UploadOutcome("v2", 1, quota, container_url)


@dataclass(frozen=True)
class _Multipart:
    upload_id: str
    total_parts: int
    part_size: int
    s3compliant: bool


def _start_multipart(endpoint: Endpoint, image_id: str, size: int) -> _Multipart | None:
    what = "start the multipart upload"
    url = endpoint.url(f"v2/imagefile/{image_id}/_multipart")
    data = endpoint.exchange(
        "POST", url, Call(what, ok=(200, 201), absent=(404,)), body=encode_json({"filesize": size})
    )
    if data is ABSENT:
        return None
    if not isinstance(data, dict):
        raise ServerError(f"{what}: the answer is not a JSON object")
    upload_id, total, part_size = data.get("uploadID"), data.get("totalParts"), data.get("partSize")
    if not isinstance(upload_id, str) or not upload_id:
        raise ServerError(f"{what}: the server gave no uploadID")
    if not isinstance(total, int) or not isinstance(part_size, int) or part_size <= 0:
        raise ServerError(f"{what}: totalParts/partSize are not positive integers")
    expected = -(-size // part_size)
    # Singularity Registry Server counts one part too many for exact multiples
    # (server-api.md §2.12): the extra part would be empty, and is not sent.
    if total not in {expected, expected + 1}:
        raise ServerError(
            f"{what}: the server wants {total} parts of {part_size} bytes for {size} bytes"
        )
    options = data.get("options")
    flag = options.get("s3compliant") if isinstance(options, dict) else None
    s3compliant = flag in (None, "", "true")
    return _Multipart(upload_id, total, part_size, s3compliant)


def _part_hasher(local: LocalFile, parts: list[Part]) -> PartHasher:
    """The parts' SHA-256, computed on a worker thread ahead of the uploads."""

    def short(done: int, end: int) -> SourceError:
        return SourceError(f"{local.path} shrank while it was being hashed ({done} of {end} bytes)")

    return PartHasher(
        lambda: local.opener(local.path),
        [(part.offset, part.size) for part in parts],
        short=short,
    )


def _retryable(exc: BaseException) -> bool:
    """Connection failures and server-side (5xx) or protocol errors; never a refusal."""
    if isinstance(exc, NotFound | PermissionDenied):
        return False
    if isinstance(exc, TransferError):
        return True
    if isinstance(exc, ServerError):
        return exc.status is None or exc.status >= 500 or exc.status in {408, 429}
    return False


def _send_part(
    endpoint: Endpoint,
    image_id: str,
    local: LocalFile,
    start: _Multipart,
    hashes: PartHasher | None,
) -> Callable[[Part, Callable[[int], None]], str]:
    def send(part: Part, report: Callable[[int], None]) -> str:
        sha256 = ""
        if start.s3compliant:
            whole = part.offset == 0 and part.size == local.size  # the file's own digest
            sha256 = local.sha256 if whole or hashes is None else hashes.digest(part.number - 1)
        what = f"presign part {part.number}"
        data = endpoint.call(
            "PUT",
            f"v2/imagefile/{image_id}/_multipart",
            what,
            body={
                "partSize": part.size,
                "uploadID": start.upload_id,
                "partNumber": part.number,
                "sha256sum": sha256,
            },
            ok=(200, 204),
        )
        url = _presigned(data, "presignedURL", what)
        headers = {"x-amz-content-sha256": sha256} if start.s3compliant else {}
        body = FileBody(
            local.path,
            offset=part.offset,
            length=part.size,
            progress=lambda done, _total: report(done),
            opener=local.opener,
        )
        response = endpoint.send(
            "PUT", url, body=body, headers=headers, authorized=False, retry=False
        )
        with response:
            interpret(response, Call(f"upload part {part.number}", read="nothing"))
            return str(response.headers.get("ETag", ""))

    return send


def _abort(endpoint: Endpoint, image_id: str, upload_id: str) -> None:
    try:
        endpoint.call(
            "PUT",
            f"v2/imagefile/{image_id}/_multipart_abort",
            "abort the multipart upload",
            body={"uploadID": upload_id},
            ok=(200, 204),
            allow_empty=True,
            envelope=False,
        )
    except SregistryError as exc:
        log.warning("aborting the multipart upload failed: %s", exc)


def _multipart(
    endpoint: Endpoint,
    image_id: str,
    local: LocalFile,
    connections: int | None,
    progress: ProgressCallback | None,
) -> UploadOutcome | None:
    start = _start_multipart(endpoint, image_id, local.size)
    if start is None:
        return None
    parts = plan_parts(local.size, start.part_size)
    hashes = _part_hasher(local, parts) if start.s3compliant and len(parts) > 1 else None
    try:
        etags = run_parts(
            parts,
            _send_part(endpoint, image_id, local, start, hashes),
            connections=connections,
            attempts=PART_ATTEMPTS,
            retryable=_retryable,
            progress=progress,
            total=local.size,
            sleep=endpoint.transport.sleep,
        )
        local.check_unchanged()
        done = endpoint.call(
            "PUT",
            f"v2/imagefile/{image_id}/_multipart_complete",
            "complete the multipart upload",
            body={
                "uploadID": start.upload_id,
                "completedParts": [
                    {"partNumber": part.number, "token": etag}
                    for part, etag in zip(parts, etags, strict=True)
                ],
            },
            ok=(200, 204),
            envelope=False,
            allow_empty=True,
        )
    except BaseException:
        _abort(endpoint, image_id, start.upload_id)
        raise
    finally:
        if hashes is not None:
            hashes.close()
    data = done.get("data") if isinstance(done, dict) else None
    quota, container_url = _quota(data)
    return UploadOutcome("multipart", len(parts), quota, container_url)
