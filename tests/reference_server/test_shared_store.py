"""One store for both APIs (B18): what one API pushes, the other pulls."""

from __future__ import annotations

import requests

from tests.reference_server.helpers import Account, bearer, present, sha256_of
from tests.server.pytest_plugin import RegistryServer


def test_registry_push_pulls_through_the_library(
    registry_server: RegistryServer, alice: Account
) -> None:
    data = b"registry pushed" * 1000
    alice.push(
        "dino", "busybox", "v1", data, metadata={"data": {"attributes": {}}, "arch": "arm64"}
    )
    info = requests.get(f"{alice.url}/v1/images/alice/dino/busybox:v1?arch=arm64", timeout=30)
    assert info.json()["data"]["hash"] == sha256_of(data)
    assert info.json()["data"]["arch"] == "arm64"
    assert info.json()["data"]["size"] == len(data)
    download = requests.get(
        f"{alice.url}/v1/imagefile/alice/dino/busybox:v1?arch=arm64", timeout=30
    )
    assert download.content == data
    tags = requests.get(
        f"{alice.url}/v1/tags/{present(registry_server.collection('dino'))['id']}",
        headers=bearer(alice.token),
        timeout=30,
    )
    assert list(tags.json()["data"]) == ["v1"]


def test_library_push_pulls_through_the_registry(
    registry_server: RegistryServer, alice: Account
) -> None:
    data = b"library pushed" * 1000
    alice.library_push("dino", "busybox", data, tags=("v1",))
    manifest = alice.pull_manifest("dino", "busybox", "v1").json()
    assert manifest["version"] == sha256_of(data)
    assert requests.get(manifest["image"], timeout=30).content == data
    listed = requests.get(f"{alice.url}/api/containers/", timeout=30).json()
    assert [(c["collection"], c["name"], c["tag"]) for c in listed["results"]] == [
        ("dino", "busybox", "v1")
    ]


def test_registry_replaces_a_library_tag(registry_server: RegistryServer, alice: Account) -> None:
    alice.library_push("dino", "busybox", b"from the library")
    assert alice.push("dino", "busybox", "latest", b"from the registry").json()["message"] == (
        "Upload Complete"
    )
    download = requests.get(f"{alice.url}/v1/imagefile/dino/busybox:latest", timeout=30)
    assert download.content == b"from the registry"
