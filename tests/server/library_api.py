"""The library API's discovery, collections, containers and images.

``/version``, ``/assets/config/config.prod.json``, ``/v1/``, token-status,
entities, ``/v1/collections``, ``/v1/containers``, ``/v1/images`` and the
``/v1/imagefile`` redirect. Follows ``server-api.md`` §2 and
``library-api.md``: ``{"data": ...}`` envelopes, string ids, ``...Z`` times,
403/404 with empty bodies for auth failures (R2), Bearer matched in any case
(R3), ``/v1/collections/<e>/<n>`` 404 for non-owners (R5),
``/v1/containers/...`` answering with the collection (R6).

Intended behaviour instead of the real server's bugs: a 3-segment
``...:sha256.<hex>`` lookup returns the existing image and creates a holder
only for an owner (B12); arch and byte size are reported (B13); GET
``/v1/collections`` lists the caller's collections (B14); counters are ints and
times stable (B15). Tags are in :mod:`tests.server.library_tags`, uploads and
the download target in :mod:`tests.server.library_upload`.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from werkzeug.wrappers import Response

from sregistry.utils import parse_image_name
from tests.server import queries as db_ops
from tests.server.context import Context, Route, normalize_collection, unsafe_name, with_slash
from tests.server.store import HOLDER_PREFIX, Collection, Container, User
from tests.server.wire import (
    ZERO_TIME,
    BadBody,
    empty,
    json_body,
    json_response,
    library_error,
    library_time,
    not_found_html,
    server_error,
)

__all__ = ["ROUTES", "image_json"]

_HASH = re.compile(r"^sha256\.[0-9a-f]{64}$")


# -- serialisers ---------------------------------------------------------------------------


def _description(collection: Collection) -> str:
    return f"{collection.name.capitalize()} Collection"


def visible(rows: list[Container]) -> list[Container]:
    return [c for c in rows if c.listed]


def entity_json(ctx: Context, db: sqlite3.Connection, user: User) -> dict[str, Any]:
    joined = library_time(user.date_joined)
    return {
        "id": str(user.id),
        "name": user.username,
        "description": user.username,
        "collections": [str(i) for i in db_ops.owned_collection_ids(db, user.id)],
        "size": 0,
        "quota": 0,
        "defaultPrivate": ctx.config.private_default,
        "customData": "",
        "deleted": not user.active,
        "createdBy": "",
        "createdAt": joined,
        "updatedBy": "",
        "updatedAt": joined,
        "deletedAt": ZERO_TIME,
    }


def collection_json(
    db: sqlite3.Connection, collection: Collection, requester: User | None
) -> dict[str, Any]:
    owner = db_ops.first_owner(db, collection)
    subject = requester if requester is not None else owner
    subject_id = str(subject.id) if subject else ""
    rows = visible(db_ops.containers_of(db, collection.id))
    hidden = collection.private and not collection.is_owner(requester)
    return {
        "id": str(collection.id),
        "name": collection.name,
        "description": _description(collection),
        "entity": subject_id,
        "entityName": subject.username if subject else "",
        "containers": [] if hidden else [str(c.id) for c in rows],
        "size": len(rows),
        "private": collection.private,
        "customData": "",
        "deleted": False,
        "createdAt": library_time(collection.add_date),
        "createdBy": str(owner.id) if owner else "",
        "updatedAt": library_time(collection.modify_date),
        "updatedBy": subject_id,
        "deletedAt": ZERO_TIME,
        "owner": subject_id,
    }


def image_json(db: sqlite3.Connection, collection: Collection, image: Container) -> dict[str, Any]:
    """An sregistry Container row as a Sylabs Image (``server-api.md`` §2.8)."""
    owner = db_ops.first_owner(db, collection)
    owner_id = str(owner.id) if owner else ""
    owner_name = owner.username if owner else ""
    siblings = db_ops.containers_of(db, collection.id, image.name)
    tags = sorted(c.tag for c in visible(siblings) if c.version == image.version)
    metadata_arch = image.metadata.get("arch")
    return {
        "id": str(image.id),
        "hash": image.version,
        "description": _description(collection),
        "container": image.version,
        "arch": image.arch or (metadata_arch if isinstance(metadata_arch, str) else "amd64"),
        "size": image.size if image.uploaded else None,
        "uploaded": image.uploaded,
        "createdAt": library_time(image.add_date),
        "createdBy": owner_id,
        "updatedAt": library_time(image.modify_date),
        "updatedBy": owner_name,
        "owner": owner_id,
        "entity": owner_id,
        "entityName": owner_name,
        "collection": str(collection.id),
        "collectionName": collection.name.split("/")[0],
        "containerName": image.name.split("/")[-1],
        "tags": tags,
        "fingerprints": [],
        "customData": "",
        "deleted": False,
        "deletedAt": ZERO_TIME,
        "containerStars": 0,
        "containerDownloads": sum(c.downloads for c in siblings),
    }


# -- discovery and identity -----------------------------------------------------------------


def version(ctx: Context) -> Response:
    """``{"data": {"version", "apiVersion"}}``; 404 with ``--api-version none``."""
    if ctx.config.api_version is None:
        return not_found_html()
    return json_response({"data": {"version": "v1.0.0", "apiVersion": ctx.config.api_version}})


def config_prod(ctx: Context) -> Response:
    """Remote configuration for ``remote add/login``: JSON served as ``text/html``."""
    base = ctx.base_url
    body = {
        "env": {"name": "prod"},
        "logging": {"console": True},
        "libraryAPI": {"uri": base},
        "keystoreAPI": {"uri": base},
        "tokenAPI": {"uri": base},
        "auth": {
            "issuer": base,
            "requireHttps": False,
            "redirectUri": "",
            "clientId": "services-frontend",
            "scope": "openid profile email",
            "silentRenew": False,
            "silentRenewUrl": "",
        },
    }
    return json_response(body, content_type="text/html; charset=utf-8")


def v1_root(ctx: Context) -> Response:
    """Version information without the envelope; ``user`` is always null for tokens."""
    return json_response({"version": "v1.0.0", "apiVersion": ctx.config.api_version, "user": None})


def token_status(ctx: Context) -> Response:
    """200 (empty) for a valid token, 404 (empty) otherwise."""
    return empty(200 if ctx.bearer_user() is not None else 404)


def entity(ctx: Context, username: str | None = None) -> Response:
    """The token's own entity; any other name, or no valid token -> 404 (empty)."""
    user = ctx.bearer_user()
    if user is None or (username is not None and username.lower() != user.username):
        return empty(404)
    with ctx.store.read() as db:
        return json_response({"data": entity_json(ctx, db, user)})


