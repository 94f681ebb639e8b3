"""Library uploads: v2 single-part, v2 multipart, legacy v1, and the download target.

The presigned-style URLs point at this server: ``/_upload/<id>`` (single
part), ``/_part/<upload>/<n>`` (multipart parts) and ``/_blob/<id>`` (the 303
download target, honouring ``Range`` unless ``--no-range``). They need no
Bearer token; a signature in the query string, valid for 300 s, stands in for
S3's. Every upload streams to a temporary file while hashing and is verified
against the image's ``sha256.<hex>`` before it becomes the image (B19); a
failure leaves the previous content untouched. ``_complete`` and the
multipart calls require the owner's token (B8, B9); abort discards the parts
only (B9); ``totalParts = ceil(size / partSize)`` (B17).
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from tests.server import queries as db_ops
from tests.server.blobs import HashingFile, copy_stream
from tests.server.context import Context, Route, with_slash
from tests.server.store import Container, Part, Upload
from tests.server.wire import (
    BadBody,
    empty,
    file_response,
    json_body,
    json_response,
    library_error,
    s3_error,
)

__all__ = ["ROUTES"]


def _owned_image(ctx: Context, image_id: int) -> Container | Response:
    """The image if the Bearer token's user owns its collection, else the error response."""
    user = ctx.bearer_user()
    if user is None:
        return empty(403)
    with ctx.store.read() as db:
        image = db_ops.container_by_id(db, image_id)
        collection = db_ops.collection_by_id(db, image.collection_id) if image else None
    if image is None or collection is None:
        return empty(404)
    if not collection.is_owner(user):
        return empty(403)
    return image


def _body(ctx: Context) -> dict[str, Any]:
    try:
        body = json_body(ctx.request)
    except BadBody:
        return {}
    return body if isinstance(body, dict) else {}


def _receive(ctx: Context) -> HashingFile | None:
    """Stream the request body into a hashed temporary file; ``None`` if cut off."""
    temp = ctx.store.blobs.temp()
    try:
        copy_stream(ctx.request.stream, temp)
    except (HTTPException, OSError):
        temp.discard()
        return None
    expected = ctx.request.content_length
    if expected is not None and temp.size != expected:
        temp.discard()
        return None
    return temp


def _content_sha_mismatch(ctx: Context, temp: HashingFile) -> bool:
    claimed = ctx.request.headers.get("x-amz-content-sha256")
    if not claimed or claimed == "UNSIGNED-PAYLOAD":
        return False
    return not hmac.compare_digest(claimed.lower(), temp.sha256)


def _store_image(ctx: Context, image: Container, temp: HashingFile) -> bool:
    """Make a verified upload the image's content; False if the row is gone."""
    with ctx.store.write() as db:
        current = db_ops.container_by_id(db, image.id)
        if current is None:
            return False
        digest = ctx.store.blobs.place(temp)
        db_ops.update_container(db, image.id, blob=digest, size=temp.size)
        if current.blob != digest:
            ctx.store.release_blob(db, current.blob)
    return True


# -- v2 single part ---------------------------------------------------------------------------


def upload_start(ctx: Context, image_id: int) -> Response:
    """``{"data": {"uploadURL"}}``: a presigned-style PUT URL on this server (R9)."""
    image = _owned_image(ctx, image_id)
    if isinstance(image, Response):
        return image
    _body(ctx)
    secret = os.urandom(16).hex()
    with ctx.store.write() as db:
        db_ops.update_container(db, image.id, push_secret=secret)
    query = ctx.signed_query("upload", image.id, secret)
    return json_response({"data": {"uploadURL": f"{ctx.base_url}/_upload/{image.id}?{query}"}})


def upload_put(ctx: Context, image_id: int) -> Response:
    """The presigned PUT: the whole file, verified against the image hash; 200 + ETag."""
    with ctx.store.read() as db:
        image = db_ops.container_by_id(db, image_id)
    if image is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    if image.push_secret is None or not ctx.check_signed("upload", image.id, image.push_secret):
        return s3_error(403, "AccessDenied", "Request has expired or the signature is invalid.")
    temp = _receive(ctx)
    if temp is None:
        return s3_error(400, "IncompleteBody", "The request body was cut off.")
    with temp:
        return _finish_upload(ctx, image, temp, s3=True)


def _finish_upload(ctx: Context, image: Container, temp: HashingFile, *, s3: bool) -> Response:
    """Check and store ``temp`` (the caller's ``with temp:`` discards it unless placed)."""
    if s3 and _content_sha_mismatch(ctx, temp):
        return s3_error(400, "XAmzContentSHA256Mismatch", "x-amz-content-sha256 mismatch.")
    if f"sha256.{temp.sha256}" != image.version:
        message = f"the upload's sha256.{temp.sha256} is not the image hash {image.version}"
        if s3:
            return s3_error(400, "BadDigest", message)
        return library_error(400, message)
    if not _store_image(ctx, image, temp):
        return s3_error(404, "NoSuchKey", "The image was deleted.") if s3 else empty(404)
    return Response(b"", status=200, headers={"ETag": f'"{temp.md5}"'})


