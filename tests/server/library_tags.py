"""Library tags: ``/v1/tags/<collection id>`` and ``/v2/tags/<collection id>``.

GETs always answer 200 with the collection's map; POST bodies have
capitalised keys and v1 POSTs need no Content-Type (``*/*`` or none; anything
else gets DRF's 415, R11). Unlike the real server, a POST is scoped to the
collection in the URL, owner-only and respects frozen tags (B10), and a tag
applied to an image that already carries another tag gets a row of its own,
so ``push ...:v1,latest`` keeps both (the real server moves the tag: quirk
9). v2 POSTs record the image's arch (B13).
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from tests.server import queries as db_ops
from tests.server.context import Context, Route, unsafe_name, with_slash
from tests.server.library_api import visible
from tests.server.store import HOLDER_PREFIX, Collection
from tests.server.wire import BadBody, empty, json_body, json_response, not_found_html

__all__ = ["ROUTES", "apply_tag"]


def _tag_collection(ctx: Context, collection_id: int) -> Collection | Response:
    user = ctx.bearer_user()
    if user is None:
        return empty(403)
    with ctx.store.read() as db:
        found = db_ops.collection_by_id(db, collection_id)
    if found is None or not found.can_read(user):
        return empty(404)
    return found


def tags_v1(ctx: Context, collection_id: int) -> Response:
    """``{"data": {tag: image id}}`` over the collection (always 200 when it exists)."""
    found = _tag_collection(ctx, collection_id)
    if isinstance(found, Response):
        return found
    with ctx.store.read() as db:
        rows = visible(db_ops.containers_of(db, found.id))
    return json_response({"data": {c.tag: str(c.id) for c in rows}})


def tags_v2(ctx: Context, collection_id: int) -> Response:
    """``{"data": {arch: {tag: image id}}}`` over the collection (quirk 7: a 404 page)."""
    if ctx.config.quirks.no_v2_tags:
        return not_found_html()
    found = _tag_collection(ctx, collection_id)
    if isinstance(found, Response):
        return found
    with ctx.store.read() as db:
        rows = visible(db_ops.containers_of(db, found.id))
    by_arch: dict[str, dict[str, str]] = {}
    for row in rows:
        by_arch.setdefault(row.arch or "amd64", {})[row.tag] = str(row.id)
    return json_response({"data": by_arch})


def _frozen_message() -> Response:
    return json_response({"message": "This tag exists, and is frozen."}, 400)


def apply_tag(ctx: Context, collection: Collection, image_id: int, tag: str, arch: str) -> Response:
    """Point ``tag`` at an uploaded image of ``collection`` (200, empty body).

    An existing unfrozen row with that tag is replaced; a frozen one wins (400)
    and an untagged holder is then dropped, as the real server does.
    """
    with ctx.store.write() as db:
        image = db_ops.container_by_id(db, image_id)
        if image is None or image.collection_id != collection.id:
            return empty(404)
        if not image.uploaded:
            return json_response({"message": "This image has not been uploaded."}, 400)
        if arch and arch != image.arch:
            db_ops.update_container(db, image.id, arch=arch)
            image = db_ops.container_by_id(db, image.id)
            assert image is not None
        existing = db_ops.find_container(db, collection.id, image.name, tag)
        if existing is not None and existing.id == image.id:
            return empty(200)
        if existing is not None and existing.frozen:
            if image.holder:
                db_ops.delete_container(ctx.store, db, image)
            return _frozen_message()
        if existing is not None:
            db_ops.delete_container(ctx.store, db, existing, release=False)
        if image.holder or ctx.config.quirks.one_tag_per_image:
            db_ops.update_container(db, image.id, tag=tag)  # quirk 9: the tag moves
        else:
            copy = db_ops.insert_container(
                db,
                collection.id,
                image.name,
                tag,
                version=image.version,
                size=image.size,
                blob=image.blob,
                metadata=image.metadata,
                arch=image.arch,
            )
            db_ops.set_labels(db, copy.id, db_ops.labels_of(db, image.id))
        if existing is not None:
            ctx.store.release_blob(db, existing.blob)
    return empty(200)


def _tag_post(ctx: Context, collection_id: int, *, arch_key: bool) -> Response:
    user = ctx.bearer_user()
    if user is None:
        return empty(403)
    with ctx.store.read() as db:
        found = db_ops.collection_by_id(db, collection_id)
    if found is None:
        return empty(404)
    if not found.is_owner(user):
        return empty(403)
    try:
        body = json_body(ctx.request)
    except BadBody:
        body = None
    tag, image_id = (
        (body.get("Tag"), body.get("ImageID")) if isinstance(body, dict) else (None, None)
    )
    arch = body.get("Arch", "") if arch_key and isinstance(body, dict) else ""
    if not isinstance(tag, str) or unsafe_name(tag) or tag.startswith(HOLDER_PREFIX):
        return json_response({"message": "Invalid payload."}, 400)
    try:
        image = int(str(image_id))
    except ValueError:
        return empty(404)
    return apply_tag(ctx, found, image, tag, arch if isinstance(arch, str) else "")


def tags_v1_post(ctx: Context, collection_id: int) -> Response:
    """``{"Tag", "ImageID"}`` with no Content-Type or ``*/*`` (anything else: 415, R11)."""
    content_type = ctx.request.headers.get("Content-Type", "").split(";")[0].strip()
    if content_type not in {"", "*/*"}:
        return json_response(
            {"detail": f'Unsupported media type "{content_type}" in request.'}, 415
        )
    return _tag_post(ctx, collection_id, arch_key=False)


def tags_v2_post(ctx: Context, collection_id: int) -> Response:
    """``{"Arch", "Tag", "ImageID"}``: tags the image and records its arch (quirk 7: 404)."""
    if ctx.config.quirks.no_v2_tags:
        return not_found_html()
    return _tag_post(ctx, collection_id, arch_key=True)


_GET = ("GET",)
ROUTES: list[Route] = [
    *(Route(r, _GET, tags_v1) for r in with_slash("/v1/tags/<int:collection_id>")),
    *(Route(r, ("POST",), tags_v1_post) for r in with_slash("/v1/tags/<int:collection_id>")),
    *(Route(r, _GET, tags_v2) for r in with_slash("/v2/tags/<int:collection_id>")),
    *(Route(r, ("POST",), tags_v2_post) for r in with_slash("/v2/tags/<int:collection_id>")),
]