# -- collections and containers ---------------------------------------------------------------


def collections_list(ctx: Context) -> Response:
    """The caller's collections, enveloped (B14)."""
    user = ctx.bearer_user()
    if user is None:
        return empty(403)
    with ctx.store.read() as db:
        owned = [db_ops.collection_by_id(db, i) for i in db_ops.owned_collection_ids(db, user.id)]
        return json_response(
            {"data": [collection_json(db, c, user) for c in owned if c is not None]}
        )


def collections_create(ctx: Context) -> Response:  # noqa: PLR0911 - one early answer per protocol check
    """Create ``{"entity": <id>, "name", "private"?}``; the name is normalised (R7).

    ``private`` defaults to ``--private-default``; creating needs staff or
    ``USER_COLLECTIONS`` as on the registry push path. Errors use the
    ``{"error": {"code", "message"}}`` envelope; malformed JSON is a 400 (B7).
    """
    user = ctx.bearer_user()
    if user is None:
        return library_error(403, "Token not valid")
    try:
        body = json_body(ctx.request)
    except BadBody:
        if ctx.config.quirks.loose_library:
            return server_error()
        return library_error(400, "Invalid payload.")
    if not isinstance(body, dict) or "entity" not in body or not isinstance(body.get("name"), str):
        return library_error(400, "Invalid payload.")
    name = normalize_collection(body["name"])
    if not name:
        return library_error(400, "Invalid payload.")
    if str(body["entity"]) != str(user.id):
        return library_error(403, f"Permission denied {user.id} {body['entity']}")
    if not (user.staff or ctx.config.user_collections):
        return library_error(403, "Only staff can create collections on this registry.")
    private = body.get("private")
    with ctx.store.write() as db:
        if db_ops.collection_by_name(db, name) is not None:
            return library_error(403, f"A collection named '{name}' exists already!")
        created = db_ops.create_collection(
            db,
            name,
            user,
            private=private if isinstance(private, bool) else ctx.config.private_default,
        )
        return json_response({"data": collection_json(db, created, user)})


