"""The registry API's reads, pull, delete and download (``/api/...``, ``/containers/``).

Wire formats follow ``server-api.md`` §3: DRF ``{"detail"}`` errors, HTTP 200
with a bare integer body for a bad signature (``400``) or the weekly limit
(``429``) on the pull manifest (R15), LimitOffset pagination with absolute
links (R17), ``{}`` for an unknown collection (R16). Intended behaviour instead
of the real server's crashes: DELETE works (B1, owners and staff only),
collection search works (B2), private collections answer 403 (B3, B5) and
container search hides them (B11). The push is in :mod:`tests.server.registry_push`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from tests.server import queries as db_ops
from tests.server.context import Context, Route, with_slash
from tests.server.hmac_check import HmacError
from tests.server.store import Collection, Container
from tests.server.wire import (
    bare_int,
    detail,
    file_response,
    json_response,
    not_found_html,
    registry_time,
    server_error,
)

__all__ = ["ROUTES", "collection_json", "container_json"]

_REST = re.compile(r"^(?P<name>[^:@/]+)(?::(?P<tag>[^:@/]+))?(?:@(?P<version>[^/]+))?/?$")
_HIDDEN_METADATA = ("build_metadata", "builder", "build_finish", "image")


# -- serialisers ---------------------------------------------------------------------------


def container_json(container: Container, *, image: str | None = None) -> dict[str, Any]:
    """A Container as DRF renders it (with ``image`` on the pull manifest)."""
    out: dict[str, Any] = {"id": container.id, "name": container.name}
    if image is not None:
        out["image"] = image
    metadata = {k: v for k, v in container.metadata.items() if k not in _HIDDEN_METADATA}
    out.update(
        tag=container.tag,
        add_date=registry_time(container.add_date),
        metrics={},
        version=container.version,
        frozen=container.frozen,
        metadata=metadata,
        collection=container.collection,
    )
    return out


def collection_json(ctx: Context, collection: Collection) -> dict[str, Any]:
    with ctx.store.read() as db:
        rows = db_ops.containers_of(db, collection.id)
    return {
        "id": collection.id,
        "name": collection.name,
        "add_date": registry_time(collection.add_date),
        "modify_date": registry_time(collection.modify_date),
        "metadata": {},
        "containers": [
            {
                "name": c.name,
                "tag": c.tag,
                "uri": c.uri,
                "detail": f"{ctx.base_url}/containers/{c.id}",
            }
            for c in rows
            if c.listed
        ],
    }


def download_url(ctx: Context, container: Container, collection: Collection) -> str:
    return f"{ctx.base_url}/containers/{container.id}/download/{collection.secret}"


# -- pagination (DRF LimitOffsetPagination) ------------------------------------------------


def _int_arg(ctx: Context, name: str, default: int, *, strict: bool) -> int:
    try:
        value = int(ctx.request.args[name])
    except (KeyError, ValueError):
        return default
    if value < 0 or (strict and value == 0):
        return default
    return value


def _page_url(ctx: Context, **params: int | None) -> str:
    query = MultiDict(ctx.request.args)
    for key, value in params.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    url = ctx.request.base_url
    return f"{url}?{urlencode(list(query.items(multi=True)))}" if query else url


def _paginated(ctx: Context, total: int, limit: int, offset: int, results: list[Any]) -> Response:
    next_url = None
    if offset + limit < total:
        next_url = _page_url(ctx, limit=limit, offset=offset + limit)
    previous = None
    if offset > 0:
        previous = _page_url(
            ctx, limit=limit, offset=None if offset - limit <= 0 else offset - limit
        )
    return json_response(
        {"count": total, "next": next_url, "previous": previous, "results": results}
    )


def list_collections(ctx: Context) -> Response:
    """Public collections, LimitOffset-paginated (``?limit=&offset=``), absolute ``next``."""
    limit = _int_arg(ctx, "limit", ctx.config.page_size, strict=True)
    offset = _int_arg(ctx, "offset", 0, strict=False)
    with ctx.store.read() as db:
        total, page = db_ops.list_collections(db, limit=limit, offset=offset)
    return _paginated(ctx, total, limit, offset, [collection_json(ctx, c) for c in page])


def list_containers(ctx: Context) -> Response:
    """Containers of public collections, LimitOffset-paginated."""
    limit = _int_arg(ctx, "limit", ctx.config.page_size, strict=True)
    offset = _int_arg(ctx, "offset", 0, strict=False)
    with ctx.store.read() as db:
        total, page = db_ops.list_containers(db, limit=limit, offset=offset)
    return _paginated(ctx, total, limit, offset, [container_json(c) for c in page])


def collection_detail(ctx: Context, collection_id: int) -> Response:
    """One public collection by id."""
    with ctx.store.read() as db:
        collection = db_ops.collection_by_id(db, collection_id)
    if collection is None or collection.private:
        return detail(404, "Not found.")
    return json_response(collection_json(ctx, collection))


def container_detail(ctx: Context, container_id: int) -> Response:
    """One container of a public collection by id."""
    with ctx.store.read() as db:
        container = db_ops.container_by_id(db, container_id)
    if container is None or container.private or not container.listed:
        return detail(404, "Not found.")
    return json_response(container_json(container))


# -- lookup and search ------------------------------------------------------------------------


def collection_by_name(ctx: Context, name: str) -> Response:
    """A collection by (lowercased) name; unknown -> 200 ``{}`` (R16); private -> 403 (B3)."""
    with ctx.store.read() as db:
        collection = db_ops.collection_by_name(db, name.lower())
    if collection is None:
        return json_response({})
    if collection.private:
        return detail(403, "This collection is private.")
    return json_response(collection_json(ctx, collection))


def collection_search(ctx: Context, query: str) -> Response:
    """Public collections whose name contains the query (the real server 500s, B2)."""
    if ctx.config.quirks.html_errors:
        return server_error()
    with ctx.store.read() as db:
        found = db_ops.search_collections(db, query.lower())
    return json_response([collection_json(ctx, c) for c in found])


def container_search(
    ctx: Context, name: str, tag: str | None = None, collection: str | None = None
) -> Response:
    """Containers by exact name (and tag, collection): an unpaginated list (R18), public only."""
    with ctx.store.read() as db:
        found = db_ops.search_containers(db, name, tag, collection)
    return json_response([container_json(c) for c in found])


def label_search(ctx: Context, key: str | None = None, value: str | None = None) -> Response:
    """Labels with the container uris carrying them: ``[{"key", "value", "containers"}]``."""
    with ctx.store.read() as db:
        found = db_ops.search_labels(db, key, value)
    return json_response([{"key": k, "value": v, "containers": uris} for k, v, uris in found])


def identity(ctx: Context) -> Response:
    """The registry's name, id and URL: a good identity probe."""
    return json_response({"name": ctx.config.registry_name, "id": "reference", "url": ctx.base_url})


