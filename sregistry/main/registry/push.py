"""The two-request registry push, signed at the last moment, verified afterwards.

1. ``POST <root>/api/upload/chunked_upload`` (HMAC ``push``, JSON body) -> ``cid``;
2. ``POST <root>/upload`` (HMAC ``upload``), multipart fields ``SREGISTRY_EVENT``,
   ``name``, ``collection`` (the cid), ``tag``, ``metadata`` (JSON) and
   ``file1``, streamed from disk;
3. ``GET`` the manifest and compare its ``version`` with the local sha256.

Before step 1 the manifest of the tag is read: when it already holds these
bytes nothing is sent (Singularity Registry Server 2.1.2 deletes the stored
file when the same bytes are pushed again to the same tag). Step 3 reports
what the registry holds afterwards: a tag that did not land or was replaced
meanwhile is :class:`~sregistry.errors.NotKept`, metadata it did not keep a
warning. The manifest is the read-back, not the download: it does not count
toward the registry's weekly download limit.

The server checks the hour-granular signature when the upload *ends*. An
upload that runs into the next UTC hour would be refused after every byte was
sent, so it is stopped as soon as the hour turns and sent again with a fresh
signature; a refusal right after an hour boundary is retried once as well.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
import requests.auth

from sregistry.errors import (
    AuthenticationError,
    InvalidName,
    NotFound,
    NotKept,
    SregistryError,
    TransferError,
)
from sregistry.main.base import ProgressCallback
from sregistry.main.registry.api import Exchange, Op, interpret
from sregistry.main.registry.diagnose import Probe, explain_refusal
from sregistry.main.registry.manifest import expected_digest, fetch_manifest
from sregistry.main.registry.signing import Clock, HmacAuth, Signer, utc_hour
from sregistry.main.registry.urls import RegistryUrls
from sregistry.names import ImageName
from sregistry.transfer import Digests, MultipartBody, SourceError, Timeout, Transport
from sregistry.transfer.hashing import Hasher, make_hasher

__all__ = [
    "PushContext",
    "already_there",
    "check_elsewhere",
    "metadata_field",
    "same_tag_elsewhere",
    "start_push",
    "upload",
    "verify_push",
]

log = logging.getLogger("sregistry.registry")

_PROJECT_AFTER = 5.0
"""Seconds of upload before its rate is trusted to project the finish time."""
_AMBIGUOUS_ERRORS = frozenset({500, 502, 503, 504})
"""Answers after which the upload may have been stored all the same: read back first."""
_UPLOAD_READ_TIMEOUT = 600.0
"""Seconds to wait for the answer once a large body is sent (the server stores it first)."""


@dataclass(frozen=True)
class PushContext:
    """What every push step needs."""

    transport: Transport
    urls: RegistryUrls
    signer: Signer
    clock: Clock
    threaded_hash: bool = False
    """Hash the upload on a worker thread (default: inline, see RegistryClient)."""

    def subject(self, ref: ImageName) -> str:
        return f"{ref.collection}/{ref.name}:{ref.tag}"

    def refusal(self, ref: ImageName, exchange: Exchange) -> Exchange:
        """``exchange`` with a refusal explainer (it asks the registry without credentials)."""

        def explain(response: requests.Response) -> SregistryError:
            probe = Probe(self.transport, self.urls, self.signer.username)
            return explain_refusal(response, exchange, probe=probe, collection=ref.collection)

        return replace(exchange, refusal=explain)


class _HeaderAuth(requests.auth.AuthBase):
    """A header computed once (it must match the form field that repeats it)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.value
        return request


class _HourTurned(Exception):
    """The upload ran into the next UTC hour: its signature will be refused."""


