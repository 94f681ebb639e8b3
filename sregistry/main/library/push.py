"""The push sequence, in the Go client's order (``library-api.md`` §7.2, §8).

``GET /version`` -> entity, collection, container (each looked up, created on
a **404** only) -> the image looked up by its hash (created on 404) -> the
upload, skipped when the server says the bytes are there -> the tags, v2 with
the arch when the server supports them, else v1 -> every tag read back.

The read-back (``/v1/images``, which is not a download) reports what the
library holds: a tag it did not keep (Singularity Registry Server keeps one
tag per image) or one another push moved meanwhile is
:class:`~sregistry.errors.NotKept`. An upload that ends with an error is looked
up before it is reported as failed: it may have been stored all the same. A
missing entity is explained from the token: one the library does not accept,
or another user's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sregistry.errors import (
    AuthenticationError,
    NotFound,
    NotKept,
    PermissionDenied,
    SregistryError,
    TransferError,
)
from sregistry.main.base import ProgressCallback
from sregistry.main.library.api import (
    ABSENT,
    V2_TAGS,
    V2_UPLOAD,
    Call,
    Refusal,
    SemVer,
    parse_semver,
    supports,
)
from sregistry.main.library.endpoint import Endpoint
from sregistry.main.library.models import Collection, Container, Entity, Image
from sregistry.main.library.refs import LibraryRef
from sregistry.main.library.upload import MULTIPART_THRESHOLD, LocalFile, UploadOutcome, upload
from sregistry.transfer import SourceError
from sregistry.transfer.bodies import Opener, open_binary

__all__ = ["PushOutcome", "api_version", "push_image"]

log = logging.getLogger(__name__)

NO_DESCRIPTION = "No description"
ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class PushOutcome:
    """What one push did."""

    ref: LibraryRef
    image: Image
    local: LocalFile
    upload: UploadOutcome | None
    """``None`` when the server already had the bytes."""
    created_collection: bool
    tags_api: str
    """``v2`` (arch-aware) or ``v1``."""
    warnings: tuple[str, ...] = field(default=())


def api_version(endpoint: Endpoint) -> SemVer | None:
    """The server's ``apiVersion`` (``GET /version``); ``None`` when missing or unusable.

    As in the Go client the HTTP status is ignored: only the JSON counts.
    """
    response = endpoint.send("GET", endpoint.url("version"))
    with response:
        try:
            body = response.json()
        except ValueError:
            return None
    data = body.get("data") if isinstance(body, dict) else None
    version = parse_semver(data.get("apiVersion")) if isinstance(data, dict) else None
    log.debug("library apiVersion: %s", version)
    return version


def _audit() -> dict[str, Any]:
    return {
        "deleted": False,
        "createdBy": "",
        "createdAt": ZERO_TIME,
        "updatedBy": "",
        "updatedAt": ZERO_TIME,
        "deletedBy": "",
        "deletedAt": ZERO_TIME,
        "owner": "",
        "id": "",
    }


def check_token_for(endpoint: Endpoint, name: str) -> None:
    """Why entity ``name`` is missing, when the token says: raise for a token the
    library does not accept (``/v1/token-status`` 404) or one of another user
    (``/v1/entities`` names the token's own entity); return when it cannot tell."""
    response = endpoint.send("GET", endpoint.url("v1/token-status"))
    with response:
        status = response.status_code
    if status in {401, 403, 404}:
        raise AuthenticationError(
            f"the library {endpoint.base} does not accept this token",
            hint="check the library token, or log in to the library again",
            url=endpoint.url("v1/token-status"),
            status=status,
        )
    owner = endpoint.lookup("v1/entities", "look up the token's entity")
    owner_name = owner.get("name") if isinstance(owner, dict) else None
    if isinstance(owner_name, str) and owner_name and owner_name.lower() != name.lower():
        raise PermissionDenied(
            f"this token belongs to {owner_name!r}, who cannot push to the entity {name!r}",
            hint=f"push to library://{owner_name}/..., or use a token of {name!r}",
        )


def ensure_entity(endpoint: Endpoint, name: str) -> Entity:
    """The entity ``name``, created when the server answers 404 (after checking that the
    token is accepted and is not another user's)."""
    what = f"look up entity {name!r}"
    found = endpoint.lookup(f"v1/entities/{name}", what)
    if found is not None:
        return Entity.from_json(found, what)
    check_token_for(endpoint, name)
    body = {
        **_audit(),
        "name": name,
        "description": NO_DESCRIPTION,
        "collections": None,
        "size": 0,
        "quota": 0,
        "defaultPrivate": False,
        "customData": "",
    }
    what = f"create entity {name!r}"
    cannot = Refusal(
        NotFound,
        f"the library has no entity {name!r} and cannot create one",
        hint="on Singularity Registry Server the entity must be your own username",
    )
    created = endpoint.call(
        "POST", "v1/entities", what, body=body, ok=(200, 201), refusals={404: cannot, 405: cannot}
    )
    return Entity.from_json(created, what)


def ensure_collection(
    endpoint: Endpoint, entity: Entity, entity_name: str, name: str, *, private: bool = False
) -> tuple[Collection, bool]:
    """The collection, created (owned by ``entity``) on 404; and whether it was created."""
    what = f"look up collection {entity_name}/{name}"
    found = endpoint.lookup(f"v1/collections/{entity_name}/{name}", what)
    if found is not None:
        return Collection.from_json(found, what), False
    return create_collection(endpoint, entity, name, private=private), True


def create_collection(
    endpoint: Endpoint, entity: Entity, name: str, *, private: bool = False
) -> Collection:
    """``POST /v1/collections`` as the Go client sends it."""
    body = {
        **_audit(),
        "name": name,
        "description": NO_DESCRIPTION,
        "entity": entity.id,
        "containers": None,
        "size": 0,
        "private": private,
        "customData": "",
    }
    what = f"create collection {name!r}"
    created = endpoint.call("POST", "v1/collections", what, body=body, ok=(200, 201))
    return Collection.from_json(created, what)


def ensure_container(endpoint: Endpoint, collection: Collection, ref: LibraryRef) -> Container:
    """The container, created in ``collection`` on 404."""
    what = f"look up container {ref.path}"
    found = endpoint.lookup(f"v1/containers/{ref.path}", what)
    if found is not None:
        return Container.from_json(found, what)
    body = {
        **_audit(),
        "name": ref.container,
        "description": NO_DESCRIPTION,
        "fullDescription": "",
        "collection": collection.id,
        "images": None,
        "imageTags": None,
        "archTags": None,
        "size": 0,
        "downloadCount": 0,
        "stars": 0,
        "private": False,
        "readOnly": False,
        "customData": "",
    }
    what = f"create container {ref.path}"
    return Container.from_json(
        endpoint.call("POST", "v1/containers", what, body=body, ok=(200, 201)), what
    )


def ensure_image(
    endpoint: Endpoint,
    ref: LibraryRef,
    container: Container,
    *,
    sha256: str,
    arch: str,
    description: str,
) -> tuple[Image, bool]:
    """The image with these bytes, looked up by hash, created on 404; and whether created."""
    image_hash = f"sha256.{sha256}"
    what = f"look up image {ref.path}:{image_hash}"
    found = endpoint.lookup(f"v1/images/{ref.path}:{image_hash}", what, params={"arch": arch})
    if found is not None:
        return Image.from_json(found, what), False
    body = {
        **_audit(),
        "hash": image_hash,
        "description": description,
        "container": container.id,
        "blob": "",
        "size": 0,
        "uploaded": False,
        "customData": "",
    }
    what = f"create image {ref.path}:{image_hash}"
    created = endpoint.call("POST", "v1/images", what, body=body, ok=(200, 201))
    return Image.from_json(created, what), True


def apply_tags(
    endpoint: Endpoint,
    version: SemVer | None,
    *,
    container_id: str,
    image_id: str,
    arch: str,
    tags: tuple[str, ...],
) -> str:
    """Point every tag at the image: ``/v2/tags`` (with arch) when supported, else ``/v1/tags``.

    Returns the API used. A server announcing v2 tags but answering 404/405
    to them gets v1 tags.
    """
    what = f"read the tags of container {container_id}"
    if supports(version, V2_TAGS):
        url = endpoint.url(f"v2/tags/{container_id}")
        current = endpoint.exchange("GET", url, Call(what, absent=(404, 405)))
        if current is not ABSENT:
            _log_moves(_tag_map(current, arch=arch), tags, image_id)
            for tag in tags:
                endpoint.call(
                    "POST",
                    f"v2/tags/{container_id}",
                    f"set tag {tag!r} ({arch})",
                    body={"Arch": arch, "Tag": tag, "ImageID": image_id},
                    allow_empty=True,
                )
            return "v2"
        log.debug("the server announced v2 tags but has none: using v1 tags")
    data = endpoint.call("GET", f"v1/tags/{container_id}", what)
    _log_moves(_tag_map(data), tags, image_id)
    for tag in tags:
        endpoint.call(
            "POST",
            f"v1/tags/{container_id}",
            f"set tag {tag!r}",
            body={"Tag": tag, "ImageID": image_id},
            allow_empty=True,
        )
    return "v1"


def _tag_map(data: Any, *, arch: str | None = None) -> dict[str, str]:
    if arch is not None:
        data = data.get(arch) if isinstance(data, dict) else None
    if not isinstance(data, dict):
        return {}
    return {str(tag): str(image) for tag, image in data.items()}


def _log_moves(current: dict[str, str], tags: tuple[str, ...], image_id: str) -> None:
    for tag in tags:
        previous = current.get(tag)
        if previous and previous != image_id:
            log.info("tag %r moves from image %s to image %s", tag, previous, image_id)


def push_image(
    endpoint: Endpoint,
    path: Path,
    ref: LibraryRef,
    *,
    arch: str,
    description: str = "",
    connections: int | None,
    progress: ProgressCallback | None = None,
    opener: Opener = open_binary,
) -> PushOutcome:
    """Push ``path`` as ``ref`` (entity/collection/container and tags).

    The file is read once to hash it before any upload request, then once to
    send it (multipart with per-part digests: once more, to hash each part
    ahead of sending it), each time through ``opener``.
    """
    if not endpoint.has_token:
        raise AuthenticationError(
            f"pushing to {endpoint.base} needs a library token",
            hint="set SREGISTRY_LIBRARY_TOKEN, store one with `sregistry login`, "
            "or `singularity remote login`",
        )
    try:
        return _push(
            endpoint,
            path,
            ref,
            arch=arch,
            description=description,
            connections=connections,
            progress=progress,
            opener=opener,
        )
    except SourceError as exc:
        raise TransferError(
            f"the upload of {path} stopped: {exc}",
            hint="do not change or move the image while pushing it",
        ) from None


def _push(
    endpoint: Endpoint,
    path: Path,
    ref: LibraryRef,
    *,
    arch: str,
    description: str,
    connections: int | None,
    progress: ProgressCallback | None,
    opener: Opener,
) -> PushOutcome:
    assert ref.entity is not None
    assert ref.collection is not None
    version = api_version(endpoint)
    size = path.stat().st_size
    needs_md5 = supports(version, V2_UPLOAD) and size <= MULTIPART_THRESHOLD
    local = LocalFile.hashed(path, md5=needs_md5, opener=opener)
    entity = ensure_entity(endpoint, ref.entity)
    collection, created_collection = ensure_collection(endpoint, entity, ref.entity, ref.collection)
    container = ensure_container(endpoint, collection, ref)
    image, _created = ensure_image(
        endpoint, ref, container, sha256=local.sha256, arch=arch, description=description
    )
    outcome = None
    warnings: list[str] = []
    if image.uploaded is True:
        log.debug("the library already has %s: not uploading", image.hash)
    else:
        try:
            outcome = upload(
                endpoint, image.id, local, version, connections=connections, progress=progress
            )
        except SregistryError as exc:
            # a gateway error after the last step (and the retry it causes) can follow an
            # upload that was stored all the same: look before reporting a failure
            if not _uploaded(endpoint, ref, local, arch):
                raise
            status = f" (HTTP {exc.status})" if exc.status else ""
            warnings.append(
                f"the upload ended with an error{status}, but the library holds the image: verified"
            )
    tags_api = apply_tags(
        endpoint,
        version,
        container_id=container.id,
        image_id=image.id,
        arch=arch,
        tags=ref.push_tags,
    )
    check_tags(endpoint, ref, f"sha256.{local.sha256}", arch)
    return PushOutcome(
        ref, image, local, outcome, created_collection, tags_api, warnings=tuple(warnings)
    )


def _uploaded(endpoint: Endpoint, ref: LibraryRef, local: LocalFile, arch: str) -> bool:
    """Whether the library has the bytes of ``local`` uploaded (after an ambiguous failure)."""
    what = f"look up image {ref.path}:sha256.{local.sha256}"
    path = f"v1/images/{ref.path}:sha256.{local.sha256}"
    found = endpoint.lookup(path, what, params={"arch": arch})
    return found is not None and Image.from_json(found, what).uploaded is True


def check_tags(endpoint: Endpoint, ref: LibraryRef, image_hash: str, arch: str) -> None:
    """Read every pushed tag back: each must name the image just pushed."""
    lost: list[str] = []
    moved: list[str] = []
    for tag in ref.push_tags:
        what = f"read back {ref.path}:{tag}"
        found = endpoint.lookup(f"v1/images/{ref.path}:{tag}", what, params={"arch": arch})
        if found is None:
            lost.append(tag)
        elif Image.from_json(found, what).hash != image_hash:
            moved.append(tag)
    tags = ",".join(ref.push_tags)
    if moved:
        raise NotKept(
            f"{ref.path}:{','.join(moved)} names another image than the one pushed "
            f"({image_hash}): another push moved the tag meanwhile",
            hint=f"pull {ref.path}:{moved[0]} to see what it holds; push again if yours should win",
        )
    if lost and len(lost) < len(ref.push_tags):
        kept = ",".join(t for t in ref.push_tags if t not in lost)
        raise NotKept(
            f"the library kept only {ref.path}:{kept} of the tags {tags}: it did not keep "
            f"{','.join(lost)} (it holds one tag per image, as Singularity Registry Server does)",
            hint="push with one tag; pushing the image again with another tag moves the tag",
        )
    if lost:
        raise NotKept(
            f"the library accepted the push of {ref.path}:{tags} but holds no such tag",
            hint="push again; if it persists, check the library's logs",
        )
