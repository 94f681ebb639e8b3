"""Listing, searching and deleting over the Library API.

What works where (``library-api.md`` §9, §10; ``server-api.md`` §1):

* ``entity/collection/container``: ``GET /v1/containers/...`` gives its tags
  per arch, then ``GET /v1/images/...:<tag>?arch=`` describes each image.
  Works on Sylabs-compatible libraries and Singularity Registry Server.
* ``entity/collection``: ``GET /v1/containers/<entity>/<collection>`` lists
  the containers where the server offers it (Hinkskalle does), else a search
  for the collection's name filtered to it (Sylabs-compatible libraries);
  Singularity Registry Server has neither, and its collection record carries
  image ids but no names, so there a container must be named.
* free text: ``GET /v1/search?value=`` (Sylabs, Hinkskalle); Singularity
  Registry Server has no search (404).
* delete: ``DELETE /v1/images/<ref>?arch=`` must answer exactly 200;
  Singularity Registry Server has no such route.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sregistry.errors import InvalidName, NotFound, ServerError
from sregistry.main.base import ImageInfo
from sregistry.main.library.api import ABSENT, Call, Refusal
from sregistry.main.library.endpoint import Endpoint
from sregistry.main.library.models import Container, Image
from sregistry.main.library.refs import DEFAULT_TAG, LibraryRef, is_hash_tag

__all__ = ["delete_image", "image_info", "list_collection", "list_container", "search"]

log = logging.getLogger(__name__)

MIN_QUERY = 3


def image_info(image: Image, ref: LibraryRef, tag: str, arch: str | None, base: str) -> ImageInfo:
    """An :class:`ImageInfo` for one tag of one image."""
    entity = image.entity_name or ref.entity
    collection = image.collection_name or ref.collection
    owner = "/".join(part for part in (entity, collection) if part)
    return ImageInfo(
        collection=owner or "",
        name=image.container_name or ref.container,
        tag=tag,
        version=image.hash,
        size=image.size,
        frozen=None,
        id=image.id,
        created=image.created,
        arch=image.arch or arch or None,
        location=base,
        metadata={"description": image.description} if image.description else {},
    )


def _container_tags(container: Container) -> list[tuple[str, str]]:
    """``(arch, tag)`` pairs; v1-only tags get the arch ``""`` (any)."""
    pairs = [
        (arch, tag) for arch, tags in sorted(container.arch_tags.items()) for tag in sorted(tags)
    ]
    seen = {tag for _arch, tag in pairs}
    pairs += [("", tag) for tag in sorted(container.image_tags) if tag not in seen]
    return pairs


def list_container(endpoint: Endpoint, ref: LibraryRef, arch: str | None = None) -> list[ImageInfo]:
    """Every tag of one container (optionally one arch, or the ref's tags only)."""
    what = f"look up container {ref.path}"
    found = endpoint.lookup(f"v1/containers/{ref.path}", what)
    if found is None:
        raise NotFound(f"the library has no container {ref.path}")
    container = Container.from_json(found, what)
    wanted = set(ref.tags)
    results: list[ImageInfo] = []
    for tag_arch, tag in _container_tags(container):
        if (wanted and tag not in wanted) or (arch and tag_arch and tag_arch != arch):
            continue
        lookup = LibraryRef(ref.container, ref.collection, ref.entity, (tag,), ref.host)
        what = f"look up image {lookup.api_ref}"
        data = endpoint.lookup(
            f"v1/images/{lookup.api_ref}", what, params={"arch": tag_arch or arch or ""}
        )
        if data is None:
            log.debug("tag %s (%s) listed but not found", tag, tag_arch)
            continue
        results.append(image_info(Image.from_json(data, what), ref, tag, tag_arch, endpoint.base))
    return results


def list_collection(
    endpoint: Endpoint, ref: LibraryRef, arch: str | None = None
) -> list[ImageInfo]:
    """Every tag of every container of ``entity/collection`` (``ref.entity``/``collection``)."""
    path = f"{ref.entity}/{ref.collection}"
    what = f"list the containers of {path}"
    listed = endpoint.lookup(f"v1/containers/{path}", what)
    if listed is None:
        found = _search(endpoint, ref.collection or "", arch)
        if found is not None:
            return [info for info in found if info.collection == path]
        collection = endpoint.lookup(f"v1/collections/{path}", f"look up collection {path}")
        if collection is None:
            raise NotFound(f"the library has no collection {path} (or it is not yours)")
        raise ServerError(
            f"this library cannot list the containers of {path}",
            hint=f"name one: library://{path}/CONTAINER (Singularity Registry Server "
            "cannot list collections through the Library API)",
        )
    if not isinstance(listed, list):
        raise ServerError(f"{what}: the answer is not a list")
    results: list[ImageInfo] = []
    for item in listed:
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name:
            container_ref = LibraryRef(name, ref.collection, ref.entity, (), ref.host)
            results.extend(list_container(endpoint, container_ref, arch))
    return results


def search(endpoint: Endpoint, value: str, arch: str | None = None) -> list[ImageInfo]:
    """``GET /v1/search?value=``: the images matching ``value``, one row per tag."""
    if len(value) < MIN_QUERY:
        raise InvalidName(f"a library search needs at least {MIN_QUERY} characters")
    found = _search(endpoint, value, arch)
    if found is None:
        raise ServerError(
            "this library has no search (HTTP 404)",
            hint="list a container instead: library://entity/collection/container "
            "(Singularity Registry Server has no Library API search)",
            status=404,
        )
    return found


def _search(endpoint: Endpoint, value: str, arch: str | None) -> list[ImageInfo] | None:
    """The search's image rows; ``None`` when the server has no search (404/405)."""
    if len(value) < MIN_QUERY:
        return None
    params = {"value": value}
    if arch:
        params["arch"] = arch
    what = f"search the library for {value!r}"
    call = Call(what, absent=(404, 405))
    data = endpoint.exchange("GET", endpoint.url("v1/search"), call, params=params)
    if data is ABSENT:
        return None
    images = data.get("image") if isinstance(data, dict) else None
    return list(_search_rows(images or [], endpoint.base, what))


def _search_rows(images: Iterable[Any], base: str, what: str) -> Iterable[ImageInfo]:
    for item in images:
        image = Image.from_json(item, what)
        ref = LibraryRef(
            image.container_name or "unknown", image.collection_name, image.entity_name
        )
        for tag in image.tags or (image.hash or DEFAULT_TAG,):
            yield image_info(image, ref, tag, None, base)


def delete_image(endpoint: Endpoint, ref: LibraryRef, arch: str) -> None:
    """``DELETE /v1/images/<ref>?arch=``: exactly 200 is success."""
    if is_hash_tag(ref.tag) and not ref.is_full:
        raise InvalidName("deleting by hash needs library://entity/collection/container:sha256.…")
    unsupported = Refusal(
        ServerError,
        "this library does not delete images",
        hint="Singularity Registry Server's Library API has no DELETE; "
        "delete through its registry API or web interface",
        echo=False,
    )
    call = Call(f"delete {ref.api_ref} ({arch})", read="nothing", refusals={405: unsupported})
    url = endpoint.url(f"v1/images/{ref.api_ref}")
    endpoint.exchange("DELETE", url, call, params={"arch": arch})