class _HourGuard:
    """Watches an upload's blocks: stops it when the hour turns, warns when it will."""

    def __init__(self, signed_at: float, clock: Clock, total: int, warnings: list[str]) -> None:
        self.signed_at = signed_at
        self.hour = utc_hour(signed_at)
        self.clock = clock
        self.total = total
        self.done = 0
        self.warnings = warnings
        self.warned = False

    def __call__(self, block: bytes) -> None:
        now = self.clock()
        if utc_hour(now) != self.hour:
            raise _HourTurned
        self.done += len(block)
        elapsed = now - self.signed_at
        if self.warned or elapsed < _PROJECT_AFTER or self.done >= self.total:
            return
        finish = now + (self.total - self.done) * elapsed / self.done
        if utc_hour(finish) != self.hour:
            self.warned = True
            boundary = datetime.fromtimestamp((self.hour + 1) * 3600, tz=timezone.utc)
            message = (
                f"at the current rate this upload ends after {boundary:%H:%M} UTC, when its "
                "hour-bound signature expires; it will be sent again, freshly signed, once the "
                "hour turns"
            )
            log.info(message)
            self.warnings.append(message)


def start_push(ctx: PushContext, ref: ImageName) -> int:
    """Step 1: announce the push; the registry answers the collection id."""
    auth = HmacAuth(ctx.signer, "push", ref.collection, ref.name, ref.tag)
    for attempt in (1, 2):
        response = ctx.transport.request(
            "POST",
            ctx.urls.push_start(),
            auth=auth,
            json={"collection": ref.collection, "name": ref.name, "tag": ref.tag},
            retry=False,
        )
        exchange = Exchange(
            Op.PUSH_START,
            ctx.subject(ref),
            user=ctx.signer.username,
            signed_at=auth.signed_at,
            now=ctx.clock(),
        )
        try:
            data = interpret(response, ctx.refusal(ref, exchange))
        except AuthenticationError:
            if attempt == 1 and _hour_turned(exchange):
                continue
            raise
        return int(data["cid"])
    raise AssertionError("unreachable")


def _hour_turned(exchange: Exchange) -> bool:
    return (
        exchange.signed_at is not None
        and exchange.now is not None
        and utc_hour(exchange.signed_at) != utc_hour(exchange.now)
    )


def _send(
    ctx: PushContext,
    ref: ImageName,
    *,
    cid: int,
    path: Path,
    metadata: str,
    hasher: Hasher,
    progress: ProgressCallback | None,
    warnings: list[str],
) -> tuple[requests.Response, Exchange]:
    header, signed_at = ctx.signer.header("upload", ref.collection, ref.name, ref.tag)
    guard = _HourGuard(signed_at, ctx.clock, path.stat().st_size, warnings)

    def on_block(block: bytes) -> None:
        guard(block)
        hasher.update(block)

    body = MultipartBody(
        [
            ("SREGISTRY_EVENT", header),
            ("name", ref.name),
            ("collection", str(cid)),
            ("tag", ref.tag),
            ("metadata", metadata),
        ],
        file_field="file1",
        path=path,
        filename=f"{ref.name}:{ref.tag}.sif",
        on_block=on_block,
        progress=progress,
    )
    timeout = ctx.transport.timeout
    response = ctx.transport.request(
        "POST",
        ctx.urls.upload(),
        auth=_HeaderAuth(header),
        headers={"Content-Type": body.content_type},
        data=body,
        retry=False,
        timeout=Timeout(timeout.connect, max(timeout.read, _UPLOAD_READ_TIMEOUT)),
    )
    exchange = Exchange(
        Op.UPLOAD, ctx.subject(ref), user=ctx.signer.username, signed_at=signed_at, now=ctx.clock()
    )
    return response, exchange