def collection_lookup(ctx: Context, entity: str, name: str) -> Response:
    """A collection by exact name (the entity is ignored); missing or not owned -> 404."""
    user = ctx.bearer_user()
    if user is None:
        return empty(403)
    with ctx.store.read() as db:
        found = db_ops.collection_by_name(db, name)
        if found is None or not found.is_owner(user):
            return empty(404)
        return json_response({"data": collection_json(db, found, user)})


def container_lookup(ctx: Context, entity: str, collection: str, container: str) -> Response:
    """The collection dressed as a Sylabs container, 200 even when no image of that
    name exists (R6); ``id`` is the collection id, later used for tags."""
    user = ctx.bearer_user()
    if user is None:
        return empty(403)
    with ctx.store.read() as db:
        found = db_ops.collection_by_name(db, collection)
        if found is None:
            return empty(404)
        if not found.is_owner(user):
            return empty(403)
        data = collection_json(db, found, user)
        rows = visible(db_ops.containers_of(db, found.id, container))
        if not rows and ctx.config.quirks.loose_library:
            rows = visible(db_ops.containers_of(db, found.id))  # quirk 10
    image_tags = {c.tag: str(c.id) for c in rows}
    arch_tags: dict[str, dict[str, str]] = {}
    for row in rows:
        arch_tags.setdefault(row.arch or "amd64", {})[row.tag] = str(row.id)
    data.update(
        collection=str(found.id),
        collectionName=found.name,
        fullDescription=data["description"],
        readOnly=False,
        stars=0,
        imageTags=image_tags,
        archTags=arch_tags,
        images=list(dict.fromkeys(c.version for c in rows if c.version)),
        downloadCount=sum(c.downloads for c in rows),
    )
    return json_response({"data": data})


def containers_root(ctx: Context) -> Response:
    """200 ``{}`` for any valid token."""
    return json_response({}) if ctx.bearer_user() is not None else empty(403)


# -- images -------------------------------------------------------------------------------


def resolve(db: sqlite3.Connection, ref: str) -> tuple[Collection, str, str] | None:
    """``ref`` -> ``(collection, name, tag-or-hash)`` as the server resolves it (§2.9).

    ``a/b/c:t`` drops ``a`` (the entity); the collection is looked up as
    ``b/c``, then ``b``; a lone ``c`` lives in ``library``. ``None`` when the
    reference does not parse or its collection does not exist.
    """
    try:
        parsed = parse_image_name(ref)
    except ValueError:
        return None
    url = str(parsed["url"])
    registry = parsed["registry"]
    if registry:
        url = url.removeprefix(f"{registry}/")
    for candidate in (url, url.split("/")[0]):
        collection = db_ops.collection_by_name(db, candidate)
        if collection is not None:
            return collection, str(parsed["image"]), str(parsed["tag"])
    return None


def find_image(
    db: sqlite3.Connection, collection: Collection, name: str, tag: str
) -> Container | None:
    """A tagged image, or by ``sha256.<hex>`` when the tag is a hash."""
    if tag.startswith("sha256"):
        return db_ops.find_by_version(db, collection.id, name, tag)
    row = db_ops.find_container(db, collection.id, name, tag)
    return row if row is not None and not row.holder else None


