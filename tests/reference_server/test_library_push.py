"""Library push: image holders by hash, v2 single part, legacy v1 upload, tags v1/v2."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import requests

from tests.reference_server.helpers import Account, bearer, present, sha256_of
from tests.server.pytest_plugin import RegistryServer

DATA = b"\x00SIF" + bytes(range(256)) * 2000


def test_full_push_then_pull(registry_server: RegistryServer, alice: Account) -> None:
    image_id = alice.library_push("dino", "busybox", DATA, tags=("v1", "latest"))
    for tag in ("v1", "latest"):
        row = registry_server.container("dino", "busybox", tag)
        assert row is not None
        assert row["version"] == sha256_of(DATA)
        assert row["size"] == len(DATA)
        assert row["arch"] == "amd64"
        assert row["path"].read_bytes() == DATA
    assert present(registry_server.container("dino", "busybox", "v1"))["id"] == int(image_id)
    image = requests.get(f"{alice.url}/v1/images/alice/dino/busybox:latest?arch=amd64", timeout=30)
    assert image.json()["data"]["tags"] == ["latest", "v1"]
    assert len(registry_server.containers("dino")) == 2  # no holder left behind


def test_holder_is_created_for_owner_only(
    registry_server: RegistryServer, alice: Account, bob: Account
) -> None:
    registry_server.create_collection("dino", "alice")
    path = f"/v1/images/alice/dino/busybox:{sha256_of(DATA)}?arch=arm64"
    for headers in ({}, bearer(bob.token)):
        answer = requests.get(alice.url + path, headers=headers, timeout=30)
        assert (answer.status_code, answer.content) == (404, b"")
    assert registry_server.containers("dino") == []
    holder = requests.get(alice.url + path, headers=bearer(alice.token), timeout=30).json()["data"]
    assert holder["hash"] == sha256_of(DATA)
    assert holder["uploaded"] is False
    assert holder["size"] is None
    assert holder["arch"] == "arm64"
    assert holder["tags"] == []
    again = requests.get(alice.url + path, headers=bearer(alice.token), timeout=30).json()["data"]
    assert again["id"] == holder["id"]  # B12: the existing image, not a new row
    assert len(registry_server.containers("dino")) == 1


def test_existing_image_is_returned_uploaded(
    registry_server: RegistryServer, alice: Account
) -> None:
    alice.library_push("dino", "busybox", DATA)
    found = requests.get(
        f"{alice.url}/v1/images/alice/dino/busybox:{sha256_of(DATA)}?arch=amd64", timeout=30
    )
    assert found.status_code == 200  # anyone may look a public image up by hash
    assert found.json()["data"]["uploaded"] is True
    assert found.json()["data"]["size"] == len(DATA)


def test_repush_of_same_bytes_only_tags(registry_server: RegistryServer, alice: Account) -> None:
    first = alice.library_push("dino", "busybox", DATA, tags=("v1",))
    second = alice.holder("dino", "busybox", DATA)
    assert second == first
    container_id = alice.container_id("dino", "busybox")
    assert alice.tag(container_id, second, "v2").status_code == 200
    assert present(registry_server.container("dino", "busybox", "v2"))["version"] == sha256_of(DATA)


def test_upload_must_match_the_image_hash(registry_server: RegistryServer, alice: Account) -> None:
    image_id = alice.holder("dino", "busybox", DATA)
    answer = alice.single_part(image_id, DATA + b"tampered")
    assert answer.status_code == 400
    assert "<Code>BadDigest</Code>" in answer.text
    row = registry_server.containers("dino")[0]
    assert row["uploaded"] is False
    assert list((registry_server.data_dir / "blobs").iterdir()) == []
    complete = alice.session().put(
        f"{alice.url}/v2/imagefile/{image_id}/_complete", data="{}", timeout=30
    )
    assert complete.status_code == 400
    assert "error" in complete.json()


def test_presigned_put_checks_signature_and_content_sha(
    registry_server: RegistryServer, alice: Account
) -> None:
    image_id = alice.holder("dino", "busybox", DATA)
    start = alice.session().post(f"{alice.url}/v2/imagefile/{image_id}", data="{}", timeout=30)
    url = start.json()["data"]["uploadURL"]
    assert url.startswith(f"{alice.url}/")
    assert "X-Amz-SignedHeaders=host&" in url
    forged = requests.put(
        url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), data=DATA, timeout=30
    )
    assert forged.status_code == 403
    wrong_sha = requests.put(url, data=DATA, headers={"x-amz-content-sha256": "0" * 64}, timeout=30)
    assert wrong_sha.status_code == 400
    good = requests.put(
        url,
        data=DATA,
        headers={
            "x-amz-content-sha256": sha256_of(DATA)[7:],
            "Content-Type": "application/octet-stream",
        },
        timeout=30,
    )
    assert good.status_code == 200
    assert good.headers["ETag"].startswith('"')


def test_upload_calls_need_the_owner(
    registry_server: RegistryServer, alice: Account, bob: Account
) -> None:
    image_id = alice.holder("dino", "busybox", DATA)
    for headers, status in (({}, 403), (bearer(bob.token), 403)):
        start = requests.post(
            f"{alice.url}/v2/imagefile/{image_id}", headers=headers, data="{}", timeout=30
        )
        assert (start.status_code, start.content) == (status, b"")
    assert alice.single_part(image_id, DATA).status_code == 200
    for headers in ({}, bearer(bob.token)):  # B8: the real _complete has no auth at all
        complete = requests.put(
            f"{alice.url}/v2/imagefile/{image_id}/_complete", headers=headers, data="{}", timeout=30
        )
        assert complete.status_code == 403
    missing = requests.post(
        f"{alice.url}/v2/imagefile/9999", headers=bearer(alice.token), data="{}", timeout=30
    )
    assert missing.status_code == 404


def test_cut_single_part_upload_keeps_nothing(
    registry_server: RegistryServer, alice: Account
) -> None:
    image_id = alice.holder("dino", "busybox", DATA)
    start = alice.session().post(f"{alice.url}/v2/imagefile/{image_id}", data="{}", timeout=30)
    registry_server.inject_fault("PUT", "^/_upload/", cut_after=1000)
    with pytest.raises(requests.ConnectionError):
        requests.put(start.json()["data"]["uploadURL"], data=DATA * 10, timeout=30)
    assert registry_server.containers("dino")[0]["uploaded"] is False
    assert list((registry_server.data_dir / "tmp").iterdir()) == []


def test_legacy_v1_upload(make_registry_server: Callable[..., RegistryServer]) -> None:
    server = make_registry_server(api_version=None)
    alice = Account(server.url, "alice", server.add_user("alice"))
    image_id = alice.holder("dino", "busybox", DATA)
    bad = alice.session().post(f"{server.url}/v1/imagefile/{image_id}", data=DATA[:-1], timeout=30)
    assert bad.status_code == 400
    answer = alice.session().post(f"{server.url}/v1/imagefile/{image_id}", data=DATA, timeout=30)
    assert (answer.status_code, answer.content) == (200, b"")
    assert (
        alice.tag(alice.container_id("dino", "busybox"), image_id, "latest", arch=None).status_code
        == 200
    )
    assert present(server.container("dino", "busybox", "latest"))["path"].read_bytes() == DATA


def test_v1_tags_need_no_content_type(registry_server: RegistryServer, alice: Account) -> None:
    image_id = alice.holder("dino", "busybox", DATA)
    assert alice.single_part(image_id, DATA).status_code == 200
    container_id = alice.container_id("dino", "busybox")
    url = f"{alice.url}/v1/tags/{container_id}"
    body = json.dumps({"Tag": "v1", "ImageID": image_id})
    for content_type in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        refused = requests.post(
            url,
            data=body,
            headers={**bearer(alice.token), "Content-Type": content_type},
            timeout=30,
        )
        assert refused.status_code == 415
    accepted = requests.post(
        url, data=body, headers={**bearer(alice.token), "Content-Type": "*/*"}, timeout=30
    )
    assert (accepted.status_code, accepted.content) == (200, b"")
    tags = requests.get(url, headers=bearer(alice.token), timeout=30)
    assert tags.json() == {"data": {"v1": image_id}}


def test_tag_get_v2_and_errors(
    registry_server: RegistryServer, alice: Account, bob: Account
) -> None:
    image_id = alice.library_push("dino", "busybox", DATA, tags=("v1",))
    container_id = alice.container_id("dino", "busybox")
    v2 = requests.get(
        f"{alice.url}/v2/tags/{container_id}", headers=bearer(alice.token), timeout=30
    )
    assert v2.json() == {"data": {"amd64": {"v1": image_id}}}
    assert requests.get(f"{alice.url}/v1/tags/{container_id}", timeout=30).status_code == 403
    assert (
        requests.get(
            f"{alice.url}/v1/tags/999", headers=bearer(alice.token), timeout=30
        ).status_code
        == 404
    )
    assert bob.tag(container_id, image_id, "stolen").status_code == 403  # B10: owner only
    other = registry_server.create_collection("other", "alice")
    assert alice.tag(str(other), image_id, "v9").status_code == 404  # B10: scoped to the URL
    assert alice.tag(container_id, "9999", "v9").status_code == 404
    bad = alice.session().post(f"{alice.url}/v2/tags/{container_id}", data="{}", timeout=30)
    assert bad.status_code == 400


def test_tag_replaces_unfrozen_and_respects_frozen(
    registry_server: RegistryServer, alice: Account
) -> None:
    alice.library_push("dino", "busybox", b"old", tags=("latest",))
    old_path = present(registry_server.container("dino", "busybox", "latest"))["path"]
    alice.library_push("dino", "busybox", b"new", tags=("latest",))
    stored = present(registry_server.container("dino", "busybox", "latest"))["path"]
    assert stored.read_bytes() == b"new"
    assert not old_path.exists()
    registry_server.freeze("dino", "busybox", "latest")
    image_id = alice.holder("dino", "busybox", b"newer")
    assert alice.single_part(image_id, b"newer").status_code == 200
    refused = alice.tag(alice.container_id("dino", "busybox"), image_id, "latest")
    assert (refused.status_code, refused.json()) == (
        400,
        {"message": "This tag exists, and is frozen."},
    )
    stored = present(registry_server.container("dino", "busybox", "latest"))["path"]
    assert stored.read_bytes() == b"new"
    assert [c["tag"] for c in registry_server.containers("dino")] == ["latest"]  # holder dropped


def test_tagging_needs_an_uploaded_image(registry_server: RegistryServer, alice: Account) -> None:
    alice.library_push("dino", "busybox", b"good", tags=("latest",))
    image_id = alice.holder("dino", "busybox", b"never uploaded")
    refused = alice.tag(alice.container_id("dino", "busybox"), image_id, "latest")
    assert refused.status_code == 400
    stored = present(registry_server.container("dino", "busybox", "latest"))["path"]
    assert stored.read_bytes() == b"good"


def test_contributor_cannot_push(
    registry_server: RegistryServer, alice: Account, bob: Account
) -> None:
    registry_server.create_collection("dino", "alice")
    registry_server.add_collaborator("dino", "bob")
    lookup = bob.session().get(f"{alice.url}/v1/collections/bob/dino", timeout=30)
    assert lookup.status_code == 404
    container = bob.session().get(f"{alice.url}/v1/containers/bob/dino/busybox", timeout=30)
    assert container.status_code == 403
