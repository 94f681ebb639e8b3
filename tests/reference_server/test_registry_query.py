"""Registry listing, lookup and search views; the OpenAPI document; routing quirks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.reference_server.helpers import Account, present
from tests.server.pytest_plugin import RegistryServer


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=30, allow_redirects=False)


def follow(url: str) -> list[dict[str, Any]]:
    """Every result of a paginated list, following ``next``."""
    results: list[dict[str, Any]] = []
    seen: set[str] = set()
    next_url: str | None = url
    while next_url is not None:
        assert next_url not in seen
        seen.add(next_url)
        page = get(next_url).json()
        results.extend(page["results"])
        next_url = page["next"]
    return results


def test_collections_paginate_and_hide_private(
    registry_server: RegistryServer, alice: Account
) -> None:
    for number in range(12):
        registry_server.add_image(f"coll{number:02d}", "img", "latest", b"x", owner="alice")
    registry_server.add_image("secret", "img", "latest", b"y", owner="alice")
    registry_server.set_private("secret", True)
    first = get(f"{alice.url}/api/collections/").json()
    assert first["count"] == 12
    assert len(first["results"]) == 10
    assert first["previous"] is None
    assert first["next"] == f"{alice.url}/api/collections/?limit=10&offset=10"
    second = get(first["next"]).json()
    assert [c["name"] for c in second["results"]] == ["coll10", "coll11"]
    assert second["next"] is None
    assert second["previous"] == f"{alice.url}/api/collections/?limit=10"
    names = [c["name"] for c in follow(f"{alice.url}/api/collections/")]
    assert names == [f"coll{n:02d}" for n in range(12)]
    entry = second["results"][0]
    row = registry_server.container("coll10", "img", "latest")
    assert row is not None
    assert list(entry) == ["id", "name", "add_date", "modify_date", "metadata", "containers"]
    assert entry["containers"] == [
        {
            "name": "img",
            "tag": "latest",
            "uri": "coll10/img:latest",
            "detail": f"{alice.url}/containers/{row['id']}",
        }
    ]


def test_limit_and_offset_parameters(registry_server: RegistryServer, alice: Account) -> None:
    for number in range(7):
        registry_server.add_image(f"c{number}", "img", "latest", b"x", owner="alice")
    page = get(f"{alice.url}/api/collections/?limit=3&offset=3").json()
    assert [c["name"] for c in page["results"]] == ["c3", "c4", "c5"]
    assert page["next"] == f"{alice.url}/api/collections/?limit=3&offset=6"
    assert page["previous"] == f"{alice.url}/api/collections/?limit=3"
    fallback = get(f"{alice.url}/api/collections/?limit=bogus&offset=-2").json()
    assert len(fallback["results"]) == 7


def test_containers_list_with_page_size_flag(
    make_registry_server: Callable[..., RegistryServer],
) -> None:
    server = make_registry_server(page_size=3)
    server.add_user("alice")
    for number in range(5):
        server.add_image("dino", f"img{number}", "latest", b"x", owner="alice")
    server.add_image("hidden", "img", "latest", b"x", owner="alice")
    server.set_private("hidden", True)
    page = get(f"{server.url}/api/containers/").json()
    assert page["count"] == 5
    assert len(page["results"]) == 3
    rows = follow(f"{server.url}/api/containers/")
    assert [r["name"] for r in rows] == [f"img{n}" for n in range(5)]
    assert list(rows[0]) == [
        "id", "name", "tag", "add_date", "metrics", "version", "frozen", "metadata", "collection",
    ]  # fmt: skip


def test_detail_views(registry_server: RegistryServer, alice: Account) -> None:
    row = registry_server.add_image("dino", "img", "latest", b"x", owner="alice")
    collection_id = present(registry_server.collection("dino"))["id"]
    assert get(f"{alice.url}/api/collections/{collection_id}/").json()["name"] == "dino"
    assert get(f"{alice.url}/api/containers/{row['id']}/").json()["name"] == "img"
    registry_server.set_private("dino", True)
    assert get(f"{alice.url}/api/collections/{collection_id}/").status_code == 404
    assert get(f"{alice.url}/api/containers/{row['id']}/").json() == {"detail": "Not found."}


def test_collection_by_name(registry_server: RegistryServer, alice: Account) -> None:
    registry_server.add_image("dino", "img", "latest", b"x", owner="alice")
    assert get(f"{alice.url}/api/collection/nothing").json() == {}  # R16: 200 {}
    assert get(f"{alice.url}/api/collection/nothing").status_code == 200
    assert get(f"{alice.url}/api/collection/DINO/").json()["name"] == "dino"
    registry_server.set_private("dino", True)
    assert get(f"{alice.url}/api/collection/dino").status_code == 403  # B3: not a 500


def test_collection_search(registry_server: RegistryServer, alice: Account) -> None:
    for name in ("dinosaur", "dino-eggs", "birds"):
        registry_server.add_image(name, "img", "latest", b"x", owner="alice")
    registry_server.set_private("dino-eggs", True)
    found = get(f"{alice.url}/api/collection/search/DINO").json()  # B2: the real one 500s
    assert [c["name"] for c in found] == ["dinosaur"]


def test_container_search_forms(registry_server: RegistryServer, alice: Account) -> None:
    registry_server.add_image("dino", "busybox", "latest", b"a", owner="alice")
    registry_server.add_image("dino", "busybox", "v1", b"b")
    registry_server.add_image("birds", "busybox", "latest", b"c", owner="alice")
    registry_server.add_image("hidden", "busybox", "latest", b"d", owner="alice")
    registry_server.set_private("hidden", True)

    def search(path: str) -> list[tuple[str, str, str]]:
        answer = get(f"{alice.url}/api/container/search/{path}")
        assert answer.status_code == 200
        return sorted((c["collection"], c["name"], c["tag"]) for c in answer.json())

    assert search("name/BusyBox") == [
        ("birds", "busybox", "latest"), ("dino", "busybox", "latest"), ("dino", "busybox", "v1"),
    ]  # fmt: skip
    assert search("name/busybox/tag/latest/") == [
        ("birds", "busybox", "latest"), ("dino", "busybox", "latest"),
    ]  # fmt: skip
    assert search("collection/dino/name/busybox") == [
        ("dino", "busybox", "latest"), ("dino", "busybox", "v1"),
    ]  # fmt: skip
    assert search("collection/dino/name/busybox/tag/v1") == [("dino", "busybox", "v1")]
    assert search("collection/hidden/name/busybox") == []  # B11
    assert search("name/nothing") == []


def test_label_search_forms(registry_server: RegistryServer, alice: Account) -> None:
    def metadata(labels: dict[str, str]) -> dict[str, Any]:
        return {"data": {"attributes": {"labels": labels}}, "type": "container"}

    registry_server.add_image(
        "dino",
        "a",
        "latest",
        b"a",
        owner="alice",
        metadata=metadata({"maintainer": "alice", "v": "1"}),
    )
    registry_server.add_image("dino", "b", "latest", b"b", metadata=metadata({"maintainer": "bob"}))
    registry_server.add_image(
        "hidden", "c", "latest", b"c", owner="alice", metadata=metadata({"maintainer": "alice"})
    )
    registry_server.set_private("hidden", True)

    def search(path: str) -> list[Any]:
        answer = get(f"{alice.url}/api/labels/search{path}")
        assert answer.status_code == 200
        found: list[Any] = answer.json()
        return found

    everything = search("")
    assert {(e["key"], e["value"]) for e in everything} == {
        ("maintainer", "alice"), ("maintainer", "bob"), ("v", "1"),
    }  # fmt: skip
    assert search("/maintainer/key/alice/value/") == [
        {"key": "maintainer", "value": "alice", "containers": ["dino/a:latest"]}
    ]
    assert [e["value"] for e in search("/maintainer/key")] == ["alice", "bob"]
    assert search("/bob/value") == [
        {"key": "maintainer", "value": "bob", "containers": ["dino/b:latest"]}
    ]
    assert search("/nothing/key") == []


def test_identity_and_openapi(registry_server: RegistryServer, alice: Account) -> None:
    identity = get(f"{alice.url}/api/registry/identity").json()
    assert identity["url"] == alice.url
    document = get(f"{alice.url}/api/").json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert "post" in paths["/api/upload/chunked_upload"]
    assert "delete" in paths["/api/container/{collection}/{rest}"]
    assert "get" in paths["/api/collections/"]
    assert all(op["summary"] for item in paths.values() for op in item.values())


def test_wrong_method_and_missing_slash(registry_server: RegistryServer, alice: Account) -> None:
    wrong = requests.put(f"{alice.url}/api/collections/", timeout=30)
    assert (wrong.status_code, wrong.json()) == (405, {"detail": 'Method "PUT" not allowed.'})
    redirect = get(f"{alice.url}/api/collections")
    assert redirect.status_code == 301
    assert redirect.headers["Location"].endswith("/api/collections/")
    unknown = get(f"{alice.url}/api/nothing/here")
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/v1/oci-redirect", "/v1/search", "/v2/alpine/manifests/latest"])
def test_unimplemented_paths_are_404(registry_server: RegistryServer, path: str) -> None:
    assert get(f"{registry_server.url}{path}").status_code == 404