def upload_complete(ctx: Context, image_id: int) -> Response:
    """``_complete``: the owner's token (B8; quirk 10: no token checked); 200 empty once
    the file has arrived."""
    image: Container | Response | None
    if ctx.config.quirks.loose_library:
        with ctx.store.read() as db:
            image = db_ops.container_by_id(db, image_id)
        if image is None:
            return empty(404)
    else:
        image = _owned_image(ctx, image_id)
    if isinstance(image, Response):
        return image
    _body(ctx)
    if not image.uploaded:
        return library_error(400, "No image file has been uploaded for this image.")
    return empty(200)


def upload_v1(ctx: Context, image_id: str) -> Response:
    """Legacy ``POST /v1/imagefile/<id>``: the raw file, for clients that see no version."""
    try:
        number = int(image_id.rstrip("/"))
    except ValueError:
        return empty(404)
    image = _owned_image(ctx, number)
    if isinstance(image, Response):
        return image
    temp = _receive(ctx)
    if temp is None:
        return library_error(400, "The request body was cut off.")
    with temp:
        response = _finish_upload(ctx, image, temp, s3=False)
    if response.status_code == 200:
        return empty(200)
    return response


# -- v2 multipart ---------------------------------------------------------------------------


def _multipart_image(ctx: Context, image_id: int) -> Container | Response:
    if ctx.bearer_user() is None:
        return empty(403)
    if not ctx.config.multipart:
        return empty(404)
    return _owned_image(ctx, image_id)


def multipart_start(ctx: Context, image_id: int) -> Response:
    """``{"filesize"}`` -> ``{"data": {"uploadID", "totalParts", "partSize"}}``;
    404 with ``--no-multipart`` (the client then falls back to single part)."""
    image = _multipart_image(ctx, image_id)
    if isinstance(image, Response):
        return image
    filesize = _body(ctx).get("filesize")
    if not isinstance(filesize, int) or isinstance(filesize, bool) or filesize <= 0:
        return library_error(400, "filesize must be a positive integer")
    with ctx.store.write() as db:
        upload = db_ops.create_upload(db, image.id, filesize, ctx.config.part_size)
    ctx.store.blobs.part_dir(upload.id).mkdir()
    return json_response(
        {
            "data": {
                "uploadID": upload.id,
                "totalParts": upload.total_parts,
                "partSize": upload.part_size,
            }
        }
    )


def _upload_of(ctx: Context, image: Container, upload_id: Any) -> Upload | None:
    if not isinstance(upload_id, str):
        return None
    with ctx.store.read() as db:
        upload = db_ops.get_upload(db, upload_id)
    return upload if upload is not None and upload.container_id == image.id else None


def multipart_part(ctx: Context, image_id: int) -> Response:
    """``{"uploadID", "partNumber", "partSize", "sha256sum"}`` -> ``{"data": {"presignedURL"}}``."""
    image = _multipart_image(ctx, image_id)
    if isinstance(image, Response):
        return image
    body = _body(ctx)
    upload = _upload_of(ctx, image, body.get("uploadID"))
    if upload is None:
        return empty(404)
    number = body.get("partNumber")
    if not isinstance(number, int) or not 1 <= number <= upload.total_parts:
        return library_error(400, f"partNumber must be 1..{upload.total_parts}")
    query = ctx.signed_query("part", upload.id, number, signed_headers="host;x-amz-content-sha256")
    url = f"{ctx.base_url}/_part/{upload.id}/{number}?{query}"
    return json_response({"data": {"presignedURL": url}})


def part_put(ctx: Context, upload_id: str, number: int) -> Response:
    """A part PUT: checks ``x-amz-content-sha256`` when sent; 200 with ETag ``"<md5>"``."""
    if not ctx.check_signed("part", upload_id, number):
        return s3_error(403, "AccessDenied", "Request has expired or the signature is invalid.")
    with ctx.store.read() as db:
        upload = db_ops.get_upload(db, upload_id)
    if upload is None or not upload_id.isalnum():
        return s3_error(404, "NoSuchUpload", "The specified upload does not exist.")
    temp = _receive(ctx)
    if temp is None:
        return s3_error(400, "IncompleteBody", "The request body was cut off.")
    with temp:
        if _content_sha_mismatch(ctx, temp):
            return s3_error(400, "XAmzContentSHA256Mismatch", "x-amz-content-sha256 mismatch.")
        temp.finish()
        with ctx.store.write() as db:
            if db_ops.get_upload(db, upload_id) is None:
                return s3_error(404, "NoSuchUpload", "The specified upload does not exist.")
            os.replace(temp.path, ctx.store.blobs.part_dir(upload_id) / str(number))
            temp.placed = True
            db_ops.record_part(db, upload_id, Part(number, temp.size, temp.md5, temp.sha256))
    return Response(b"", status=200, headers={"ETag": f'"{temp.md5}"'})


