"""Registry DELETE: the intended behaviour (204) instead of the real server's 500 (B1)."""

from __future__ import annotations

import requests

from tests.reference_server.helpers import Account, present
from tests.server.pytest_plugin import RegistryServer


def delete(account: Account, path: str, header: str | None) -> requests.Response:
    return requests.delete(
        f"{account.url}/api/container/{path}",
        headers={"Authorization": header} if header else {},
        timeout=30,
    )


def test_owner_deletes_and_file_is_released(
    registry_server: RegistryServer, alice: Account
) -> None:
    alice.push("dino", "busybox", "v1", b"one")
    path = present(registry_server.container("dino", "busybox", "v1"))["path"]
    answer = delete(alice, "dino/busybox:v1", alice.sign("delete", "dino", "busybox", "v1"))
    assert answer.status_code == 204
    assert answer.content == b""
    assert registry_server.container("dino", "busybox", "v1") is None
    assert not path.exists()


def test_shared_content_survives_deleting_one_tag(
    registry_server: RegistryServer, alice: Account
) -> None:
    alice.push("dino", "busybox", "v1", b"same")
    alice.push("dino", "busybox", "latest", b"same")
    assert (
        delete(alice, "dino/busybox:v1", alice.sign("delete", "dino", "busybox", "v1")).status_code
        == 204
    )
    stored = present(registry_server.container("dino", "busybox", "latest"))["path"]
    assert stored.read_bytes() == b"same"


def test_delete_by_version_without_tag(registry_server: RegistryServer, alice: Account) -> None:
    alice.push("dino", "busybox", "v1", b"one")
    version = present(registry_server.container("dino", "busybox", "v1"))["version"]
    header = alice.sign("delete", "dino", "busybox", "v1")
    assert delete(alice, f"dino/busybox@{version}", header).status_code == 204


def test_not_found_and_no_tag_no_version(registry_server: RegistryServer, alice: Account) -> None:
    alice.push("dino", "busybox", "latest", b"one")
    header = alice.sign("delete", "dino", "busybox", "latest")
    for path in ("dino/nothing:latest", "dino/busybox", "other/busybox:latest"):
        answer = delete(alice, path, header)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Container Not Found"})


def test_frozen_is_403(registry_server: RegistryServer, alice: Account) -> None:
    alice.push("dino", "busybox", "latest", b"one")
    registry_server.freeze("dino", "busybox", "latest")
    answer = delete(alice, "dino/busybox:latest", alice.sign("delete", "dino", "busybox", "latest"))
    assert (answer.status_code, answer.json()) == (
        403,
        {"detail": "dino/busybox:latest is frozen, delete not allowed."},
    )
    assert registry_server.container("dino", "busybox", "latest") is not None


def test_bad_signatures_and_non_owners_are_403(
    registry_server: RegistryServer, alice: Account, bob: Account, staff: Account
) -> None:
    alice.push("dino", "busybox", "latest", b"one")
    for header in (
        None,
        f"Bearer {alice.token}",
        alice.sign("pull", "dino", "busybox", "latest"),
        alice.sign("delete", "dino", "busybox", "v2"),
        bob.sign("delete", "dino", "busybox", "latest"),
    ):
        answer = delete(alice, "dino/busybox:latest", header)
        assert (answer.status_code, answer.json()) == (403, {"detail": "Unauthorized"})
    assert registry_server.container("dino", "busybox", "latest") is not None
    staff_header = staff.sign("delete", "dino", "busybox", "latest")
    assert delete(alice, "dino/busybox:latest", staff_header).status_code == 204