def upload(
    ctx: PushContext,
    ref: ImageName,
    cid: int,
    path: Path,
    metadata: Mapping[str, Any],
    *,
    progress: ProgressCallback | None,
    warnings: list[str],
) -> Digests:
    """Step 2: stream the file; the digests of what was sent."""
    metadata_json = json.dumps(metadata, separators=(",", ":"), sort_keys=True)
    for attempt in (1, 2):
        hasher = make_hasher(threaded=ctx.threaded_hash)
        exchange: Exchange | None = None
        try:
            response, exchange = _send(
                ctx,
                ref,
                cid=cid,
                path=path,
                metadata=metadata_json,
                hasher=hasher,
                progress=progress,
                warnings=warnings,
            )
            if response.status_code in _AMBIGUOUS_ERRORS:
                digests = hasher.result()
                if _holds(ctx, ref, path, digests):
                    response.close()
                    warnings.append(
                        f"the registry answered HTTP {response.status_code} to the upload, but "
                        "it holds the image: verified"
                    )
                    return digests
            interpret(response, ctx.refusal(ref, exchange))
        except _HourTurned:
            hasher.close()
            if attempt == 2:
                raise TransferError(
                    f"the upload of {ctx.subject(ref)} takes more than an hour",
                    hint="the registry accepts a signature only within the UTC hour it was made, "
                    "so an upload this slow cannot succeed; push from a faster connection",
                ) from None
            warnings.append(
                "the upload ran into the next UTC hour, past its signature: sent again, "
                "freshly signed"
            )
            continue
        except SourceError as exc:
            hasher.close()
            raise TransferError(
                f"the upload of {ctx.subject(ref)} stopped: {exc}",
                hint="do not change or move the image while pushing it",
            ) from None
        except AuthenticationError:
            hasher.close()
            if attempt == 1 and exchange is not None and _hour_turned(exchange):
                warnings.append(
                    "the registry refused the upload's signature, made before the UTC hour "
                    "turned: sent again, freshly signed"
                )
                continue
            raise
        except BaseException:
            hasher.close()
            raise
        return hasher.result()
    raise AssertionError("unreachable")


def _local_md5(path: Path) -> str:
    hasher = make_hasher(md5=True, threaded=False)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            hasher.update(block)
    md5 = hasher.result().md5
    assert md5 is not None
    return md5


def already_there(ctx: PushContext, ref: ImageName, path: Path) -> tuple[str, str] | None:
    """``(version, sha256)`` when the tag already holds exactly the bytes of ``path``.

    A tag that cannot be read (missing, or not readable with these credentials)
    is pushed as usual: the push reports its own errors.
    """
    try:
        manifest = fetch_manifest(ctx.transport, ctx.urls, ref, signer=ctx.signer, clock=ctx.clock)
    except SregistryError as exc:
        log.debug("before pushing, %s could not be read: %s", ctx.subject(ref), exc)
        return None
    version = manifest.get("version")
    expected = expected_digest(version)
    if expected.sha256 is None and expected.md5 is None:
        return None
    hasher = make_hasher(md5=expected.md5 is not None, threaded=False)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            hasher.update(block)
    local = hasher.result()
    same = expected.sha256 == local.sha256 if expected.sha256 else expected.md5 == local.md5
    return (str(version), local.sha256) if same else None


def same_tag_elsewhere(ctx: PushContext, ref: ImageName) -> dict[str, str]:
    """``{container id: uri}`` of public containers called ``name:tag`` in other collections
    (best effort: ``{}`` when the search fails). Singularity Registry Server 2.1.2 does not
    scope tags by collection: a push may delete these."""
    url = ctx.urls.search(collection=None, name=ref.name, tag=ref.tag)
    try:
        response = ctx.transport.request("GET", url)
        rows = interpret(response, Exchange(Op.SEARCH, f"{ref.name}:{ref.tag}"))
    except SregistryError as exc:
        log.debug("the search for %s:%s failed: %s", ref.name, ref.tag, exc)
        return {}
    found: dict[str, str] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or row.get("id") is None:
            continue
        collection = row.get("collection")
        if collection == ref.collection:
            continue
        where = collection if isinstance(collection, str) else "another collection"
        found[str(row["id"])] = f"{where}/{ref.name}:{ref.tag}"
    return found


