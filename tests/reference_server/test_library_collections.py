"""Library collections and containers: GET/POST /v1/collections, lookups, /v1/containers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.reference_server.helpers import Account, bearer, present
from tests.server.pytest_plugin import RegistryServer

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def create(account: Account, body: Any, *, raw: str | None = None) -> requests.Response:
    return requests.post(
        f"{account.url}/v1/collections",
        data=raw if raw is not None else json.dumps(body),
        headers=bearer(account.token),
        timeout=30,
    )


def entity_id(server: RegistryServer, account: Account) -> str:
    answer = requests.get(f"{server.url}/v1/entities", headers=bearer(account.token), timeout=30)
    return str(answer.json()["data"]["id"])


def test_create_like_the_curl_example(registry_server: RegistryServer, alice: Account) -> None:
    uid = entity_id(registry_server, alice)
    answer = create(alice, {"entity": int(uid), "name": "Dinosaur Collection", "private": True})
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["name"] == "dinosaur-collection"
    assert data["private"] is True
    assert data["description"] == "Dinosaur-collection Collection"
    assert data["entity"] == uid
    assert data["entityName"] == "alice"
    assert data["containers"] == []
    assert data["size"] == 0
    assert isinstance(data["id"], str)
    assert RFC3339.match(data["createdAt"])
    assert data["deletedAt"] == "0001-01-01T00:00:00Z"
    assert registry_server.collection("dinosaur-collection") == {
        "id": int(data["id"]),
        "name": "dinosaur-collection",
        "private": True,
        "secret": present(registry_server.collection("dinosaur-collection"))["secret"],
        "owners": ["alice"],
        "contributors": [],
    }


def test_private_defaults_to_the_server_setting(
    make_registry_server: Callable[..., RegistryServer],
) -> None:
    for setting in (False, True):
        server = make_registry_server(private_default=setting)
        alice = Account(server.url, "alice", server.add_user("alice"))
        answer = create(alice, {"entity": entity_id(server, alice), "name": "dino"})
        assert answer.json()["data"]["private"] is setting


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        ("{not json", 400, "Invalid payload."),
        ('{"name": "dino"}', 400, "Invalid payload."),
        ('{"entity": "1"}', 400, "Invalid payload."),
        ('{"entity": "1", "name": "---"}', 400, "Invalid payload."),
        ('{"entity": "999", "name": "dino"}', 403, "Permission denied 1 999"),
    ],
)
def test_create_errors_use_the_error_envelope(
    registry_server: RegistryServer, alice: Account, raw: str, status: int, message: str
) -> None:
    answer = create(alice, None, raw=raw)
    assert (answer.status_code, answer.json()) == (
        status,
        {"error": {"code": status, "message": message}},
    )


def test_create_needs_a_token_and_a_free_name(
    registry_server: RegistryServer, alice: Account
) -> None:
    anonymous = requests.post(
        f"{alice.url}/v1/collections", data='{"entity": 1, "name": "x"}', timeout=30
    )
    assert anonymous.json() == {"error": {"code": 403, "message": "Token not valid"}}
    uid = entity_id(registry_server, alice)
    assert create(alice, {"entity": uid, "name": "dino"}).status_code == 200
    again = create(alice, {"entity": uid, "name": "Dino"})
    assert again.json() == {
        "error": {"code": 403, "message": "A collection named 'dino' exists already!"}
    }


def test_create_respects_user_collections(
    make_registry_server: Callable[..., RegistryServer],
) -> None:
    server = make_registry_server(user_collections=False)
    alice = Account(server.url, "alice", server.add_user("alice"))
    staff = Account(server.url, "root", server.add_user("root", staff=True))
    assert create(alice, {"entity": entity_id(server, alice), "name": "dino"}).status_code == 403
    assert create(staff, {"entity": entity_id(server, staff), "name": "dino"}).status_code == 200


def test_list_is_the_callers_collections(
    registry_server: RegistryServer, alice: Account, bob: Account
) -> None:
    registry_server.create_collection("a1", "alice")
    registry_server.create_collection("b1", "bob")
    registry_server.create_collection("a2", "alice", private=True)
    answer = requests.get(f"{alice.url}/v1/collections", headers=bearer(alice.token), timeout=30)
    assert [c["name"] for c in answer.json()["data"]] == ["a1", "a2"]
    assert requests.get(f"{alice.url}/v1/collections", timeout=30).status_code == 403


def test_lookup_by_entity_and_name(
    registry_server: RegistryServer, alice: Account, bob: Account
) -> None:
    registry_server.create_collection("dino", "alice")
    url = f"{alice.url}/v1/collections/anyone/dino"
    assert (
        requests.get(url, headers=bearer(alice.token), timeout=30).json()["data"]["name"] == "dino"
    )
    for headers, status in ((bearer(bob.token), 404), ({}, 403)):
        answer = requests.get(url, headers=headers, timeout=30)
        assert (answer.status_code, answer.content) == (status, b"")
    missing = requests.get(
        f"{alice.url}/v1/collections/alice/nothing", headers=bearer(alice.token), timeout=30
    )
    assert missing.status_code == 404
    slash = requests.get(url + "/", headers=bearer(alice.token), timeout=30)
    assert slash.status_code == 404


def test_container_lookup_answers_with_the_collection(
    registry_server: RegistryServer, alice: Account, bob: Account
) -> None:
    collection_id = registry_server.create_collection("dino", "alice")
    url = f"{alice.url}/v1/containers/alice/dino/busybox"
    empty = requests.get(url, headers=bearer(alice.token), timeout=30)
    assert empty.status_code == 200
    data = empty.json()["data"]
    assert data["id"] == str(collection_id)
    assert (data["imageTags"], data["archTags"], data["images"]) == ({}, {}, [])
    assert data["downloadCount"] == 0
    v1 = registry_server.add_image("dino", "busybox", "v1", b"one")
    registry_server.add_image("dino", "other", "v1", b"two")
    data = requests.get(url, headers=bearer(alice.token), timeout=30).json()["data"]
    assert data["imageTags"] == {"v1": str(v1["id"])}
    assert data["archTags"] == {"amd64": {"v1": str(v1["id"])}}
    assert data["images"] == [v1["version"]]
    assert data["collectionName"] == "dino"
    assert requests.get(url, headers=bearer(bob.token), timeout=30).status_code == 403
    assert requests.get(url, timeout=30).status_code == 403
    missing = requests.get(
        f"{alice.url}/v1/containers/alice/none/busybox", headers=bearer(alice.token), timeout=30
    )
    assert missing.status_code == 404
    root = requests.get(f"{alice.url}/v1/containers", headers=bearer(alice.token), timeout=30)
    assert root.json() == {}