# -- pull and delete ----------------------------------------------------------------------


def container_get(ctx: Context, collection: str, rest: str) -> Response:  # noqa: PLR0911 - one early answer per protocol check
    """Pull manifest; private collections need an HMAC ``pull`` signature.

    ``@version`` is ignored (R22). Bad signature, wrong kind or stale hour ->
    HTTP 200 body ``400``; weekly limit -> HTTP 200 body ``429`` (R15).
    """
    match = _REST.match(rest)
    if match is None:
        return detail(404, "Not found.")
    name, tag = match["name"], match["tag"] or "latest"
    with ctx.store.read() as db:
        found = db_ops.collection_by_name(db, collection)
        row = db_ops.find_container(db, found.id, name, tag) if found else None
    if found is None or row is None or not row.listed:
        return detail(404, "Not found.")
    limit = ctx.config.get_limit
    if limit and (row.get_count >= limit or found.get_count >= limit):
        return bare_int(429)
    if found.private:
        header = ctx.request.headers.get("Authorization")
        if not header:
            return detail(403, "Authentication Required")
        try:
            user = ctx.hmac_user(header, kind="pull", collection=found.name, name=name, tag=tag)
        except HmacError as error:
            return detail(403, "Unauthorized") if error.malformed else bare_int(400)
        if not found.can_read(user, staff_bypass=True):
            return detail(403, "Unauthorized")
    return json_response(container_json(row, image=download_url(ctx, row, found)))


def container_delete(ctx: Context, collection: str, rest: str) -> Response:  # noqa: PLR0911 - one early answer per protocol check
    """Delete with an HMAC ``delete`` signature of an owner or staff -> 204 (B1)."""
    match = _REST.match(rest)
    if match is None:
        return detail(404, "Container Not Found")
    name, tag, version = match["name"], match["tag"], match["version"]
    with ctx.store.read() as db:
        found = db_ops.collection_by_name(db, collection)
        row = None
        if found is not None and tag is not None:
            row = db_ops.find_container(db, found.id, name, tag)
        elif found is not None and version is not None:
            row = db_ops.find_by_version(db, found.id, name, version)
    if found is None or row is None or not row.listed:
        return detail(404, "Container Not Found")
    if ctx.config.quirks.html_errors:
        return server_error()  # the real server crashes on every delete of an existing image
    if row.frozen:
        return detail(403, f"{row.collection}/{row.name}:{row.tag} is frozen, delete not allowed.")
    try:
        user = ctx.hmac_user(
            ctx.request.headers.get("Authorization"),
            kind="delete",
            collection=row.collection,
            name=row.name,
            tag=row.tag,
        )
    except HmacError:
        return detail(403, "Unauthorized")
    if not (user.staff or found.is_owner(user)):
        return detail(403, "Unauthorized")
    with ctx.store.write() as db:
        current = db_ops.container_by_id(db, row.id)
        if current is not None:
            db_ops.delete_container(ctx.store, db, current)
    return Response(status=204)


