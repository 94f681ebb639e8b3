"""Registry pull: manifest, private collections, HMAC failures, limits, the download route."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.reference_server.helpers import Account, present, sha256_of
from tests.server.pytest_plugin import RegistryServer


@pytest.fixture
def pushed(registry_server: RegistryServer, alice: Account) -> bytes:
    data = bytes(range(256)) * 4000
    assert alice.push("dino", "busybox", "latest", data).json()["message"] == "Upload Complete"
    return data


def test_manifest_fields_and_download(
    registry_server: RegistryServer, alice: Account, pushed: bytes
) -> None:
    answer = requests.get(f"{alice.url}/api/container/dino/busybox:latest", timeout=30)
    assert answer.status_code == 200
    manifest = answer.json()
    assert list(manifest) == [
        "id", "name", "image", "tag", "add_date", "metrics", "version", "frozen", "metadata",
        "collection",
    ]  # fmt: skip
    assert manifest["collection"] == "dino"
    assert manifest["version"] == sha256_of(pushed)
    assert manifest["frozen"] is False
    secret = present(registry_server.collection("dino"))["secret"]
    assert manifest["image"] == f"{alice.url}/containers/{manifest['id']}/download/{secret}"
    assert datetime.fromisoformat(manifest["add_date"]).utcoffset() is not None
    download = requests.get(manifest["image"], timeout=30)
    assert download.status_code == 200
    assert download.content == pushed
    assert download.headers["Content-Type"] == "application/img"
    assert download.headers["Content-Length"] == str(len(pushed))
    assert (
        download.headers["Content-Disposition"] == 'attachment; filename="dino-busybox:latest.sif"'
    )


def test_default_tag_and_version_suffix(alice: Account, pushed: bytes) -> None:
    plain = requests.get(f"{alice.url}/api/container/dino/busybox", timeout=30)
    assert plain.json()["tag"] == "latest"
    # R22: @version is ignored, the request resolves :latest
    other = requests.get(f"{alice.url}/api/container/dino/busybox@sha256.0000", timeout=30)
    assert other.json()["version"] == sha256_of(pushed)
    slash = requests.get(f"{alice.url}/api/container/dino/busybox:latest/", timeout=30)
    assert slash.status_code == 200


def test_missing_container_is_404(alice: Account, pushed: bytes) -> None:
    for path in ("dino/nothing:latest", "dino/busybox:v9", "nocoll/busybox:latest"):
        answer = requests.get(f"{alice.url}/api/container/{path}", timeout=30)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Not found."})


def test_private_pull_needs_a_signature(
    registry_server: RegistryServer, alice: Account, pushed: bytes
) -> None:
    registry_server.set_private("dino", True)
    unsigned = alice.pull_manifest("dino", "busybox")
    assert (unsigned.status_code, unsigned.json()) == (403, {"detail": "Authentication Required"})
    signed = alice.pull_manifest("dino", "busybox", signed=True)
    assert signed.status_code == 200
    assert requests.get(signed.json()["image"], timeout=30).content == pushed


def test_private_pull_by_collaborator_and_staff_not_others(
    registry_server: RegistryServer, alice: Account, bob: Account, staff: Account, pushed: bytes
) -> None:
    registry_server.set_private("dino", True)
    refused = bob.pull_manifest("dino", "busybox", signed=True)
    assert (refused.status_code, refused.json()) == (403, {"detail": "Unauthorized"})
    registry_server.add_collaborator("dino", "bob")
    assert bob.pull_manifest("dino", "busybox", signed=True).status_code == 200
    assert staff.pull_manifest("dino", "busybox", signed=True).status_code == 200


def _get(account: Account, header: str) -> requests.Response:
    return requests.get(
        f"{account.url}/api/container/dino/busybox:latest",
        headers={"Authorization": header},
        timeout=30,
    )


@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(lambda a: a.sign("push", "dino", "busybox", "latest"), id="wrong-kind"),
        pytest.param(
            lambda a: a.sign(
                "pull",
                "dino",
                "busybox",
                "latest",
                now=datetime.now(timezone.utc) + timedelta(hours=2),
            ),
            id="stale-hour",
        ),
        pytest.param(
            lambda a: Account(a.url, a.user, "f" * 40).sign("pull", "dino", "busybox", "latest"),
            id="bad-token",
        ),
        pytest.param(
            lambda a: Account(a.url, "nobody", a.token).sign("pull", "dino", "busybox", "latest"),
            id="unknown-user",
        ),
        pytest.param(lambda a: a.sign("pull", "dino", "busybox", "v1"), id="other-payload"),
    ],
)
def test_bad_signature_is_http_200_body_400(
    registry_server: RegistryServer,
    alice: Account,
    pushed: bytes,
    make_header: Callable[[Account], str],
) -> None:
    registry_server.set_private("dino", True)
    answer = _get(alice, make_header(alice))
    assert answer.status_code == 200
    assert answer.text == "400"
    assert answer.json() == 400


@pytest.mark.parametrize("header", ["Bearer abc", "Token abc", "SREGISTRY-HMAC-SHA256 nonsense"])
def test_non_hmac_header_on_private_is_403(
    registry_server: RegistryServer, alice: Account, pushed: bytes, header: str
) -> None:
    registry_server.set_private("dino", True)
    answer = _get(alice, header)
    assert (answer.status_code, answer.json()) == (403, {"detail": "Unauthorized"})  # B5


def test_server_clock_skew_makes_signatures_stale(
    registry_server: RegistryServer, alice: Account, pushed: bytes
) -> None:
    registry_server.set_private("dino", True)
    registry_server.set_clock_offset(3600)
    assert alice.pull_manifest("dino", "busybox", signed=True).text == "400"
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert (
        _get(alice, alice.sign("pull", "dino", "busybox", "latest", now=later)).status_code == 200
    )
    registry_server.set_clock_offset(0)
    assert alice.pull_manifest("dino", "busybox", signed=True).status_code == 200


def test_public_pull_ignores_authorization(alice: Account, pushed: bytes) -> None:
    assert _get(alice, "Bearer anything").status_code == 200
    assert alice.pull_manifest("dino", "busybox", signed=True).status_code == 200


def test_weekly_limit(make_registry_server: Callable[..., RegistryServer]) -> None:
    server = make_registry_server(get_limit=2)
    alice = Account(server.url, "alice", server.add_user("alice"))
    alice.push("dino", "busybox", "latest", b"x")
    image = alice.pull_manifest("dino", "busybox").json()["image"]
    assert requests.head(image, timeout=30).status_code == 200  # HEAD counts too (R19)
    assert requests.get(image, timeout=30).status_code == 200
    limited = alice.pull_manifest("dino", "busybox")
    assert (limited.status_code, limited.text) == (200, "429")
    assert requests.get(image, timeout=30).status_code == 403
    assert present(server.container("dino", "busybox", "latest"))["get_count"] == 2


def test_download_wrong_secret_is_404(alice: Account, pushed: bytes) -> None:
    image = alice.pull_manifest("dino", "busybox").json()["image"]
    wrong = image.rsplit("/", 1)[0] + "/not-the-secret"
    assert requests.get(wrong, timeout=30).status_code == 404
    assert requests.get(image + "/", timeout=30).status_code == 200


def test_download_ignores_range_by_default(alice: Account, pushed: bytes) -> None:
    image = alice.pull_manifest("dino", "busybox").json()["image"]
    answer = requests.get(image, headers={"Range": "bytes=10-19"}, timeout=30)
    assert answer.status_code == 200
    assert answer.content == pushed
    assert "Accept-Ranges" not in answer.headers


def test_registry_range_switch(make_registry_server: Callable[..., RegistryServer]) -> None:
    server = make_registry_server(registry_range=True)
    alice = Account(server.url, "alice", server.add_user("alice"))
    data = bytes(range(256)) * 100
    alice.push("dino", "busybox", "latest", data)
    image = alice.pull_manifest("dino", "busybox").json()["image"]
    answer = requests.get(image, headers={"Range": "bytes=10-19"}, timeout=30)
    assert answer.status_code == 206
    assert answer.content == data[10:20]
    assert answer.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    resumed = requests.get(image, headers={"Range": "bytes=25000-"}, timeout=30)
    assert resumed.content == data[25000:]