def other_host(base: str) -> str:
    """``base`` under another name of the same address (quirk 8: the real redirect
    goes to the S3 host): ``127.0.0.1`` <-> ``localhost``."""
    parts = urlsplit(base)
    host = "localhost" if parts.hostname == "127.0.0.1" else "127.0.0.1"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{host}{port}", "", "", ""))


def _arch_mismatch(row: Container, arch: str) -> bool:
    return bool(arch) and row.arch is not None and row.arch != arch


def images(ctx: Context, ref: str) -> Response:
    """Image metadata for pull, or the push holder for ``e/c/n:sha256.<hex>`` (B12).

    Private images need an owner's or contributor's token; others get 404 (B4).
    """
    ref = ref.rstrip("/")
    if ctx.config.quirks.loose_library and ref.endswith(":"):
        return server_error()
    arch = ctx.request.args.get("arch", "")
    user = ctx.bearer_user()
    holder_lookup = ref.count("/") >= 2 and ":sha256." in ref
    with ctx.store.write() if holder_lookup else ctx.store.read() as db:
        resolved = resolve(db, ref)
        if resolved is None:
            return empty(404)
        collection, name, tag = resolved
        row = find_image(db, collection, name, tag)
        if row is not None and not row.uploaded and not collection.is_owner(user):
            row = None
        if (
            row is None
            and holder_lookup
            and collection.is_owner(user)
            and _HASH.fullmatch(tag)
            and not unsafe_name(name)
        ):
            row = db_ops.insert_container(
                db,
                collection.id,
                name,
                f"{HOLDER_PREFIX}{uuid.uuid4()}",
                version=tag,
                arch=arch or None,
            )
        loose = ctx.config.quirks.loose_library
        wrong_arch = _arch_mismatch(row, arch) and not loose if row is not None else False
        if row is None or not collection.can_read(user) or wrong_arch:
            return empty(404)
        data = image_json(db, collection, row)
        if loose:  # quirk 10: the real server's image JSON
            del data["updatedAt"], data["deletedAt"]
            data["size"] = None
        return json_response({"data": data})


def imagefile(ctx: Context, ref: str) -> Response:
    """Download: 303 (``--redirect-status``) to a signed ``/_blob`` URL on this server."""
    ref = ref.rstrip("/")
    if ctx.config.quirks.loose_library and ref.endswith(":"):
        return server_error()
    user = ctx.bearer_user()
    with ctx.store.write() as db:
        resolved = resolve(db, ref)
        if resolved is None:
            return empty(404)
        collection, name, tag = resolved
        row = find_image(db, collection, name, tag)
        if row is None or not row.uploaded or not collection.can_read(user):
            return empty(404)
        db_ops.count_download(db, row)
    base = ctx.base_url
    if ctx.config.quirks.blob_other_host:
        base = other_host(base)
    location = f"{base}/_blob/{row.id}?{ctx.signed_query('blob', row.id, row.blob)}"
    response = empty(ctx.config.redirect_status)
    response.headers["Location"] = location
    return response


_GET = ("GET",)
ROUTES: list[Route] = [
    Route("/version", _GET, version),
    Route("/assets/config/config.prod.json", _GET, config_prod, drf=False),
    Route("/v1/", _GET, v1_root),
    Route("/v1/token-status", _GET, token_status),
    *(Route(r, _GET, entity) for r in with_slash("/v1/entities")),
    *(Route(r, _GET, entity) for r in with_slash("/v1/entities/<username>")),
    Route("/v1/collections", _GET, collections_list),
    Route("/v1/collections", ("POST",), collections_create),
    Route("/v1/collections/<entity>/<name>", _GET, collection_lookup),
    Route("/v1/containers", _GET, containers_root),
    Route("/v1/containers/<entity>/<collection>/<container>", _GET, container_lookup),
    Route("/v1/images/<path:ref>", _GET, images),
    Route("/v1/imagefile/<path:ref>", _GET, imagefile),
]
