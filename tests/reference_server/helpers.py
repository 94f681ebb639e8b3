"""Client-side helpers for the reference server's own tests (plain ``requests``)."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import requests

from sregistry.main.registry.auth import authorization_header

TIMEOUT = 120
T = TypeVar("T")


def present(value: T | None) -> T:
    """``value``, which must not be ``None`` (a row the test expects the server to hold)."""
    assert value is not None, "the server holds no such row"
    return value


def sha256_of(data: bytes) -> str:
    """``sha256.<hex>`` of ``data``."""
    return "sha256." + hashlib.sha256(data).hexdigest()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class StreamingForm:
    """A ``multipart/form-data`` body whose file part is read from disk as it is sent
    (``requests`` sees a file-like object with a length, so it sets Content-Length)."""

    def __init__(
        self, fields: list[tuple[str, str]], file_field: str, filename: str, data: bytes | Path
    ) -> None:
        boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={boundary}"
        disposition = '--{}\r\nContent-Disposition: form-data; name="{}"\r\n\r\n{}\r\n'
        head = b"".join(disposition.format(boundary, k, v).encode() for k, v in fields)
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        self._file: BinaryIO = data.open("rb") if isinstance(data, Path) else io.BytesIO(data)
        size = data.stat().st_size if isinstance(data, Path) else len(data)
        self._segments: list[BinaryIO] = [io.BytesIO(head), self._file, io.BytesIO(tail)]
        self._length = len(head) + size + len(tail)

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1024 * 1024):
            yield chunk

    def read(self, size: int = -1) -> bytes:
        out = b""
        while self._segments and (size < 0 or len(out) < size):
            chunk = self._segments[0].read(-1 if size < 0 else size - len(out))
            if not chunk:
                self._segments.pop(0)
            out += chunk
        return out

    def __enter__(self) -> StreamingForm:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


@dataclass(frozen=True)
class Account:
    """One user of one server: signs and sends registry and library requests."""

    url: str
    user: str
    token: str

    # -- registry API ----------------------------------------------------------------------

    def sign(
        self,
        kind: str,
        collection: str,
        name: str,
        tag: str = "latest",
        *,
        now: datetime | None = None,
    ) -> str:
        """An ``SREGISTRY-HMAC-SHA256`` header value."""
        return authorization_header(kind, self.user, self.token, collection, name, tag, now=now)

    def chunked_upload(
        self, collection: str, name: str, tag: str = "latest", *, header: str | None = None
    ) -> requests.Response:
        """Registry push step 1."""
        if header is None:
            header = self.sign("push", collection, name, tag)
        return requests.post(
            f"{self.url}/api/upload/chunked_upload",
            json={"collection": collection, "name": name, "tag": tag},
            headers={"Authorization": header} if header else {},
            timeout=TIMEOUT,
        )

    def upload(
        self,
        cid: int,
        collection: str,
        name: str,
        tag: str,
        data: bytes | Path,
        *,
        metadata: Any = None,
        header: str | None = None,
    ) -> requests.Response:
        """Registry push step 2: multipart ``/upload``, fields in sregistry-cli's order,
        the file streamed from disk (never read whole)."""
        if header is None:
            header = self.sign("upload", collection, name, tag)
        fields = [
            ("SREGISTRY_EVENT", header),
            ("name", name),
            ("collection", str(cid)),
            ("tag", tag),
        ]
        if metadata is not None:
            fields.append(
                ("metadata", metadata if isinstance(metadata, str) else json.dumps(metadata))
            )
        form = StreamingForm(fields, "file1", f"{name}:{tag}.sif", data)
        headers = {"Content-Type": form.content_type}
        if header:
            headers["Authorization"] = header
        with form:
            return requests.post(f"{self.url}/upload", data=form, headers=headers, timeout=TIMEOUT)

    def push(
        self, collection: str, name: str, tag: str, data: bytes | Path, **kw: Any
    ) -> requests.Response:
        """Both push steps; returns the ``/upload`` response (step 1 must succeed)."""
        first = self.chunked_upload(collection, name, tag)
        assert first.status_code == 200, first.text
        return self.upload(first.json()["cid"], collection, name, tag, data, **kw)

    def pull_manifest(
        self, collection: str, name: str, tag: str = "latest", *, signed: bool = False
    ) -> requests.Response:
        headers = {"Authorization": self.sign("pull", collection, name, tag)} if signed else {}
        return requests.get(
            f"{self.url}/api/container/{collection}/{name}:{tag}", headers=headers, timeout=TIMEOUT
        )

    # -- library API -------------------------------------------------------------------------

    def session(self) -> requests.Session:
        """A session sending ``BEARER <token>`` as the 1.2.2 Go client does."""
        session = requests.Session()
        session.headers["Authorization"] = f"BEARER {self.token}"
        return session

    def holder(self, collection: str, name: str, data: bytes | str, *, arch: str = "amd64") -> str:
        """Push steps 2-8: entity, collection (created on 404), image by hash -> image id.

        ``data`` is the image's bytes or its ``sha256.<hex>``.
        """
        digest = data if isinstance(data, str) else sha256_of(data)
        session = self.session()
        found = session.get(f"{self.url}/v1/collections/{self.user}/{collection}", timeout=TIMEOUT)
        if found.status_code == 404:
            me = session.get(f"{self.url}/v1/entities/{self.user}", timeout=TIMEOUT)
            assert me.status_code == 200, me.text
            created = session.post(
                f"{self.url}/v1/collections",
                data=json.dumps({"entity": me.json()["data"]["id"], "name": collection}),
                timeout=TIMEOUT,
            )
            assert created.status_code == 200, created.text
        container = session.get(
            f"{self.url}/v1/containers/{self.user}/{collection}/{name}", timeout=TIMEOUT
        )
        assert container.status_code == 200, container.text
        image = session.get(
            f"{self.url}/v1/images/{self.user}/{collection}/{name}:{digest}?arch={arch}",
            timeout=TIMEOUT,
        )
        assert image.status_code == 200, image.text
        return str(image.json()["data"]["id"])

    def container_id(self, collection: str, name: str) -> str:
        response = self.session().get(
            f"{self.url}/v1/containers/{self.user}/{collection}/{name}", timeout=TIMEOUT
        )
        assert response.status_code == 200, response.text
        return str(response.json()["data"]["id"])

    def single_part(self, image_id: str, data: bytes | Path) -> requests.Response:
        """v2 single-part upload: POST for the URL, PUT the bytes, PUT ``_complete``."""
        session = self.session()
        start = session.post(f"{self.url}/v2/imagefile/{image_id}", data="{}", timeout=TIMEOUT)
        assert start.status_code == 200, start.text
        if isinstance(data, Path):
            with data.open("rb") as handle:
                put = requests.put(start.json()["data"]["uploadURL"], data=handle, timeout=TIMEOUT)
        else:
            put = requests.put(start.json()["data"]["uploadURL"], data=data, timeout=TIMEOUT)
        if put.status_code != 200:
            return put
        return session.put(
            f"{self.url}/v2/imagefile/{image_id}/_complete", data="{}", timeout=TIMEOUT
        )

    def tag(
        self, collection_id: str, image_id: str, tag: str, *, arch: str | None = "amd64"
    ) -> requests.Response:
        """v2 tag POST (v1 when ``arch`` is None), with no Content-Type as Go sends it."""
        body: dict[str, str] = {"Tag": tag, "ImageID": image_id}
        version = "v1" if arch is None else "v2"
        if arch is not None:
            body["Arch"] = arch
        return self.session().post(
            f"{self.url}/{version}/tags/{collection_id}", data=json.dumps(body), timeout=TIMEOUT
        )

    def library_push(
        self, collection: str, name: str, data: bytes, *, tags: tuple[str, ...] = ("latest",)
    ) -> str:
        """A whole single-part library push; returns the image id."""
        image_id = self.holder(collection, name, data)
        done = self.single_part(image_id, data)
        assert done.status_code == 200, done.text
        container_id = self.container_id(collection, name)
        for tag in tags:
            tagged = self.tag(container_id, image_id, tag)
            assert tagged.status_code == 200, tagged.text
        return image_id

    def multipart(self, image_id: str, path: Path) -> requests.Response:
        """v2 multipart upload of a file, streaming each part from disk."""
        session = self.session()
        base = f"{self.url}/v2/imagefile/{image_id}"
        size = path.stat().st_size
        start = session.post(
            f"{base}/_multipart", data=json.dumps({"filesize": size}), timeout=TIMEOUT
        )
        assert start.status_code == 200, start.text
        upload = start.json()["data"]
        parts = []
        for number in range(1, upload["totalParts"] + 1):
            offset = (number - 1) * upload["partSize"]
            length = min(upload["partSize"], size - offset)
            with FileSlice(path, offset, length) as chunk:
                body = {"uploadID": upload["uploadID"], "partNumber": number, "partSize": length}
                presign = session.put(f"{base}/_multipart", data=json.dumps(body), timeout=TIMEOUT)
                assert presign.status_code == 200, presign.text
                put = requests.put(
                    presign.json()["data"]["presignedURL"], data=chunk, timeout=TIMEOUT
                )
            assert put.status_code == 200, put.text
            parts.append({"partNumber": number, "token": put.headers["ETag"]})
        body = {"uploadID": upload["uploadID"], "completedParts": parts}
        return session.put(f"{base}/_multipart_complete", data=json.dumps(body), timeout=TIMEOUT)


class FileSlice:
    """``length`` bytes of a file from ``offset``, as a streamed request body."""

    def __init__(self, path: Path, offset: int, length: int) -> None:
        self._file = path.open("rb")
        self._file.seek(offset)
        self._left = length

    def __len__(self) -> int:
        return self._left

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1024 * 1024):
            yield chunk

    def read(self, size: int = -1) -> bytes:
        want = self._left if size < 0 else min(size, self._left)
        chunk = self._file.read(want)
        self._left -= len(chunk)
        return chunk

    def __enter__(self) -> FileSlice:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()
