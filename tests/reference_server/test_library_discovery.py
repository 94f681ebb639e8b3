"""Library discovery and identity: /version, config.prod.json, /v1/, token-status, entities."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import requests

from tests.reference_server.helpers import Account, bearer, present
from tests.server.pytest_plugin import RegistryServer

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def test_version(registry_server: RegistryServer) -> None:
    answer = requests.get(f"{registry_server.url}/version", timeout=30)
    assert answer.json() == {"data": {"version": "v1.0.0", "apiVersion": "2.0.0-alpha.2"}}


def test_version_switches(make_registry_server: Callable[..., RegistryServer]) -> None:
    old = make_registry_server(api_version="2.0.0-alpha.1")
    assert requests.get(f"{old.url}/version", timeout=30).json()["data"]["apiVersion"] == (
        "2.0.0-alpha.1"
    )
    none = make_registry_server(api_version=None)
    assert requests.get(f"{none.url}/version", timeout=30).status_code == 404


def test_config_prod_is_json_served_as_html(registry_server: RegistryServer) -> None:
    answer = requests.get(f"{registry_server.url}/assets/config/config.prod.json", timeout=30)
    assert answer.headers["Content-Type"].startswith("text/html")
    body = json.loads(answer.text)
    for key in ("libraryAPI", "keystoreAPI", "tokenAPI"):
        assert body[key]["uri"] == registry_server.url


def test_v1_root(registry_server: RegistryServer, alice: Account) -> None:
    answer = requests.get(f"{registry_server.url}/v1/", headers=bearer(alice.token), timeout=30)
    assert answer.json() == {"version": "v1.0.0", "apiVersion": "2.0.0-alpha.2", "user": None}


@pytest.mark.parametrize("scheme", ["Bearer ", "BEARER ", "bearer ", ""])
def test_token_status_accepts_any_bearer_case(
    registry_server: RegistryServer, alice: Account, scheme: str
) -> None:
    answer = requests.get(
        f"{registry_server.url}/v1/token-status",
        headers={"Authorization": scheme + alice.token},
        timeout=30,
    )
    assert answer.status_code == 200
    assert answer.content == b""


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong", "Token abc"])
def test_token_status_invalid_is_404_empty(
    registry_server: RegistryServer, header: str | None
) -> None:
    answer = requests.get(
        f"{registry_server.url}/v1/token-status",
        headers={"Authorization": header} if header else {},
        timeout=30,
    )
    assert (answer.status_code, answer.content) == (404, b"")
    assert "Content-Type" not in answer.headers
    assert requests.get(f"{registry_server.url}/v1/token-status/", timeout=30).status_code == 404


def test_entity_is_the_token_owner_only(registry_server: RegistryServer, alice: Account) -> None:
    registry_server.create_collection("dino", "alice")
    for path in ("/v1/entities/alice", "/v1/entities/alice/", "/v1/entities"):
        answer = requests.get(
            f"{registry_server.url}{path}", headers=bearer(alice.token), timeout=30
        )
        assert answer.status_code == 200, path
        entity = answer.json()["data"]
        assert entity["name"] == "alice"
        assert isinstance(entity["id"], str)
        assert entity["collections"] == [str(present(registry_server.collection("dino"))["id"])]
        assert entity["size"] == 0
        assert entity["quota"] == 0
        for key in ("createdAt", "updatedAt", "deletedAt"):
            assert RFC3339.match(entity[key]), key
    assert (
        requests.get(
            f"{registry_server.url}/v1/entities/bob", headers=bearer(alice.token), timeout=30
        ).status_code
        == 404
    )
    anonymous = requests.get(f"{registry_server.url}/v1/entities/alice", timeout=30)
    assert (anonymous.status_code, anonymous.content) == (404, b"")
    created = requests.post(
        f"{registry_server.url}/v1/entities", headers=bearer(alice.token), data="{}", timeout=30
    )
    assert created.status_code == 405


def test_oci_redirect_is_404(registry_server: RegistryServer, alice: Account) -> None:
    answer = requests.get(
        f"{registry_server.url}/v1/oci-redirect?namespace=alice/dino/busybox&accessTypes=pull",
        headers=bearer(alice.token),
        timeout=30,
    )
    assert answer.status_code == 404