def check_elsewhere(
    ctx: PushContext, ref: ImageName, before: Mapping[str, str], warnings: list[str]
) -> None:
    """A warning for each ``before`` container the push made disappear."""
    if not before:
        return
    after = same_tag_elsewhere(ctx, ref)
    for container_id, uri in before.items():
        if container_id not in after:
            warnings.append(
                f"the registry deleted {uri} when {ctx.subject(ref)} was pushed (it does not "
                "scope tags by collection)"
            )


def verify_push(
    ctx: PushContext,
    ref: ImageName,
    path: Path,
    digests: Digests,
    warnings: list[str],
    *,
    metadata_sent: bool = False,
) -> str | None:
    """Step 3: the version the registry recorded, checked against what was sent; a warning
    when metadata was sent and the registry kept none."""
    subject = ctx.subject(ref)
    try:
        manifest = fetch_manifest(ctx.transport, ctx.urls, ref, signer=ctx.signer, clock=ctx.clock)
    except NotFound:
        raise NotKept(
            f"the registry accepted the upload of {subject} but does not hold that tag",
            hint="push again; if it persists, the registry is dropping the upload (check its logs)",
        ) from None
    version = manifest.get("version")
    expected = expected_digest(version)
    if expected.sha256 is not None:
        if expected.sha256 != digests.sha256:
            raise NotKept(
                f"{subject} holds other bytes (version {version}) than were pushed "
                f"(sha256.{digests.sha256}): another push replaced it meanwhile",
                hint=f"pull {subject} to see what it holds; push again if yours should win",
            )
    elif expected.md5 is not None:
        if expected.md5 != _local_md5(path):
            raise NotKept(
                f"{subject} holds other bytes (md5 {version}) than were pushed: another push "
                "replaced it meanwhile",
                hint=f"pull {subject} to see what it holds; push again if yours should win",
            )
        warnings.append(
            "the registry has not computed its sha256 yet; the upload was verified with its md5"
        )
    else:
        warnings.append(
            f"the registry reports no checksum for {subject} (version {version!r}); "
            "the upload could not be verified"
        )
    if metadata_sent and not manifest.get("metadata"):
        warnings.append(
            "the registry did not keep the image's metadata (labels, scripts, definition "
            "file): `list` and `labels` read them from the image instead"
        )
    return None if version is None else str(version)


def _holds(ctx: PushContext, ref: ImageName, path: Path, digests: Digests) -> bool:
    """Whether the registry holds exactly ``path`` as ``ref`` (after an ambiguous failure:
    large uploads can outlast a proxy's timeout and still land)."""
    try:
        manifest = fetch_manifest(ctx.transport, ctx.urls, ref, signer=ctx.signer, clock=ctx.clock)
    except SregistryError:
        return False
    expected = expected_digest(manifest.get("version"))
    if expected.sha256 is not None:
        return expected.sha256 == digests.sha256
    return expected.md5 is not None and expected.md5 == _local_md5(path)


def metadata_field(
    path: Path, metadata: Mapping[str, Any] | None, *, inspect: bool, warnings: list[str]
) -> dict[str, Any]:
    """The ``metadata`` form field: as given, else the image's own, else ``{}``."""
    if metadata is not None:
        found: dict[str, Any] = dict(metadata)
    elif not inspect:
        return {}
    else:
        from sregistry.metadata import inspect_image

        try:
            result = inspect_image(path)
            found = dict(result.upload_metadata())
        except Exception as exc:  # noqa: BLE001 - reading metadata never blocks a push
            warnings.append(f"image metadata was not sent: {exc}")
            return {}
        warnings.extend(f"image metadata: {item}" for item in result.warnings)
    try:
        json.dumps(found)
    except (TypeError, ValueError) as exc:
        raise InvalidName(f"the metadata is not JSON-serialisable: {exc}") from None
    return found
