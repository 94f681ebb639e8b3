"""Library v2 multipart uploads: start, per-part URLs served here, complete, abort."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.reference_server.helpers import Account, bearer, sha256_of
from tests.server.pytest_plugin import RegistryServer

MiB = 1024 * 1024
PART = 5 * MiB
DATA = hashlib.sha256(b"seed").digest() * ((2 * PART + 12345) // 32)


@pytest.fixture
def server(make_registry_server: Callable[..., RegistryServer]) -> RegistryServer:
    return make_registry_server(part_size=PART)


@pytest.fixture
def owner(server: RegistryServer) -> Account:
    return Account(server.url, "alice", server.add_user("alice"))


def start(account: Account, image_id: str, size: int = len(DATA)) -> requests.Response:
    return account.session().post(
        f"{account.url}/v2/imagefile/{image_id}/_multipart",
        data=json.dumps({"filesize": size}),
        timeout=30,
    )


def part_url(account: Account, image_id: str, upload_id: str, number: int, chunk: bytes) -> str:
    answer = account.session().put(
        f"{account.url}/v2/imagefile/{image_id}/_multipart",
        data=json.dumps(
            {
                "uploadID": upload_id,
                "partNumber": number,
                "partSize": len(chunk),
                "sha256sum": hashlib.sha256(chunk).hexdigest(),
            }
        ),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"]["presignedURL"])


def upload_parts(account: Account, image_id: str, data: bytes) -> tuple[str, list[dict[str, Any]]]:
    """Start and send every part as the Go client does; returns the upload id and tokens."""
    started = start(account, image_id, len(data)).json()["data"]
    tokens = []
    for number in range(1, started["totalParts"] + 1):
        chunk = data[(number - 1) * started["partSize"] : number * started["partSize"]]
        url = part_url(account, image_id, started["uploadID"], number, chunk)
        put = requests.put(
            url,
            data=chunk,
            headers={"x-amz-content-sha256": hashlib.sha256(chunk).hexdigest()},
            timeout=30,
        )
        assert put.status_code == 200, put.text
        assert put.headers["ETag"] == f'"{hashlib.md5(chunk).hexdigest()}"'
        tokens.append({"partNumber": number, "token": put.headers["ETag"]})
    return started["uploadID"], tokens


def complete(
    account: Account, image_id: str, upload_id: str, parts: list[dict[str, Any]]
) -> requests.Response:
    return account.session().put(
        f"{account.url}/v2/imagefile/{image_id}/_multipart_complete",
        data=json.dumps({"uploadID": upload_id, "completedParts": parts}),
        timeout=60,
    )


def test_start_reports_parts(server: RegistryServer, owner: Account) -> None:
    image_id = owner.holder("dino", "busybox", DATA)
    data = start(owner, image_id).json()["data"]
    assert data["partSize"] == PART
    assert data["totalParts"] == 3
    assert isinstance(data["uploadID"], str)
    exact = start(owner, image_id, 2 * PART).json()["data"]
    assert exact["totalParts"] == 2  # B17: ceil, not floor + 1


def test_three_part_upload(server: RegistryServer, owner: Account) -> None:
    image_id = owner.holder("dino", "busybox", DATA)
    upload_id, parts = upload_parts(owner, image_id, DATA)
    assert len(parts) == 3
    answer = complete(owner, image_id, upload_id, parts)
    assert (answer.status_code, answer.json()) == (200, {})
    assert owner.tag(owner.container_id("dino", "busybox"), image_id, "latest").status_code == 200
    row = server.container("dino", "busybox", "latest")
    assert row is not None
    assert row["path"].read_bytes() == DATA
    assert row["size"] == len(DATA)
    assert list((server.data_dir / "parts").iterdir()) == []
    assert list((server.data_dir / "tmp").iterdir()) == []
    url = f"{owner.url}/_part/{upload_id}/1"
    assert requests.put(url, data=b"x", timeout=30).status_code == 403


def test_unquoted_tokens_are_accepted(server: RegistryServer, owner: Account) -> None:
    image_id = owner.holder("dino", "busybox", DATA)
    upload_id, parts = upload_parts(owner, image_id, DATA)
    bare = [{"partNumber": p["partNumber"], "token": p["token"].strip('"')} for p in parts]
    assert complete(owner, image_id, upload_id, bare).status_code == 200


def test_complete_rejects_wrong_parts_and_content(server: RegistryServer, owner: Account) -> None:
    image_id = owner.holder("dino", "busybox", DATA)
    upload_id, parts = upload_parts(owner, image_id, DATA)
    swapped = [parts[1], parts[0], parts[2]]
    assert complete(owner, image_id, upload_id, swapped).status_code == 400
    assert complete(owner, image_id, upload_id, parts[:2]).status_code == 400
    forged = [*parts[:2], {"partNumber": 3, "token": '"0123"'}]
    assert complete(owner, image_id, upload_id, forged).status_code == 400
    assert complete(owner, image_id, "nope", parts).status_code == 404
    # a part replaced by other bytes: ETags match, but the file is not the image (B19)
    chunk = b"z" * PART
    url = part_url(owner, image_id, upload_id, 2, chunk)
    token = requests.put(url, data=chunk, timeout=30).headers["ETag"]
    tampered = [parts[0], {"partNumber": 2, "token": token}, parts[2]]
    answer = complete(owner, image_id, upload_id, tampered)
    assert answer.status_code == 400
    assert "does not match" in answer.json()["error"]["message"]
    assert server.containers("dino")[0]["uploaded"] is False


def test_part_sha_header_is_verified(server: RegistryServer, owner: Account) -> None:
    image_id = owner.holder("dino", "busybox", DATA)
    upload_id = start(owner, image_id).json()["data"]["uploadID"]
    chunk = DATA[:PART]
    url = part_url(owner, image_id, upload_id, 1, chunk)
    assert "X-Amz-SignedHeaders=host%3Bx-amz-content-sha256" in url
    wrong = requests.put(url, data=chunk, headers={"x-amz-content-sha256": "0" * 64}, timeout=30)
    assert wrong.status_code == 400
    assert "XAmzContentSHA256Mismatch" in wrong.text


def test_part_numbers_and_upload_ids_are_checked(server: RegistryServer, owner: Account) -> None:
    image_id = owner.holder("dino", "busybox", DATA)
    upload_id = start(owner, image_id).json()["data"]["uploadID"]
    for number in (0, 4):
        answer = owner.session().put(
            f"{owner.url}/v2/imagefile/{image_id}/_multipart",
            data=json.dumps(
                {"uploadID": upload_id, "partNumber": number, "partSize": 1, "sha256sum": ""}
            ),
            timeout=30,
        )
        assert answer.status_code == 400
    unknown = owner.session().put(
        f"{owner.url}/v2/imagefile/{image_id}/_multipart",
        data=json.dumps({"uploadID": "other", "partNumber": 1, "partSize": 1, "sha256sum": ""}),
        timeout=30,
    )
    assert unknown.status_code == 404
    assert start(owner, image_id, 0).status_code == 400


def test_abort_discards_parts_keeps_image(server: RegistryServer, owner: Account) -> None:
    image_id = owner.holder("dino", "busybox", DATA)
    upload_id, parts = upload_parts(owner, image_id, DATA)
    abort = owner.session().put(
        f"{owner.url}/v2/imagefile/{image_id}/_multipart_abort",
        data=json.dumps({"uploadID": upload_id}),
        timeout=30,
    )
    assert (abort.status_code, abort.content) == (200, b"")
    assert list((server.data_dir / "parts").iterdir()) == []
    assert len(server.containers("dino")) == 1  # B9: the row stays
    assert complete(owner, image_id, upload_id, parts).status_code == 404
    again = owner.session().put(
        f"{owner.url}/v2/imagefile/{image_id}/_multipart_abort",
        data=json.dumps({"uploadID": upload_id}),
        timeout=30,
    )
    assert again.status_code == 404


def test_multipart_needs_the_owner(server: RegistryServer, owner: Account) -> None:
    bob = Account(server.url, "bob", server.add_user("bob"))
    image_id = owner.holder("dino", "busybox", DATA)
    upload_id = start(owner, image_id).json()["data"]["uploadID"]
    assert start(bob, image_id).status_code == 403
    for action in ("_multipart_abort", "_multipart_complete"):
        answer = requests.put(
            f"{server.url}/v2/imagefile/{image_id}/{action}",
            data=json.dumps({"uploadID": upload_id, "completedParts": []}),
            headers=bearer(bob.token),
            timeout=30,
        )
        assert answer.status_code == 403
    anonymous = requests.post(
        f"{server.url}/v2/imagefile/{image_id}/_multipart", data="{}", timeout=30
    )
    assert anonymous.status_code == 403


def test_no_multipart_switch(make_registry_server: Callable[..., RegistryServer]) -> None:
    server = make_registry_server(multipart=False)
    alice = Account(server.url, "alice", server.add_user("alice"))
    image_id = alice.holder("dino", "busybox", DATA)
    answer = start(alice, image_id)
    assert (answer.status_code, answer.content) == (404, b"")
    assert alice.single_part(image_id, DATA).status_code == 200
    assert sha256_of(DATA) == server.containers("dino")[0]["version"]


def test_cut_part_is_not_recorded(server: RegistryServer, owner: Account) -> None:
    image_id = owner.holder("dino", "busybox", DATA)
    upload_id, parts = upload_parts(owner, image_id, DATA)
    chunk = b"w" * PART
    url = part_url(owner, image_id, upload_id, 2, chunk)
    server.inject_fault("PUT", "^/_part/", cut_after=PART // 2)
    with pytest.raises(requests.ConnectionError):
        requests.put(url, data=chunk, timeout=30)
    assert list((server.data_dir / "tmp").iterdir()) == []
    assert complete(owner, image_id, upload_id, parts).status_code == 200
    assert server.containers("dino")[0]["path"].read_bytes() == DATA
