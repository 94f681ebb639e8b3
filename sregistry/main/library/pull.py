"""The pull sequence (``library-api.md`` §6): image record, then its file.

1. ``GET /v1/images/<path>:<tag>?arch=`` gives the image's ``hash`` (and
   maybe ``size``); 404 stops the pull.
2. ``GET /v1/imagefile/<path>:<tag>?arch=`` (asking for the first part with
   ``Range``, redirects not followed):

   * **303/302/307/301/308** -> the absolute (or resolved) ``Location`` is
     downloaded **without the token**, even on the library's own host (as
     the Go client 1.2 does: redirect targets are presigned URLs);
   * **206** -> the library serves ranges itself: parallel parts from there;
   * **200** -> one stream (Range ignored);
   * **404** -> not found; anything else -> the matching error.

3. The bytes are checked against ``sha256.<hex>`` (and ``size`` when known)
   before the file is renamed into place, with or without parts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin

import requests

from sregistry.errors import NotFound
from sregistry.main.base import ProgressCallback
from sregistry.main.library.api import Call, Refusal, interpret, redact_url
from sregistry.main.library.endpoint import Endpoint
from sregistry.main.library.models import Image
from sregistry.main.library.refs import LibraryRef
from sregistry.transfer import Download, Downloaded, Expected
from sregistry.transfer.ranged import Ranges, download_ranged, probe_headers
from sregistry.transfer.remote_file import RemoteFile

__all__ = ["PullOutcome", "get_image", "open_image_file", "pull_image", "store_name"]

log = logging.getLogger(__name__)

_BELOW_400 = range(100, 400)


@dataclass(frozen=True)
class PullOutcome:
    """What one pull fetched and how."""

    downloaded: Downloaded
    parts: int
    """Ranged parts fetched; 0 for one plain stream."""
    redirected: bool
    warnings: tuple[str, ...] = ()


def _query(arch: str) -> str:
    return "?arch=" + quote(arch, safe="")


def get_image(endpoint: Endpoint, ref: LibraryRef, arch: str) -> Image:
    """The image record for ``ref`` (its first tag, or hash) and ``arch``."""
    what = f"look up image {ref.api_ref} ({arch})"
    found = endpoint.lookup(f"v1/images/{ref.api_ref}", what, params={"arch": arch})
    if found is None:
        hint = (
            "check the name and tag "
            "(`sregistry list library://entity/collection/container`), or ask for another arch"
        )
        if not endpoint.has_token:
            hint += "; if it is private, a token may be needed"
        raise NotFound(
            f"the image {ref.api_ref} ({arch}) does not exist in the library {endpoint.base}",
            hint=hint,
        )
    image = Image.from_json(found, what)
    if image.arch and arch and image.arch != arch:  # a server that ignores ?arch= (sregistry)
        raise NotFound(
            f"the image {ref.api_ref} is {image.arch}, not {arch}, in the library {endpoint.base}",
            hint=f"ask for the arch {image.arch}, or push an {arch} image",
        )
    return image


def store_name(ref: LibraryRef, image: Image) -> str:
    """The local store's name for a pulled image: ``entity/collection+container:tag``.

    The store names images ``collection/name:tag``; a library path has three
    parts. ``+`` never occurs in library names, so joining collection and
    container with it is unambiguous; the entity becomes the store's
    collection (``.`` and ``_`` in it read as ``-``, as registry collections
    are normalised). Parts a short reference leaves out come from the image
    record, else Singularity's defaults (``library``, ``default``). The tag is
    the one pulled (a hash tag stays ``sha256.<hex>``). Which library it came
    from is kept apart, as the row's ``source``.
    """
    entity = ref.entity or image.entity_name or "library"
    collection = ref.collection or image.collection_name or "default"
    return f"{entity}/{collection}+{ref.container}:{ref.tag}"


def pull_image(
    endpoint: Endpoint,
    ref: LibraryRef,
    image: Image,
    target: Path,
    *,
    arch: str,
    force: bool,
    connections: int | None,
    part_size: int,
    threshold: int,
    progress: ProgressCallback | None = None,
) -> PullOutcome:
    """Download ``image`` (the record of ``ref``) to ``target`` (a file path), verified."""
    warnings: list[str] = []
    if image.sha256 is None:
        warnings.append(
            f"the library gives no sha256 for this image (hash {image.hash!r}): "
            "the download could not be verified"
        )
    size = image.size if image.size and image.size > 0 else None
    expected = Expected(size=size, sha256=image.sha256)
    url = endpoint.url(f"v1/imagefile/{ref.api_ref}") + _query(arch)
    answer = endpoint.send("GET", url, headers=probe_headers(part_size), stream=True)
    redirected = answer.is_redirect
    what = f"download {ref.api_ref} ({arch})"
    first: requests.Response | None = answer
    if redirected:
        answer.close()
        url = urljoin(url, answer.headers["Location"])
        log.debug("image file at %s", redact_url(url))
        first = None
    else:
        no_file = Refusal(NotFound, f"{what}: the library has the image record but not its file")
        try:
            interpret(answer, Call(what, ok=(200, 206), read="nothing", refusals={404: no_file}))
        except BaseException:
            answer.close()
            raise
    missing = Refusal(NotFound, f"{what}: the image file is missing")
    streamed = Call(what, ok=_BELOW_400, read="nothing", refusals={404: missing})

    def check(response: requests.Response) -> None:
        interpret(response, streamed)

    job = Download(
        url=url,
        target=target,
        expected=expected,
        overwrite=force,
        progress=progress,
        check=check,
        auth=None if redirected else endpoint.auth_for(url),
        log_as=redact_url(url),
    )
    ranges = Ranges(connections=connections, part_size=part_size, threshold=threshold)
    result = download_ranged(endpoint.transport, job, ranges, first=first)
    return PullOutcome(result.downloaded, result.parts, redirected, tuple(warnings))


def open_image_file(endpoint: Endpoint, ref: LibraryRef, arch: str, max_bytes: int) -> RemoteFile:
    """The image file of ``ref`` read in ranges: from the library itself (with
    the token) or from where it redirects (without it), at most ``max_bytes``."""
    url = endpoint.url(f"v1/imagefile/{ref.api_ref}") + _query(arch)
    what = f"read {ref.api_ref} ({arch})"
    missing = Refusal(NotFound, f"{what}: the image file is missing")
    call = Call(what, ok=(200, 206), read="nothing", refusals={404: missing})

    def check(response: requests.Response) -> None:
        interpret(response, call)

    return RemoteFile(
        endpoint.transport,
        url,
        auth=endpoint.auth_for(url),
        check=check,
        name=str(ref),
        max_bytes=max_bytes,
    )
