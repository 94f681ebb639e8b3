"""How the library backend adapts to what a server offers: no Range, old or missing
apiVersion (legacy upload, v1 tags), 302 redirects, multipart switched off."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from sregistry.errors import ServerError
from tests.e2e.library.conftest import Library, MiB, two_tags

pytestmark = pytest.mark.e2e

REF = "library://alice/demo/hello"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_target_without_range_gets_one_plain_stream(
    make_library: Callable[..., Library], make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    library = make_library(ranges=False)
    image = make_sif(12 * MiB)
    with library.client(part_size=MiB, connections=4) as client:
        client.push(image, REF)
        pulled = client.pull(REF, tmp_path / "x.sif")
    assert sha256(pulled.path) == sha256(image)
    blob = library.requests(r"^/_blob/", "GET")
    # the probe asked for the first part and got the whole body (200): one plain GET follows
    assert [(e["status"], e["headers"].get("Range")) for e in blob] == [
        (200, f"bytes=0-{MiB - 1}"),
        (200, None),
    ]


@pytest.mark.parametrize("api_version", [None, "v2.0.0", "1.0.0"])
def test_no_usable_api_version_means_legacy_upload_and_v1_tags(
    make_library: Callable[..., Library],
    make_sif: Callable[[int], Path],
    tmp_path: Path,
    api_version: str | None,
) -> None:
    library = make_library(api_version=api_version)
    image = make_sif(70 * MiB)  # large, yet no multipart without v2
    with library.client() as client:
        client.push(image, f"{REF}:{two_tags(library)}")
        pulled = client.pull(f"{REF}:v1", tmp_path / "x.sif")
    assert sha256(pulled.path) == sha256(image)
    (legacy,) = library.requests(r"^/v1/imagefile/\d+$", "POST")
    assert legacy["status"] == 200
    assert "Content-Type" not in legacy["headers"]
    assert library.requests(r"^/v2/") == []
    tags = two_tags(library).split(",")
    assert [e["status"] for e in library.requests(r"^/v1/tags/", "POST")] == [200] * len(tags)


def test_alpha1_gets_v2_upload_and_v1_tags_like_singularity_registry_server(
    make_library: Callable[..., Library], make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    library = make_library(api_version="2.0.0-alpha.1", redirect_status=302)
    image = make_sif(2 * MiB)
    with library.client() as client:
        client.push(image, REF)
        pulled = client.pull(REF, tmp_path / "x.sif")  # a 302, which Go 1.2 cannot follow
    assert sha256(pulled.path) == sha256(image)
    assert len(library.requests(r"^/_upload/", "PUT")) == 1
    assert library.requests(r"^/v2/tags/") == []
    assert len(library.requests(r"^/v1/tags/", "POST")) == 1
    (redirect,) = library.requests(r"^/v1/imagefile/", "GET")
    assert redirect["status"] == 302


def test_multipart_switched_off_falls_back_to_one_part(
    make_library: Callable[..., Library], make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    library = make_library(multipart=False)
    image = make_sif(70 * MiB)
    with library.client() as client:
        client.push(image, REF)
        pulled = client.pull(REF, tmp_path / "x.sif")
    assert sha256(pulled.path) == sha256(image)
    (start,) = library.requests(r"/_multipart$", "POST")
    assert start["status"] == 404
    (put,) = library.requests(r"^/_upload/", "PUT")
    assert put["status"] == 200


def test_re_pushing_the_same_bytes_only_retags(
    library: Library, make_sif: Callable[[int], Path]
) -> None:
    image = make_sif(MiB)
    with library.client() as client:
        client.push(image, f"{REF}:v1")
        client.push(image, f"{REF}:v2")
        tags = sorted(info.tag for info in client.search(REF))
    # sregistry 2.1.2 keeps one tag per image: the second push moves the tag (item 9)
    assert tags == (["v2"] if library.server.quirks.one_tag_per_image else ["v1", "v2"])
    assert len(library.requests(r"^/_upload/", "PUT")) == 1


def test_search_and_delete_say_what_this_server_lacks(
    library: Library, make_sif: Callable[[int], Path]
) -> None:
    with library.client() as client:
        client.push(make_sif(MiB), REF)
        with pytest.raises(ServerError, match="no search"):
            client.search("library://hello")
        with pytest.raises(ServerError, match="cannot list the containers"):
            client.search("library://alice/demo")
        with pytest.raises(ServerError, match="does not delete images"):
            client.delete(f"{REF}:latest")
        assert [info.uri for info in client.search(REF)] == ["alice/demo/hello:latest"]
