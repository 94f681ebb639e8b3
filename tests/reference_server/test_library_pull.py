"""Library pull: /v1/images resolution, /v1/imagefile redirects, Range on the target."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.reference_server.helpers import Account, bearer, present, sha256_of
from tests.server.pytest_plugin import RegistryServer

DATA = bytes(range(256)) * 12_000  # 3 MB
RFC3339Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def pushed(registry_server: RegistryServer, alice: Account) -> str:
    """``alice/dino/busybox:latest`` pushed through the library API; its image id."""
    return alice.library_push("dino", "busybox", DATA)


def image(url: str, ref: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(f"{url}/v1/images/{ref}", headers=headers or {}, timeout=30)


def test_image_json(registry_server: RegistryServer, alice: Account, pushed: str) -> None:
    data = image(alice.url, "alice/dino/busybox:latest?arch=amd64").json()["data"]
    assert data["id"] == pushed
    assert data["hash"] == data["container"] == sha256_of(DATA)
    assert data["size"] == len(DATA)
    assert data["arch"] == "amd64"
    assert data["entityName"] == "alice"
    assert data["collectionName"] == "dino"
    assert data["containerName"] == "busybox"
    assert data["tags"] == ["latest"]
    assert data["fingerprints"] == []
    assert data["deleted"] is False
    assert RFC3339Z.match(data["createdAt"])
    assert data["deletedAt"] == "0001-01-01T00:00:00Z"
    assert isinstance(data["containerDownloads"], int)


@pytest.mark.parametrize(
    "ref",
    [
        "alice/dino/busybox:latest?arch=amd64",
        "anyone/dino/busybox?arch=",
        "dino/busybox:latest",
        "dino/busybox:latest/",
        "DINO/BusyBox:Latest",
        "alice/dino/busybox:sha256.{hash}?arch=amd64",
        "dino/busybox:sha256.{hash}",
    ],
)
def test_reference_forms(alice: Account, pushed: str, ref: str) -> None:
    answer = image(alice.url, ref.format(hash=sha256_of(DATA)[7:]))
    assert answer.status_code == 200
    assert answer.json()["data"]["id"] == pushed


def test_library_default_collection(registry_server: RegistryServer, alice: Account) -> None:
    registry_server.add_image("library", "alpine", "3.8", b"alpine", owner="alice")
    assert image(alice.url, "alpine:3.8?arch=amd64").json()["data"]["collectionName"] == "library"


@pytest.mark.parametrize(
    "ref",
    [
        "alice/dino/busybox:v9?arch=amd64",
        "alice/dino/nothing:latest",
        "alice/nothing/busybox:latest",
        "dino/busybox:sha256." + "0" * 64,
        "alice/dino/busybox:latest?arch=arm64",
    ],
)
def test_misses_are_404_empty(alice: Account, pushed: str, ref: str) -> None:
    answer = image(alice.url, ref)
    assert (answer.status_code, answer.content) == (404, b"")


def test_imagefile_redirects_303_to_a_ranged_target(alice: Account, pushed: str) -> None:
    answer = requests.get(
        f"{alice.url}/v1/imagefile/alice/dino/busybox:latest?arch=amd64",
        headers=bearer(alice.token),
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert location.startswith(f"{alice.url}/_blob/")
    probe = requests.get(location, headers={"Range": "bytes=0-1024"}, timeout=30)
    assert probe.status_code == 206
    assert probe.headers["Content-Range"] == f"bytes 0-1024/{len(DATA)}"
    assert probe.headers["Content-Length"] == "1025"
    assert probe.headers["Accept-Ranges"] == "bytes"
    assert probe.content == DATA[:1025]

    part = 5 * 1024 * 128
    spans = [(start, min(start + part, len(DATA)) - 1) for start in range(0, len(DATA), part)]

    def fetch(span: tuple[int, int]) -> bytes:
        got = requests.get(location, headers={"Range": f"bytes={span[0]}-{span[1]}"}, timeout=30)
        assert got.status_code == 206
        return got.content

    with ThreadPoolExecutor(4) as pool:
        assert b"".join(pool.map(fetch, spans)) == DATA
    suffix = requests.get(location, headers={"Range": "bytes=-100"}, timeout=30)
    assert suffix.content == DATA[-100:]
    whole = requests.get(location, timeout=30)
    assert (whole.status_code, whole.content) == (200, DATA)
    unsatisfiable = requests.get(location, headers={"Range": f"bytes={len(DATA)}-"}, timeout=30)
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["Content-Range"] == f"bytes */{len(DATA)}"
    head = requests.head(location, timeout=30)
    assert head.headers["Content-Length"] == str(len(DATA))
    assert requests.get(location + "0", timeout=30).status_code == 403
    row = image(alice.url, "dino/busybox:latest").json()["data"]
    assert row["containerDownloads"] == 1


def test_redirect_and_range_switches(make_registry_server: Callable[..., RegistryServer]) -> None:
    server = make_registry_server(redirect_status=302, ranges=False)
    alice = Account(server.url, "alice", server.add_user("alice"))
    alice.library_push("dino", "busybox", DATA)
    answer = requests.get(
        f"{server.url}/v1/imagefile/dino/busybox:latest", allow_redirects=False, timeout=30
    )
    assert answer.status_code == 302
    ignored = requests.get(
        answer.headers["Location"], headers={"Range": "bytes=0-1024"}, timeout=30
    )
    assert ignored.status_code == 200
    assert "Content-Range" not in ignored.headers
    assert ignored.content == DATA


def test_private_images_need_an_owner_or_contributor(
    registry_server: RegistryServer, alice: Account, bob: Account, staff: Account, pushed: str
) -> None:
    registry_server.set_private("dino", True)
    ref = "alice/dino/busybox:latest?arch=amd64"
    for headers in ({}, bearer(bob.token), bearer(staff.token)):  # B4: 404, not 500
        assert image(alice.url, ref, headers).status_code == 404
        answer = requests.get(
            f"{alice.url}/v1/imagefile/{ref}", headers=headers, allow_redirects=False, timeout=30
        )
        assert answer.status_code == 404
    assert image(alice.url, ref, bearer(alice.token)).status_code == 200
    registry_server.add_collaborator("dino", "bob")
    answer = requests.get(f"{alice.url}/v1/imagefile/{ref}", headers=bearer(bob.token), timeout=30)
    assert answer.content == DATA  # the redirect target itself needs no token


def test_arch_recorded_from_v2_tags(registry_server: RegistryServer, alice: Account) -> None:
    image_id = alice.holder("dino", "busybox", DATA, arch="")
    assert alice.single_part(image_id, DATA).status_code == 200
    assert (
        alice.tag(
            alice.container_id("dino", "busybox"), image_id, "latest", arch="arm64"
        ).status_code
        == 200
    )
    assert present(registry_server.container("dino", "busybox", "latest"))["arch"] == "arm64"
    assert image(alice.url, "dino/busybox:latest?arch=arm64").status_code == 200
    assert image(alice.url, "dino/busybox:latest?arch=amd64").status_code == 404
    assert image(alice.url, "dino/busybox:latest?arch=").status_code == 200


def test_holder_without_file_is_not_downloadable(
    registry_server: RegistryServer, alice: Account
) -> None:
    alice.holder("dino", "busybox", DATA)
    ref = f"alice/dino/busybox:{sha256_of(DATA)}?arch=amd64"
    answer = requests.get(
        f"{alice.url}/v1/imagefile/{ref}", headers=bearer(alice.token), timeout=30
    )
    assert (answer.status_code, answer.content) == (404, b"")
    assert image(alice.url, ref).status_code == 404  # only its owner sees a holder