# -- download ---------------------------------------------------------------------------


def download(ctx: Context, container_id: int, secret: str) -> Response:
    """The ``image`` URL: ``application/img`` with ``Content-Disposition``; no Range
    unless ``--registry-range`` (R19). GET and HEAD both count toward the weekly
    limit; over it -> 403."""
    with ctx.store.write() as db:
        row = db_ops.container_by_id(db, container_id)
        collection = db_ops.collection_by_id(db, row.collection_id) if row else None
        if row is None or collection is None or collection.secret != secret:
            return not_found_html()
        if not row.listed or row.blob is None:
            return not_found_html()
        limit = ctx.config.get_limit
        if limit and (row.get_count >= limit or collection.get_count >= limit):
            return detail(403, "This container has reached its weekly download limit.")
        path = ctx.store.blobs.path(row.blob)
        if not path.is_file():
            return server_error()  # the file was deleted under the row (quirk 1)
        db_ops.count_get(db, row)
        if ctx.config.quirks.add_date_on_pull:
            db_ops.touch_add_date(db, row.id)
    filename = f"{row.collection}-{row.name}:{row.tag}.sif"
    return file_response(
        ctx.request,
        path,
        row.size or 0,
        ranges=ctx.config.registry_range,
        content_type="application/img",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _search_name(ctx: Context, name: str, tag: str | None = None) -> Response:
    """Containers named ``name`` (and tagged ``tag``) across public collections."""
    return container_search(ctx, name.lower(), tag.lower() if tag else None)


def _search_collection(
    ctx: Context, collection: str, name: str, tag: str | None = None
) -> Response:
    """Containers named ``name`` (and tagged ``tag``) in one public collection."""
    return container_search(ctx, name.lower(), tag.lower() if tag else None, collection.lower())


def _labels_key(ctx: Context, key: str) -> Response:
    """Labels with this key."""
    return label_search(ctx, key=key)


def _labels_value(ctx: Context, value: str) -> Response:
    """Labels with this value."""
    return label_search(ctx, value=value)


def _labels_key_value(ctx: Context, key: str, value: str) -> Response:
    """Labels with this key and value."""
    return label_search(ctx, key=key, value=value)


_GET = ("GET",)
ROUTES: list[Route] = [
    Route("/api/collections/", _GET, list_collections),
    Route("/api/containers/", _GET, list_containers),
    Route("/api/collections/<int:collection_id>/", _GET, collection_detail),
    Route("/api/containers/<int:container_id>/", _GET, container_detail),
    *(Route(r, _GET, identity) for r in with_slash("/api/registry/identity")),
    *(Route(r, _GET, collection_search) for r in with_slash("/api/collection/search/<query>")),
    *(Route(r, _GET, collection_by_name) for r in with_slash("/api/collection/<name>")),
    *(Route(r, _GET, _search_name) for r in with_slash("/api/container/search/name/<name>")),
    *(
        Route(r, _GET, _search_name)
        for r in with_slash("/api/container/search/name/<name>/tag/<tag>")
    ),
    *(
        Route(r, _GET, _search_collection)
        for r in with_slash("/api/container/search/collection/<collection>/name/<name>")
    ),
    *(
        Route(r, _GET, _search_collection)
        for r in with_slash("/api/container/search/collection/<collection>/name/<name>/tag/<tag>")
    ),
    *(Route(r, _GET, label_search) for r in with_slash("/api/labels/search")),
    *(Route(r, _GET, _labels_key) for r in with_slash("/api/labels/search/<key>/key")),
    *(Route(r, _GET, _labels_value) for r in with_slash("/api/labels/search/<value>/value")),
    *(
        Route(r, _GET, _labels_key_value)
        for r in with_slash("/api/labels/search/<key>/key/<value>/value")
    ),
    Route("/api/container/<collection>/<path:rest>", _GET, container_get),
    Route("/api/container/<collection>/<path:rest>", ("DELETE",), container_delete),
    *(
        Route(r, ("GET", "HEAD"), download, drf=False)
        for r in with_slash("/containers/<int:container_id>/download/<secret>")
    ),
]
