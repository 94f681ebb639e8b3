"""Blobs: exists?, cross-repository mount, uploads that resume, verified downloads.

Uploads (:func:`push_blob`), after a ``HEAD`` found the blob missing:

* a mount from another repository (``POST ?mount=DIGEST&from=REPO``) when the
  caller names one; 201 ends there, 202 gives an upload URL to use instead
  (and a mount the credentials may not do is tried again as a plain upload);
* up to ``chunk_size`` bytes: one ``PUT <Location>?digest=`` with the body;
* more: ``PATCH`` chunks with ``Content-Range: START-END``, each continuing at
  the **last** ``Location`` the registry returned, then ``PUT ?digest=``.

When a chunk is cut off, the registry is asked (``GET <Location>``) how much it
holds, and the upload goes on from there with the ``Location`` of that answer.
A registry that dropped the upload (404, as Distribution does when a cut chunk
left part of its bytes behind) gets a new upload from byte 0. Both are bounded.

Reads in place (:func:`open_blob`) ask for byte ranges of the blob; a
redirect to storage is followed without the registry's ``Authorization``.

Downloads (:func:`download_blob`) stream into a temporary file beside the
target, hashing in the same pass, resume with ``Range`` and are renamed into
place only when size and sha256 match the manifest.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urljoin

from sregistry.errors import (
    AuthenticationError,
    NotFound,
    PermissionDenied,
    ServerError,
    TransferError,
)
from sregistry.main.oras.api import Op, interpret
from sregistry.main.oras.auth import repository_scope
from sregistry.transfer.bodies import FileBody
from sregistry.transfer.download import Download, Expected, download
from sregistry.transfer.remote_file import RemoteFile

if TYPE_CHECKING:
    import requests

    from sregistry.main.oras.manifest import Descriptor
    from sregistry.main.oras.session import RegistrySession
    from sregistry.transfer.download import Downloaded

__all__ = [
    "CHUNK_SIZE",
    "BlobSource",
    "UploadResult",
    "blob_size",
    "download_blob",
    "open_blob",
    "push_blob",
]

log = logging.getLogger("sregistry.oras")

CHUNK_SIZE = 64 << 20
"""Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size."""
RESUME_ATTEMPTS = 5
"""Times one upload may be resumed after a cut (each after asking the registry)."""
RESTARTS = 2
"""Times an upload the registry dropped is begun again from byte 0."""
_RANGE = re.compile(r"^\s*(?:bytes=)?(\d+)-(\d+)\s*$")
_OCTETS = "application/octet-stream"

Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class BlobSource:
    """What to upload: a file (streamed) or a few bytes in memory."""

    digest: str
    size: int
    path: Path | None = None
    data: bytes | None = None

    def body(self, offset: int, length: int, progress: Progress | None) -> FileBody | bytes:
        if self.data is not None:
            return self.data[offset : offset + length]
        assert self.path is not None
        return FileBody(self.path, offset=offset, length=length, progress=progress)


@dataclass(frozen=True)
class UploadResult:
    """How a blob reached the registry."""

    digest: str
    size: int
    existed: bool = False
    mounted: bool = False
    chunks: int = 0
    """PATCH requests that succeeded (0 for a single PUT)."""
    resumed: int = 0
    """Times the upload went on from what the registry said it held."""
    restarts: int = 0
    """Times the registry had dropped the upload and it began again."""


def _subject(session: RegistrySession, repository: str, digest: str) -> str:
    return f"oras://{session.registry}/{repository}@{digest}"


def blob_size(session: RegistrySession, repository: str, digest: str) -> int | None:
    """The size of a blob in ``repository`` (``HEAD``), or ``None`` when it is not there."""
    try:
        response = session.send(
            "HEAD",
            f"/v2/{repository}/blobs/{digest}",
            op=Op.BLOB_CHECK,
            subject=_subject(session, repository, digest),
            scopes=[repository_scope(repository, "pull", "push")],
        )
    except NotFound:
        return None
    response.close()
    length = response.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else 0


def _location(response: requests.Response, session: RegistrySession, where: str) -> str:
    location = response.headers.get("Location")
    response.close()
    if not location:
        raise ServerError(f"the registry answered {where} without an upload Location")
    return urljoin(response.url or session.base_url + "/", location)  # may be relative


def _with_digest(location: str, digest: str) -> str:
    return location + ("&" if "?" in location else "?") + urlencode({"digest": digest})


def _range_end(response: requests.Response) -> int | None:
    """The next offset a ``Range: 0-END`` answer means (``None`` without one)."""
    match = _RANGE.match(response.headers.get("Range", ""))
    return int(match.group(2)) + 1 if match else None


class _Upload:
    """One upload session: its last Location and how far the registry got."""

    def __init__(
        self,
        session: RegistrySession,
        repository: str,
        source: BlobSource,
        *,
        chunk_size: int,
        progress: Progress | None,
        location: str,
    ) -> None:
        self.session = session
        self.repository = repository
        self.source = source
        self.chunk_size = chunk_size
        self.progress = progress
        self.location = location
        self.offset = 0
        self.chunks = 0
        self.resumed = 0
        self.subject = _subject(session, repository, source.digest)
        self.scopes = [repository_scope(repository, "pull", "push")]

    def _report(self, base: int) -> Progress | None:
        outer, total = self.progress, self.source.size
        if outer is None:
            return None
        return lambda done, _length: outer(base + done, total)

    def single_put(self) -> None:
        """The whole blob in the closing PUT."""
        source = self.source
        response = self.session.send(
            "PUT",
            _with_digest(self.location, source.digest),
            op=Op.UPLOAD,
            subject=self.subject,
            scopes=self.scopes,
            expect=(201,),
            headers={"Content-Type": _OCTETS},
            data=source.body(0, source.size, self._report(0)),
            retry=False,
        )
        response.close()

    def chunked(self) -> None:
        """PATCH chunks (resuming after cuts), then the closing PUT."""
        attempts = 0
        while self.offset < self.source.size:
            try:
                self._patch()
            except TransferError as exc:
                attempts += 1
                if attempts > RESUME_ATTEMPTS:
                    raise
                log.debug("upload of %s cut at %d: %s", self.subject, self.offset, exc)
                self.session.transport.sleep(self.session.transport.retry.backoff_delay(attempts))
                self._ask_offset()
        response = self.session.send(
            "PUT",
            _with_digest(self.location, self.source.digest),
            op=Op.UPLOAD,
            subject=self.subject,
            scopes=self.scopes,
            expect=(201,),
            headers={"Content-Type": _OCTETS, "Content-Length": "0"},
            data=b"",
        )
        response.close()

    def _patch(self) -> None:
        start = self.offset
        length = min(self.chunk_size, self.source.size - start)
        response = self.session.send(
            "PATCH",
            self.location,
            op=Op.UPLOAD,
            subject=self.subject,
            scopes=self.scopes,
            expect=(202,),
            headers={"Content-Type": _OCTETS, "Content-Range": f"{start}-{start + length - 1}"},
            data=self.source.body(start, length, self._report(start)),
            retry=False,
        )
        end = _range_end(response)
        self.location = _location(response, self.session, f"a chunk of {self.subject}")
        self.offset = start + length if end is None else end
        self.chunks += 1

    def _ask_offset(self) -> None:
        """``GET <Location>``: continue where the registry says (NotFound: it dropped it)."""
        try:
            response = self.session.send(
                "GET",
                self.location,
                op=Op.UPLOAD_STATUS,
                subject=self.subject,
                scopes=self.scopes,
                expect=(204,),
            )
        except TransferError:
            return  # still unreachable: the next PATCH try finds out again
        end = _range_end(response)
        if response.headers.get("Location"):
            self.location = _location(response, self.session, f"the upload of {self.subject}")
        else:
            response.close()
        if end is not None:
            # Distribution answers 0-0 for an empty upload too
            self.offset = 0 if end == 1 and self.offset == 0 else end
        self.resumed += 1
        log.debug("resuming the upload of %s at byte %d", self.subject, self.offset)


def _start(
    session: RegistrySession, repository: str, source: BlobSource, mount_from: str | None
) -> tuple[str | None, bool]:
    """``(Location, mounted)``: a new upload, or a mount that succeeded (no Location).

    A mount the credentials may not do (no pull on ``mount_from``: a 401 or
    403) becomes a plain upload."""
    if mount_from and mount_from != repository:
        try:
            return _post_upload(session, repository, source, mount_from)
        except (AuthenticationError, PermissionDenied) as exc:
            log.debug("no mount of %s from %s (%s): uploading", source.digest, mount_from, exc)
    return _post_upload(session, repository, source, None)


def _post_upload(
    session: RegistrySession, repository: str, source: BlobSource, mount_from: str | None
) -> tuple[str | None, bool]:
    subject = _subject(session, repository, source.digest)
    scopes = [repository_scope(repository, "pull", "push")]
    params: dict[str, str] = {}
    if mount_from:
        params = {"mount": source.digest, "from": mount_from}
        scopes.append(repository_scope(mount_from, "pull"))
    response = session.send(
        "POST",
        f"/v2/{repository}/blobs/uploads/",
        op=Op.MOUNT if params else Op.UPLOAD,
        subject=subject,
        scopes=scopes,
        expect=(201, 202),
        params=params or None,
        headers={"Content-Length": "0"},
        data=b"",
    )
    if response.status_code == 201:
        response.close()
        return None, True
    return _location(response, session, f"the start of the upload of {subject}"), False


def push_blob(
    session: RegistrySession,
    repository: str,
    source: BlobSource,
    *,
    mount_from: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> UploadResult:
    """Make sure ``repository`` has the blob: skip, mount, or upload (resuming)."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    if blob_size(session, repository, source.digest) is not None:
        if progress is not None:
            progress(source.size, source.size)
        return UploadResult(source.digest, source.size, existed=True)
    restarts = 0
    while True:
        location, mounted = _start(session, repository, source, mount_from)
        if mounted or location is None:
            if progress is not None:
                progress(source.size, source.size)
            return UploadResult(source.digest, source.size, mounted=True)
        upload = _Upload(
            session,
            repository,
            source,
            chunk_size=chunk_size,
            progress=progress,
            location=location,
        )
        try:
            if source.size <= chunk_size:
                upload.single_put()
            else:
                upload.chunked()
        except (NotFound, TransferError) as exc:
            if blob_size(session, repository, source.digest) is not None:
                # the closing PUT arrived but its answer did not: the blob is there
                return UploadResult(source.digest, source.size, chunks=upload.chunks)
            restarts += 1
            if restarts > RESTARTS:
                raise
            log.debug("the upload of %s failed (%s): starting again", upload.subject, exc)
            continue
        return UploadResult(
            source.digest,
            source.size,
            chunks=upload.chunks,
            resumed=upload.resumed,
            restarts=restarts,
        )


