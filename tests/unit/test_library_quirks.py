"""Library backend against scripted servers (``responses``): wire quirks only.

Everything a real server can show is tested end-to-end against the reference
server (tests/e2e); these cover servers and answers it does not reproduce.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from sregistry.errors import NotFound, PermissionDenied, ServerError
from sregistry.main.library.client import LibraryClient

BASE = "http://lib.test"
TOKEN = "t0ken-abc"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def client() -> LibraryClient:
    return LibraryClient(base=BASE, token=TOKEN, arch="amd64", env={})


@pytest.fixture
def image(tmp_path: Path, fixtures_dir: Path) -> Path:
    path = tmp_path / "img.sif"
    path.write_bytes((fixtures_dir / "busybox-like.sif").read_bytes())
    return path


def test_unparsable_version_means_legacy_upload_and_v1_tags(
    mock: responses.RequestsMock, client: LibraryClient, image: Path
) -> None:
    mock.get(f"{BASE}/version", json={"data": {"apiVersion": "v2.0.0"}})
    mock.get(f"{BASE}/v1/entities/alice", json={"data": {"id": "1"}})
    mock.get(f"{BASE}/v1/collections/alice/demo", json={"data": {"id": "2"}})
    mock.get(f"{BASE}/v1/containers/alice/demo/hello", json={"data": {"id": "3"}})
    mock.add(
        responses.GET,
        url=re.compile(rf"{BASE}/v1/images/alice/demo/hello:sha256\.[0-9a-f]{{64}}"),
        json={"data": {"id": "4", "hash": "sha256.x", "uploaded": False}},
    )
    upload = mock.post(f"{BASE}/v1/imagefile/4", body=b"")
    mock.get(f"{BASE}/v1/tags/3", json={"data": {}})
    tag = mock.post(f"{BASE}/v1/tags/3", body=b"")
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    readback = {"data": {"id": "4", "hash": f"sha256.{digest}"}}
    mock.get(f"{BASE}/v1/images/alice/demo/hello:v1", json=readback)

    result = client.push(image, "library://alice/demo/hello:v1")

    assert upload.calls[0].request.headers.get("Content-Type") is None
    assert int(upload.calls[0].request.headers["Content-Length"]) == image.stat().st_size
    sent = tag.calls[0].request
    assert json.loads(sent.body) == {"Tag": "v1", "ImageID": "4"}
    assert sent.headers.get("Content-Type") is None
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert result.version == f"sha256.{result.sha256}"


def test_entity_that_cannot_be_created_says_why(
    mock: responses.RequestsMock, client: LibraryClient, image: Path
) -> None:
    mock.get(f"{BASE}/version", json={"data": {"apiVersion": "2.0.0-alpha.1"}})
    mock.get(f"{BASE}/v1/entities/bob", status=404)
    mock.get(f"{BASE}/v1/token-status", status=200)  # a server that cannot tell more
    mock.get(f"{BASE}/v1/entities", status=404)
    mock.post(f"{BASE}/v1/entities", status=405)
    with pytest.raises(NotFound) as info:
        client.push(image, "library://bob/demo/hello")
    assert "cannot create one" in info.value.message
    assert "your own username" in (info.value.hint or "")


def test_empty_403_names_the_step_and_status(
    mock: responses.RequestsMock, client: LibraryClient, image: Path
) -> None:
    mock.get(f"{BASE}/version", json={"data": {"apiVersion": "2.0.0-alpha.1"}})
    mock.get(f"{BASE}/v1/entities/alice", json={"data": {"id": "1"}})
    mock.get(f"{BASE}/v1/collections/alice/demo", status=403)
    with pytest.raises(PermissionDenied) as info:
        client.push(image, "library://alice/demo/hello")
    assert info.value.message == (
        "look up collection alice/demo: no details in the response (HTTP 403)"
    )
    assert info.value.status == 403


def test_v2_tags_missing_fall_back_to_v1(
    mock: responses.RequestsMock, client: LibraryClient, image: Path
) -> None:
    mock.get(f"{BASE}/version", json={"data": {"apiVersion": "2.0.0-alpha.2"}})
    mock.get(f"{BASE}/v1/entities/alice", json={"data": {"id": "1"}})
    mock.get(f"{BASE}/v1/collections/alice/demo", json={"data": {"id": "2"}})
    mock.get(f"{BASE}/v1/containers/alice/demo/hello", json={"data": {"id": "3"}})
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    mock.add(
        responses.GET,
        url=re.compile(rf"{BASE}/v1/images/.*"),
        json={"data": {"id": "4", "hash": f"sha256.{digest}", "uploaded": True}},
    )
    mock.get(f"{BASE}/v2/tags/3", status=404)
    mock.get(f"{BASE}/v1/tags/3", json={"data": {"v1": "9"}})
    tag = mock.post(f"{BASE}/v1/tags/3", body=b"")
    client.push(image, "library://alice/demo/hello:v1")  # uploaded: true -> no upload
    assert json.loads(tag.calls[0].request.body) == {"Tag": "v1", "ImageID": "4"}


def test_tag_post_must_be_exactly_200(
    mock: responses.RequestsMock, client: LibraryClient, image: Path
) -> None:
    mock.get(f"{BASE}/version", status=404)
    mock.get(f"{BASE}/v1/entities/alice", json={"data": {"id": "1"}})
    mock.get(f"{BASE}/v1/collections/alice/demo", json={"data": {"id": "2"}})
    mock.get(f"{BASE}/v1/containers/alice/demo/hello", json={"data": {"id": "3"}})
    mock.add(
        responses.GET,
        url=re.compile(rf"{BASE}/v1/images/.*"),
        json={"data": {"id": "4", "hash": "sha256.x", "uploaded": True}},
    )
    mock.get(f"{BASE}/v1/tags/3", json={"data": {}})
    mock.post(f"{BASE}/v1/tags/3", status=201, json={"data": {}})
    with pytest.raises(ServerError, match=r"set tag 'latest'.*HTTP 201"):
        client.push(image, "library://alice/demo/hello")


def test_pull_follows_a_relative_302_and_streams_a_200(
    mock: responses.RequestsMock, client: LibraryClient, tmp_path: Path
) -> None:
    body = b"sif bytes" * 1000
    digest = hashlib.sha256(body).hexdigest()
    mock.get(
        f"{BASE}/v1/images/alice/demo/hello:v1",
        json={"data": {"id": "4", "hash": f"sha256.{digest}", "size": None}},
        match=[responses.matchers.query_param_matcher({"arch": "amd64"})],
    )
    mock.get(
        f"{BASE}/v1/imagefile/alice/demo/hello:v1",
        status=302,
        headers={"Location": "/_blob/4?sig=abc"},
    )
    blob_calls = []

    def blob(request: object) -> tuple[int, dict[str, str], bytes]:
        blob_calls.append(request)
        return 200, {"Content-Length": str(len(body))}, body

    mock.add_callback(responses.GET, f"{BASE}/_blob/4", callback=blob)
    out = tmp_path / "out"
    out.mkdir()
    result = client.pull("library://alice/demo/hello:v1", out)
    assert result.path == out / "hello_v1.sif"
    assert result.path.read_bytes() == body
    assert result.sha256 == digest
    assert len(blob_calls) == 2  # the Range probe got a 200, then one plain stream
    assert list(out.iterdir()) == [result.path]
    for call in blob_calls:  # a redirect target never gets the token, even on the same host
        assert "Authorization" not in call.headers  # type: ignore[attr-defined]


def test_the_api_streaming_itself_keeps_the_token(
    mock: responses.RequestsMock, client: LibraryClient, tmp_path: Path
) -> None:
    body = b"x" * 5000
    mock.get(
        f"{BASE}/v1/images/alice/demo/hello:v1",
        json={"data": {"id": "4", "hash": "sha256." + hashlib.sha256(body).hexdigest()}},
    )
    mock.get(f"{BASE}/v1/imagefile/alice/demo/hello:v1", body=body)
    mock.get(f"{BASE}/v1/imagefile/alice/demo/hello:v1", body=body)
    client.pull("library://alice/demo/hello:v1", tmp_path / "x.sif")
    files = [c for c in mock.calls if "/v1/imagefile/" in (c.request.url or "")]
    assert [c.request.headers.get("Range") for c in files] == [f"bytes=0-{32 * 2**20 - 1}", None]
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in files)


def test_search_without_server_support_explains(
    mock: responses.RequestsMock, client: LibraryClient
) -> None:
    mock.get(f"{BASE}/v1/search", status=404)
    with pytest.raises(ServerError, match="no search") as info:
        client.search("busybox")
    assert "library://entity/collection/container" in (info.value.hint or "")


def test_delete_needs_exactly_200(mock: responses.RequestsMock, client: LibraryClient) -> None:
    mock.delete(f"{BASE}/v1/images/alice/demo/hello:v1", status=204)
    with pytest.raises(ServerError, match="HTTP 204"):
        client.delete("library://alice/demo/hello:v1")
    mock.delete(f"{BASE}/v1/images/alice/demo/hello:v2", status=405)
    with pytest.raises(ServerError, match="does not delete"):
        client.delete("library://alice/demo/hello:v2")


def test_a_collection_is_listed_through_search_when_the_server_has_it(
    mock: responses.RequestsMock, client: LibraryClient
) -> None:
    def image(entity: str, tags: list[str]) -> dict[str, object]:
        return {
            "id": f"{entity}-1",
            "hash": "sha256." + "ab" * 32,
            "entityName": entity,
            "collectionName": "demo",
            "containerName": "hello",
            "tags": tags,
            "size": 42,
        }

    mock.get(f"{BASE}/v1/containers/alice/demo", status=404)
    mock.get(
        f"{BASE}/v1/search",
        json={"data": {"image": [image("alice", ["v1", "latest"]), image("bob", ["v1"])]}},
        match=[responses.matchers.query_param_matcher({"value": "demo", "arch": "amd64"})],
    )
    found = client.search("library://alice/demo")
    assert [info.uri for info in found] == ["alice/demo/hello:v1", "alice/demo/hello:latest"]
    assert {info.size for info in found} == {42}


def test_a_missing_image_file_reports_what_the_server_said(
    mock: responses.RequestsMock, client: LibraryClient, tmp_path: Path
) -> None:
    """The pull's 404 goes through the funnel: the server's message and the URL
    (without its query) travel with the error."""
    mock.get(
        f"{BASE}/v1/images/alice/demo/hello:v1",
        json={"data": {"id": "4", "hash": "sha256." + "0" * 64}},
    )
    mock.get(
        f"{BASE}/v1/imagefile/alice/demo/hello:v1",
        status=404,
        json={"error": {"code": 404, "message": "blob 4 is gone"}},
    )
    with pytest.raises(NotFound) as info:
        client.pull("library://alice/demo/hello:v1", tmp_path / "x.sif")
    assert info.value.message == (
        "download alice/demo/hello:v1 (amd64): the library has the image record but not "
        "its file: blob 4 is gone (HTTP 404)"
    )
    assert info.value.url == f"{BASE}/v1/imagefile/alice/demo/hello:v1"
    assert info.value.server_message == "blob 4 is gone"
    assert not (tmp_path / "x.sif").exists()


def test_a_refused_delete_carries_the_url_and_the_server_message(
    mock: responses.RequestsMock, client: LibraryClient
) -> None:
    mock.delete(
        f"{BASE}/v1/images/alice/demo/hello:v1",
        status=405,
        json={"detail": 'Method "DELETE" not allowed.'},
    )
    with pytest.raises(ServerError) as info:
        client.delete("library://alice/demo/hello:v1")
    assert info.value.message.startswith("this library does not delete images")
    assert info.value.url == f"{BASE}/v1/images/alice/demo/hello:v1"
    assert info.value.status == 405
    assert info.value.server_message == 'Method "DELETE" not allowed.'
