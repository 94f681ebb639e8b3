"""Registry push (chunked_upload + /upload): every push rule and auth failure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.reference_server.helpers import Account, present, sha256_of
from tests.server.pytest_plugin import RegistryServer

HTML_500 = "Server Error (500)"


def stored(server: RegistryServer, collection: str, name: str, tag: str) -> bytes | None:
    row = server.container(collection, name, tag)
    return None if row is None else row["path"].read_bytes()


def test_push_creates_collection_owned_by_pusher(
    registry_server: RegistryServer, alice: Account
) -> None:
    first = alice.chunked_upload("dinosaur", "busybox", "latest")
    assert first.status_code == 200
    assert first.json() == {"cid": present(registry_server.collection("dinosaur"))["id"]}
    done = alice.upload(first.json()["cid"], "dinosaur", "busybox", "latest", b"image bytes")
    assert (done.status_code, done.json()) == (200, {"message": "Upload Complete"})
    assert present(registry_server.collection("dinosaur"))["owners"] == ["alice"]
    row = registry_server.container("dinosaur", "busybox", "latest")
    assert row is not None
    assert row["version"] == sha256_of(b"image bytes")
    assert row["size"] == len(b"image bytes")
    assert row["path"].read_bytes() == b"image bytes"
    assert not row["private"]


def test_collection_name_is_normalised_before_signing(
    registry_server: RegistryServer, alice: Account
) -> None:
    legacy_signature = alice.sign("push", "my_coll", "img", "latest")
    refused = alice.chunked_upload("My_Coll", "img", "latest", header=legacy_signature)
    assert refused.status_code == 500
    header = alice.sign("push", "my-coll", "img", "latest")
    accepted = alice.chunked_upload("My_Coll", "img", "latest", header=header)
    assert accepted.status_code == 200
    # step 2 signs the collection name the server stored
    done = alice.upload(accepted.json()["cid"], "my-coll", "img", "latest", b"x")
    assert done.json() == {"message": "Upload Complete"}
    assert registry_server.container("my-coll", "img", "latest") is not None


def test_name_and_tag_are_stored_lowercased(
    registry_server: RegistryServer, alice: Account
) -> None:
    assert alice.push("dino", "BusyBox", "V1", b"x").json() == {"message": "Upload Complete"}
    assert registry_server.container("dino", "busybox", "v1") is not None


def test_unfrozen_tag_is_replaced_and_old_file_released(
    registry_server: RegistryServer, alice: Account
) -> None:
    alice.push("dino", "busybox", "latest", b"first")
    old = registry_server.container("dino", "busybox", "latest")
    assert alice.push("dino", "busybox", "latest", b"second").json()["message"] == "Upload Complete"
    new = registry_server.container("dino", "busybox", "latest")
    assert old is not None
    assert new is not None
    assert new["path"].read_bytes() == b"second"
    assert not old["path"].exists()
    assert [c["tag"] for c in registry_server.containers("dino")] == ["latest"]


def test_frozen_tag_is_kept(registry_server: RegistryServer, alice: Account) -> None:
    alice.push("dino", "busybox", "latest", b"frozen content")
    registry_server.freeze("dino", "busybox", "latest")
    answer = alice.push("dino", "busybox", "latest", b"new content")
    version = sha256_of(b"frozen content")
    assert (answer.status_code, answer.json()) == (
        200,
        {"message": f"dino/busybox:{version} already exists."},
    )
    assert stored(registry_server, "dino", "busybox", "latest") == b"frozen content"
    assert list((registry_server.data_dir / "tmp").iterdir()) == []


def test_new_tag_and_new_name_are_added(registry_server: RegistryServer, alice: Account) -> None:
    alice.push("dino", "busybox", "v1", b"one")
    alice.push("dino", "busybox", "v2", b"two")
    alice.push("dino", "alpine", "v1", b"three")
    assert stored(registry_server, "dino", "busybox", "v1") == b"one"
    assert stored(registry_server, "dino", "busybox", "v2") == b"two"
    assert stored(registry_server, "dino", "alpine", "v1") == b"three"


def test_same_content_under_two_tags_shares_one_file(
    registry_server: RegistryServer, alice: Account
) -> None:
    alice.push("dino", "busybox", "v1", b"same")
    alice.push("dino", "busybox", "latest", b"same")
    alice.push("dino", "busybox", "v1", b"other")
    assert stored(registry_server, "dino", "busybox", "latest") == b"same"


def test_only_owners_push_into_existing_collection(
    registry_server: RegistryServer, alice: Account, bob: Account
) -> None:
    alice.push("dino", "busybox", "latest", b"alice's")
    assert bob.chunked_upload("dino", "busybox", "latest").status_code == 500
    cid = present(registry_server.collection("dino"))["id"]
    stolen = bob.upload(cid, "dino", "busybox", "latest", b"bob's")
    assert stolen.status_code == 500
    assert HTML_500 in stolen.text
    registry_server.add_owner("dino", "bob")
    assert bob.push("dino", "busybox", "latest", b"bob's").json()["message"] == "Upload Complete"


def test_collaborator_reads_private_but_cannot_push(
    registry_server: RegistryServer, alice: Account, bob: Account
) -> None:
    alice.push("dino", "busybox", "latest", b"private bytes")
    registry_server.set_private("dino", True)
    registry_server.add_collaborator("dino", "bob")
    assert bob.pull_manifest("dino", "busybox", signed=True).status_code == 200
    assert bob.chunked_upload("dino", "busybox", "latest").status_code == 500
    assert stored(registry_server, "dino", "busybox", "latest") == b"private bytes"


def test_staff_non_owner_upload_is_refused_not_dropped(
    registry_server: RegistryServer, alice: Account, staff: Account
) -> None:
    alice.push("dino", "busybox", "latest", b"alice's")
    first = staff.chunked_upload("dino", "busybox", "latest")
    assert first.status_code == 200  # staff pass the permission check (as the real server)
    second = staff.upload(first.json()["cid"], "dino", "busybox", "latest", b"staff's")
    assert second.status_code == 403  # B16: the real server says "Upload Complete" and drops it
    assert stored(registry_server, "dino", "busybox", "latest") == b"alice's"


def test_staff_create_their_own_collections(
    registry_server: RegistryServer, staff: Account
) -> None:
    assert staff.push("ops", "tool", "latest", b"t").json()["message"] == "Upload Complete"
    assert present(registry_server.collection("ops"))["owners"] == ["root"]


def test_without_user_collections_only_staff_push(
    make_registry_server: Callable[..., RegistryServer],
) -> None:
    server = make_registry_server(user_collections=False)
    alice = Account(server.url, "alice", server.add_user("alice"))
    staff = Account(server.url, "root", server.add_user("root", staff=True))
    assert alice.chunked_upload("dino", "busybox").status_code == 500
    assert server.collection("dino") is None
    # the check applies to existing collections too (has_create_permission, as upstream)
    server.create_collection("mine", "alice")
    assert alice.chunked_upload("mine", "busybox").status_code == 500
    assert staff.push("ops", "tool", "latest", b"t").json()["message"] == "Upload Complete"


def test_private_default_makes_new_collections_private(
    make_registry_server: Callable[..., RegistryServer],
) -> None:
    server = make_registry_server(private_default=True)
    alice = Account(server.url, "alice", server.add_user("alice"))
    alice.push("dino", "busybox", "latest", b"x")
    assert present(server.collection("dino"))["private"] is True


def _stale(account: Account, kind: str, collection: str, name: str, tag: str) -> str:
    return account.sign(
        kind, collection, name, tag, now=datetime.now(timezone.utc) - timedelta(hours=1)
    )


@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(lambda a, c, n, t: "", id="missing"),
        pytest.param(lambda a, c, n, t: f"Bearer {a.token}", id="malformed"),
        pytest.param(lambda a, c, n, t: a.sign("pull", c, n, t), id="wrong-kind"),
        pytest.param(lambda a, c, n, t: _stale(a, "push", c, n, t), id="stale-hour"),
        pytest.param(
            lambda a, c, n, t: Account(a.url, a.user, "0" * 40).sign("push", c, n, t),
            id="bad-token",
        ),
        pytest.param(lambda a, c, n, t: a.sign("push", c, n, "other"), id="other-payload"),
    ],
)
def test_step_one_auth_failures_are_500(
    registry_server: RegistryServer,
    alice: Account,
    make_header: Callable[[Account, str, str, str], str],
) -> None:
    answer = alice.chunked_upload(
        "dino", "busybox", "latest", header=make_header(alice, "dino", "busybox", "latest")
    )
    assert answer.status_code == 500
    assert HTML_500 in answer.text
    assert registry_server.collection("dino") is None


@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(lambda a: f"Bearer {a.token}", id="malformed"),
        pytest.param(lambda a: a.sign("push", "dino", "busybox", "latest"), id="wrong-kind"),
        pytest.param(lambda a: _stale(a, "upload", "dino", "busybox", "latest"), id="stale-hour"),
        pytest.param(
            lambda a: Account(a.url, a.user, "0" * 40).sign("upload", "dino", "busybox", "latest"),
            id="bad-token",
        ),
    ],
)
def test_step_two_auth_failures_are_500_and_store_nothing(
    registry_server: RegistryServer, alice: Account, make_header: Callable[[Account], str]
) -> None:
    alice.push("dino", "busybox", "latest", b"good")
    cid = present(registry_server.collection("dino"))["id"]
    answer = alice.upload(cid, "dino", "busybox", "latest", b"evil", header=make_header(alice))
    assert answer.status_code == 500
    assert stored(registry_server, "dino", "busybox", "latest") == b"good"
    assert list((registry_server.data_dir / "tmp").iterdir()) == []


def test_step_two_missing_header_and_event_is_500(
    registry_server: RegistryServer, alice: Account
) -> None:
    cid = alice.chunked_upload("dino", "busybox").json()["cid"]
    answer = requests.post(
        f"{alice.url}/upload",
        files=[
            ("name", (None, "busybox")),
            ("collection", (None, str(cid))),
            ("file1", ("f", b"x")),
        ],
        timeout=30,
    )
    assert answer.status_code == 500


def test_event_field_alone_authenticates(registry_server: RegistryServer, alice: Account) -> None:
    cid = alice.chunked_upload("dino", "busybox").json()["cid"]
    header = alice.sign("upload", "dino", "busybox", "latest")
    answer = requests.post(
        f"{alice.url}/upload",
        files=[
            ("SREGISTRY_EVENT", (None, header)),
            ("name", (None, "busybox")),
            ("collection", (None, str(cid))),
            ("tag", (None, "latest")),
            ("file1", ("busybox:latest.sif", b"x")),
        ],
        timeout=30,
    )
    assert answer.json() == {"message": "Upload Complete"}


def test_unknown_cid_is_500(registry_server: RegistryServer, alice: Account) -> None:
    assert alice.upload(999, "dino", "busybox", "latest", b"x").status_code == 500


def test_upload_without_file_or_not_multipart(
    registry_server: RegistryServer, alice: Account
) -> None:
    cid = alice.chunked_upload("dino", "busybox").json()["cid"]
    header = alice.sign("upload", "dino", "busybox", "latest")
    fields = [
        ("name", (None, "busybox")),
        ("collection", (None, str(cid))),
        ("tag", (None, "latest")),
    ]
    no_file = requests.post(
        f"{alice.url}/upload", files=fields, headers={"Authorization": header}, timeout=30
    )
    assert no_file.status_code == 400
    as_json = requests.post(
        f"{alice.url}/upload",
        json={"name": "busybox"},
        headers={"Authorization": header},
        timeout=30,
    )
    assert as_json.status_code == 400


def test_metadata_is_stored_with_labels_and_arch(
    registry_server: RegistryServer, alice: Account
) -> None:
    metadata = {
        "data": {
            "attributes": {
                "labels": {"org.label-schema.version": "1.2", "MAINTAINER": "alice", "n": 3},
                "runscript": "#!/bin/sh\necho hi\n",
                "environment": {"90-environment.sh": "export A=1"},
            }
        },
        "type": "container",
        "arch": "arm64",
    }
    done = alice.push("dino", "busybox", "latest", b"x", metadata=metadata)
    assert done.json() == {"message": "Upload Complete"}
    row = registry_server.container("dino", "busybox", "latest")
    assert row is not None
    assert row["metadata"] == metadata
    assert row["arch"] == "arm64"
    assert row["labels"] == {"MAINTAINER": "alice", "org.label-schema.version": "1.2"}
    assert alice.pull_manifest("dino", "busybox").json()["metadata"] == metadata


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_invalid_metadata_stores_nothing(
    registry_server: RegistryServer, alice: Account, text: str
) -> None:
    alice.push("dino", "busybox", "latest", b"before")
    answer = alice.push("dino", "busybox", "latest", b"after", metadata=text)
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("Invalid metadata")
    assert stored(registry_server, "dino", "busybox", "latest") == b"before"


def test_filename_too_long_is_a_200_message(
    registry_server: RegistryServer, alice: Account
) -> None:
    name, tag = "n" * 150, "t" * 70  # <name>:<tag>@<md5>.sif > 255 characters
    answer = alice.push("dino", name, tag, b"x")
    assert (answer.status_code, answer.json()) == (
        200,
        {"message": "Filename too long!\nMust be less than 255 characters"},
    )
    assert registry_server.container("dino", name, tag) is None


def test_cut_off_upload_keeps_previous_image(
    registry_server: RegistryServer, alice: Account
) -> None:
    alice.push("dino", "busybox", "latest", b"previous")
    cid = present(registry_server.collection("dino"))["id"]
    registry_server.inject_fault("POST", "^/upload$", cut_after=200_000)
    with pytest.raises(requests.ConnectionError):
        alice.upload(cid, "dino", "busybox", "latest", b"y" * 4_000_000)
    assert stored(registry_server, "dino", "busybox", "latest") == b"previous"
    assert list((registry_server.data_dir / "tmp").iterdir()) == []


def test_large_upload_hashes_match(registry_server: RegistryServer, alice: Account) -> None:
    data = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32 + 7)
    assert alice.push("dino", "big", "latest", data).json()["message"] == "Upload Complete"
    row = registry_server.container("dino", "big", "latest")
    assert row is not None
    assert row["version"] == sha256_of(data)
    assert row["size"] == len(data)


def test_chunked_upload_body_errors_are_500(
    registry_server: RegistryServer, alice: Account
) -> None:
    header = alice.sign("push", "dino", "busybox", "latest")
    for body in (
        b"{not json",
        json.dumps(["x"]).encode(),
        json.dumps({"name": "busybox"}).encode(),
    ):
        answer = requests.post(
            f"{alice.url}/api/upload/chunked_upload",
            data=body,
            headers={"Authorization": header},
            timeout=30,
        )
        assert answer.status_code == 500


@pytest.mark.parametrize(
    ("name", "tag"),
    [("..", "latest"), ("../x", "latest"), ("x\\..\\PWNED", "latest"), ("ok", "..")],
)
def test_names_that_are_paths_are_refused(
    registry_server: RegistryServer, alice: Account, name: str, tag: str
) -> None:
    first = alice.chunked_upload("dino", name, tag)
    assert first.status_code == 500
    cid = alice.chunked_upload("dino", "ok", "latest").json()["cid"]
    done = alice.upload(cid, "dino", name, tag, b"x")
    assert done.status_code == 400
    assert registry_server.container("dino", name, tag) is None