def multipart_complete(ctx: Context, image_id: int) -> Response:  # noqa: PLR0911 - one early answer per protocol check
    """``{"uploadID", "completedParts": [{"partNumber", "token"}]}`` -> ``{}`` (R10).

    The parts (ETags matched with quotes stripped) are concatenated into one
    file while hashing; it must match the image hash (B19).
    """
    image = _multipart_image(ctx, image_id)
    if isinstance(image, Response):
        return image
    body = _body(ctx)
    upload = _upload_of(ctx, image, body.get("uploadID"))
    if upload is None:
        return empty(404)
    with ctx.store.read() as db:
        parts = db_ops.parts_of(db, upload.id)
    completed = body.get("completedParts")
    if not isinstance(completed, list) or len(completed) != upload.total_parts:
        return library_error(400, f"completedParts must list all {upload.total_parts} parts")
    for expected, item in enumerate(completed, start=1):
        number = item.get("partNumber") if isinstance(item, dict) else None
        token = item.get("token") if isinstance(item, dict) else None
        part = parts.get(expected)
        if number != expected or part is None or not isinstance(token, str):
            return library_error(400, f"part {expected} is missing or out of order")
        if token.strip().strip('"') != part.md5:
            return library_error(400, f"part {expected}: the token does not match its ETag")
    temp = ctx.store.blobs.temp(md5=False)  # S3 does not hash the whole again; sha256 checks it
    with temp:
        for number in range(1, upload.total_parts + 1):
            with (ctx.store.blobs.part_dir(upload.id) / str(number)).open("rb") as source:
                copy_stream(source, temp)
        if temp.size != upload.filesize or f"sha256.{temp.sha256}" != image.version:
            return library_error(
                400,
                f"the assembled upload (sha256.{temp.sha256}, {temp.size} bytes) does not match "
                f"the image ({image.version}, {upload.filesize} bytes)",
            )
        if not _store_image(ctx, image, temp):
            return empty(404)
    with ctx.store.write() as db:
        db_ops.delete_upload(ctx.store, db, upload.id)
    return json_response({})


def multipart_abort(ctx: Context, image_id: int) -> Response:
    """Discard the upload's parts (only those: the image row stays, B9); 200 empty."""
    image = _multipart_image(ctx, image_id)
    if isinstance(image, Response):
        return image
    upload = _upload_of(ctx, image, _body(ctx).get("uploadID"))
    if upload is None:
        return empty(404)
    with ctx.store.write() as db:
        db_ops.delete_upload(ctx.store, db, upload.id)
    return empty(200)


# -- download target -------------------------------------------------------------------------


def blob(ctx: Context, image_id: int) -> Response:
    """The 303 target: no Bearer needed; ``Range`` -> 206 + ``Content-Range``
    (unless ``--no-range``: always 200 with the whole body)."""
    with ctx.store.read() as db:
        image = db_ops.container_by_id(db, image_id)
    if image is None or image.blob is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    if not ctx.check_signed("blob", image.id, image.blob):
        return s3_error(403, "AccessDenied", "Request has expired or the signature is invalid.")
    return file_response(
        ctx.request,
        ctx.store.blobs.path(image.blob),
        image.size or 0,
        ranges=ctx.config.ranges,
        headers={"ETag": f'"{image.blob}"'},
    )


_PUT = ("PUT",)
ROUTES: list[Route] = [
    *(Route(r, ("POST",), upload_start) for r in with_slash("/v2/imagefile/<int:image_id>")),
    Route("/v2/imagefile/<int:image_id>/_complete", _PUT, upload_complete),
    Route("/v2/imagefile/<int:image_id>/_multipart", ("POST",), multipart_start),
    Route("/v2/imagefile/<int:image_id>/_multipart", _PUT, multipart_part),
    Route("/v2/imagefile/<int:image_id>/_multipart_complete", _PUT, multipart_complete),
    Route("/v2/imagefile/<int:image_id>/_multipart_abort", _PUT, multipart_abort),
    Route("/v1/imagefile/<path:image_id>", ("POST",), upload_v1),
    Route("/_upload/<int:image_id>", _PUT, upload_put, drf=False),
    Route("/_part/<upload_id>/<int:number>", _PUT, part_put, drf=False),
    Route("/_blob/<int:image_id>", ("GET", "HEAD"), blob, drf=False),
]