def download_blob(
    session: RegistrySession,
    repository: str,
    descriptor: Descriptor,
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> Downloaded:
    """GET a blob into ``target``, verified against the descriptor's size and sha256."""
    subject = _subject(session, repository, descriptor.digest)
    scopes = [repository_scope(repository, "pull")]
    session.probe(scopes)
    auth = session.auth_for(scopes)
    exchange = session.exchange(
        Op.BLOB_GET, subject, authenticated=auth is not None and session.auth.has_credentials
    )
    job = Download(
        url=session.url(f"/v2/{repository}/blobs/{descriptor.digest}"),
        target=Path(target),
        expected=Expected(size=descriptor.size, sha256=descriptor.digest.removeprefix("sha256:")),
        overwrite=overwrite,
        progress=progress,
        check=lambda response: interpret(response, exchange, (200, 206)),
        auth=auth,
        log_as=subject,
    )
    return download(session.transport, job)


def open_blob(
    session: RegistrySession, repository: str, descriptor: Descriptor, *, max_bytes: int
) -> RemoteFile:
    """A blob as a file read in ``Range`` requests (at most ``max_bytes`` received).

    The registry's credentials go with the requests to the registry only: the
    file drops them when the registry redirects to a storage host.
    """
    subject = _subject(session, repository, descriptor.digest)
    scopes = [repository_scope(repository, "pull")]
    session.probe(scopes)
    auth = session.auth_for(scopes)
    exchange = session.exchange(
        Op.BLOB_GET, subject, authenticated=auth is not None and session.auth.has_credentials
    )
    return RemoteFile(
        session.transport,
        session.url(f"/v2/{repository}/blobs/{descriptor.digest}"),
        auth=auth,
        check=lambda response: interpret(response, exchange, (200, 206)),
        name=subject,
        max_bytes=max_bytes,
    )
