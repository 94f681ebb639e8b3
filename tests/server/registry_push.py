"""Registry push: ``/api/upload/chunked_upload`` then the multipart ``/upload``.

The real ``/upload`` is nginx's upload module in front of
``/api/uploads/complete/``; here ``/upload`` streams the multipart body through
Werkzeug's form parser into a hashed temporary file and then applies the same
checks. ``version`` is set to ``sha256.<hex>`` at once (there is no background
worker) and the size is recorded in bytes (B13). The upload's MD5 (nginx's
``file1.md5``) is not computed: it only ever named the stored file, so just its
length matters, for the file-name limit. Failures answer as the real
server does: HTML 500 for every auth or permission failure (R13), 200
``{"message"}`` for a frozen tag or a too-long file name (R14); a staff
non-owner is refused with 403 instead of being silently dropped (B16).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import IO, Any, cast

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.formparser import FormDataParser
from werkzeug.wrappers import Response

from tests.server import queries as db_ops
from tests.server.blobs import HashingFile
from tests.server.config import MiB
from tests.server.context import Context, Route, normalize_collection, unsafe_name, with_slash
from tests.server.hmac_check import HmacError
from tests.server.wire import (
    BadBody,
    detail,
    json_body,
    json_response,
    nginx_error,
    server_error,
)

__all__ = ["ROUTES", "lost_blob", "parse_metadata"]

MAX_FILENAME = 255
"""nginx stores ``<name>:<tag>@<md5>.sif``; Django refuses longer file names."""
MD5_HEX = 32


def chunked_upload(ctx: Context) -> Response:  # noqa: PLR0911 - one early answer per protocol check
    """Push step 1 (HMAC ``push`` over the normalised collection) -> ``{"cid"}``.

    Creates a missing collection owned by the pusher. Needs staff or
    ``USER_COLLECTIONS`` even for an existing collection, and ownership (or
    staff) of an existing one. Every failure is an HTML 500 (R13).
    """
    try:
        body = json_body(ctx.request)
    except BadBody:
        return server_error()
    if not isinstance(body, dict):
        return server_error()
    raw_collection, name, tag = body.get("collection"), body.get("name"), body.get("tag", "latest")
    if not all(isinstance(v, str) and v for v in (raw_collection, name, tag)):
        return server_error()
    if unsafe_name(str(name)) or unsafe_name(str(tag)):
        return server_error()
    collection_name = normalize_collection(str(raw_collection))
    if not collection_name:
        return server_error()
    try:
        user = ctx.hmac_user(
            ctx.request.headers.get("Authorization"),
            kind="push",
            collection=collection_name,
            name=str(name),
            tag=str(tag),
        )
    except HmacError:
        return server_error()
    if not (user.staff or ctx.config.user_collections):
        return server_error()
    with ctx.store.write() as db:
        collection = db_ops.collection_by_name(db, collection_name)
        if collection is None:
            collection = db_ops.create_collection(
                db, collection_name, user, private=ctx.config.private_default
            )
        elif not (user.staff or collection.is_owner(user)):
            return server_error()
    return json_response({"cid": collection.id})


def parse_metadata(text: str | None) -> tuple[dict[str, Any], dict[str, str], str | None]:
    """The optional ``metadata`` field: ``(object, labels, arch)``; ValueError if invalid.

    Shape: ``singularity inspect --json``, i.e. ``{"data": {"attributes":
    {"labels": {...}, ...}}, "type": "container", "arch": "amd64"}``. Labels
    with string values become label objects; ``arch`` is the image's arch.
    """
    if text is None or not text.strip():
        return {}, {}, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"metadata is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("metadata must be a JSON object")
    attributes = (
        value.get("data", {}).get("attributes", {}) if isinstance(value.get("data"), dict) else {}
    )
    raw_labels = attributes.get("labels") if isinstance(attributes, dict) else None
    labels = (
        {str(k): v for k, v in (raw_labels or {}).items() if isinstance(v, str)}
        if isinstance(raw_labels, dict)
        else {}
    )
    arch = value.get("arch")
    return value, labels, arch if isinstance(arch, str) and arch else None


def upload(ctx: Context) -> Response:
    """Push step 2: multipart ``SREGISTRY_EVENT, name, collection (cid), tag, file1``
    (+ optional ``metadata`` JSON), HMAC ``upload`` over the collection's name.

    200 ``{"message": "Upload Complete"}``; a frozen tag -> 200 ``"<uri> already
    exists."``; auth failures -> 500; a staff non-owner -> 403 (B16); a cut-off
    body or invalid ``metadata`` -> 400 ``{"message"}``. Nothing is stored unless
    every check passes, and an existing image is replaced only at the end.
    """
    if ctx.request.mimetype != "multipart/form-data":
        if ctx.config.quirks.html_errors:
            return nginx_error(415, "Unsupported Media Type")
        return json_response({"message": "Expected a multipart/form-data body."}, 400)
    repush_quirk = ctx.config.quirks.repush_deletes_file
    temps: list[HashingFile] = []

    def stream_factory(
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        temp = ctx.store.blobs.temp(md5=repush_quirk)
        temps.append(temp)
        return cast(IO[bytes], temp)

    parser = FormDataParser(
        stream_factory=stream_factory,
        max_form_memory_size=16 * MiB,
        silent=False,
        max_form_parts=64,
    )
    try:
        try:
            _, form, files = parser.parse_from_environ(ctx.request.environ)
        except (ValueError, OSError, HTTPException):
            return json_response({"message": "The upload was incomplete or malformed."}, 400)
        upload_file = files.get("file1")
        stream = cast(object, upload_file.stream) if upload_file else None
        temp = next((t for t in temps if t is stream), None)
        return _complete_upload(ctx, form, temp)
    finally:
        for temp in temps:
            temp.discard()


def _complete_upload(  # noqa: PLR0911 - one early answer per protocol check
    ctx: Context, form: MultiDict[str, str], temp: HashingFile | None
) -> Response:
    """``/api/uploads/complete/``: the checks after the body has been received."""
    name, tag = form.get("name", ""), form.get("tag") or "latest"
    try:
        cid = int(form.get("collection", ""))
    except ValueError:
        return server_error()
    with ctx.store.read() as db:
        collection = db_ops.collection_by_id(db, cid)
    if collection is None:
        return server_error()
    header = ctx.request.headers.get("Authorization") or form.get("SREGISTRY_EVENT")
    try:
        user = ctx.hmac_user(header, kind="upload", collection=collection.name, name=name, tag=tag)
    except HmacError:
        return server_error()
    if not (user.staff or collection.is_owner(user)):
        return server_error()
    if not collection.is_owner(user):
        return detail(403, "Only an owner of the collection can push to it.")
    if temp is None or not name:
        return json_response({"message": "The upload has no file1 part or no name."}, 400)
    if unsafe_name(name) or unsafe_name(tag):
        return json_response({"message": "Invalid container name or tag."}, 400)
    try:
        metadata, labels, arch = parse_metadata(
            None if ctx.config.quirks.drop_metadata else form.get("metadata")
        )
    except ValueError as exc:
        return json_response({"message": f"Invalid metadata: {exc}"}, 400)
    name, tag = name.lower(), tag.lower()
    if len(f"{name}:{tag}@{'0' * MD5_HEX}.sif") > MAX_FILENAME:
        return json_response({"message": "Filename too long!\nMust be less than 255 characters"})
    with ctx.store.write() as db:
        existing = db_ops.find_container(db, collection.id, name, tag)
        if existing is not None and existing.frozen:
            return json_response({"message": f"{existing.uri} already exists."})
        if ctx.config.quirks.unscoped_tags:
            _delete_elsewhere(ctx, db, collection.id, name, tag)
        digest = ctx.store.blobs.place(temp)
        version, blob = f"sha256.{digest}", digest
        if existing is not None:
            db_ops.delete_container(ctx.store, db, existing, release=False)
            if ctx.config.quirks.repush_deletes_file and existing.blob == digest:
                version, blob = temp.md5, lost_blob(digest)
        row = db_ops.insert_container(
            db,
            collection.id,
            name,
            tag,
            version=version,
            size=temp.size,
            blob=blob,
            metadata=metadata,
            arch=arch,
        )
        db_ops.set_labels(db, row.id, labels)
        if existing is not None:
            ctx.store.release_blob(db, existing.blob)
    return json_response({"message": "Upload Complete"})


def lost_blob(digest: str) -> str:
    """The blob name of a file the real server deleted (quirk 1): no file has it.

    The real server keeps one file per container, named after the upload's md5;
    re-pushing the same bytes stores the same name and the old row's post-delete
    signal removes it. Here files are shared by content, so the new row points
    at a name of its own that has no file, and other rows keep theirs.
    """
    return hashlib.sha256(f"deleted:{digest}".encode()).hexdigest()


def _delete_elsewhere(
    ctx: Context, db: sqlite3.Connection, collection_id: int, name: str, tag: str
) -> None:
    """Quirk 6: the real server looks ``name:tag`` up without its collection and
    replaces what it finds, so the same ``name:tag`` elsewhere is deleted."""
    for other in db_ops.containers_named(db, name, tag):
        if other.collection_id != collection_id and not other.frozen:
            db_ops.delete_container(ctx.store, db, other)


def upload_get(ctx: Context) -> Response:
    """``GET /upload``: nginx's 405 page on the real server (quirk 3), else an empty 405."""
    if ctx.config.quirks.html_errors:
        return nginx_error(405, "Not Allowed")
    return Response(b"", status=405)


ROUTES: list[Route] = [
    *(
        Route(r, ("POST",), chunked_upload, drf=False)
        for r in with_slash("/api/upload/chunked_upload")
    ),
    Route("/upload", ("POST",), upload, drf=False),
    Route("/upload", ("GET",), upload_get, drf=False),
]
