"""The ``sregistry-2.1.2`` profile reproduces each measured behaviour of the real
Singularity Registry Server 2.1.2 (issue 11, items 1-11), and each is a switch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.reference_server.helpers import TIMEOUT, Account, sha256_of
from tests.server.config import FIXED_PROFILE, PROFILES, REAL_PROFILE, Quirks
from tests.server.pytest_plugin import REPO, RegistryServer

METADATA = {"data": {"attributes": {"labels": {"A": "1"}}}, "arch": "amd64"}


@pytest.fixture
def server_profile() -> str:
    return REAL_PROFILE


def test_profiles_are_all_quirks_or_none() -> None:
    real, fixed = PROFILES[REAL_PROFILE], PROFILES[FIXED_PROFILE]
    assert all(getattr(real.quirks, name) for name in Quirks.names())
    assert not any(getattr(fixed.quirks, name) for name in Quirks.names())
    assert (real.redirect_status, real.api_version) == (302, "2.0.0-alpha.1")
    assert len(Quirks.names()) == 10  # items 1-10; item 11 is the same on both


def test_a_bare_server_is_the_real_profile(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with subprocess.Popen(
        [sys.executable, "-m", "tests.server", "--data", str(tmp_path)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as process:  # fmt: skip
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            version = requests.get(f"{url}/version", timeout=TIMEOUT).json()
            assert version["data"]["apiVersion"] == "2.0.0-alpha.1"
        finally:
            process.terminate()
            assert process.wait(timeout=30) == 0


def test_item1_same_bytes_again_loses_the_file(
    registry_server: RegistryServer, alice: Account
) -> None:
    data = b"the same bytes"
    assert alice.push("alice", "hello", "v1", data).json() == {"message": "Upload Complete"}
    assert alice.push("alice", "hello", "v1", data).json() == {"message": "Upload Complete"}
    manifest = alice.pull_manifest("alice", "hello", "v1").json()
    assert len(manifest["version"]) == 32  # nginx's md5, the sha256 job failed
    assert requests.get(manifest["image"], timeout=TIMEOUT).status_code == 500


def test_item1_switch_off_keeps_it(make_registry_server: Callable[..., RegistryServer]) -> None:
    server = make_registry_server(quirks={"repush_deletes_file": False})
    alice = Account(server.url, "alice", server.add_user("alice"))
    for _ in range(2):
        alice.push("alice", "hello", "v1", b"the same bytes")
    manifest = alice.pull_manifest("alice", "hello", "v1").json()
    assert requests.get(manifest["image"], timeout=TIMEOUT).content == b"the same bytes"


def test_item2_metadata_is_dropped(registry_server: RegistryServer, alice: Account) -> None:
    alice.push("alice", "hello", "v1", b"x", metadata=METADATA)
    assert alice.pull_manifest("alice", "hello", "v1").json()["metadata"] == {}
    row = registry_server.container("alice", "hello", "v1")
    assert row is not None
    assert row["labels"] == {}


def test_item3_html_errors(registry_server: RegistryServer, alice: Account) -> None:
    alice.push("alice", "hello", "v1", b"x")
    deleted = requests.delete(
        f"{alice.url}/api/container/alice/hello:v1",
        headers={"Authorization": alice.sign("delete", "alice", "hello", "v1")},
        timeout=TIMEOUT,
    )
    assert deleted.status_code == 500
    assert deleted.headers["Content-Type"].startswith("text/html")
    assert registry_server.container("alice", "hello", "v1") is not None
    missing = requests.delete(f"{alice.url}/api/container/alice/nope:v1", timeout=TIMEOUT)
    assert missing.status_code == 404
    assert "detail" in missing.json()
    search = requests.get(f"{alice.url}/api/collection/search/ali", timeout=TIMEOUT)
    assert search.status_code == 500
    not_multipart = requests.post(f"{alice.url}/upload", data=b"x", timeout=TIMEOUT)
    assert (not_multipart.status_code, not_multipart.headers["Content-Type"]) == (415, "text/html")
    got = requests.get(f"{alice.url}/upload", timeout=TIMEOUT)
    assert (got.status_code, got.headers["Content-Type"]) == (405, "text/html")


def test_item4_relative_redirect(registry_server: RegistryServer) -> None:
    answer = requests.get(
        f"{registry_server.url}/api/containers", allow_redirects=False, timeout=TIMEOUT
    )
    assert (answer.status_code, answer.headers["Location"]) == (301, "/api/containers/")


def test_item5_add_date_changes_after_a_pull(
    registry_server: RegistryServer, alice: Account
) -> None:
    alice.push("alice", "hello", "v1", b"x")
    before = alice.pull_manifest("alice", "hello", "v1").json()
    requests.get(before["image"], timeout=TIMEOUT).raise_for_status()
    after = alice.pull_manifest("alice", "hello", "v1").json()
    assert after["add_date"] != before["add_date"]


def test_item6_tags_are_not_scoped_per_collection(
    registry_server: RegistryServer, alice: Account
) -> None:
    alice.push("alice", "hello", "v1", b"first")
    alice.push("other", "hello", "v1", b"second")
    assert registry_server.container("alice", "hello", "v1") is None
    assert registry_server.container("other", "hello", "v1") is not None


def test_items7_9_10_library(registry_server: RegistryServer, alice: Account) -> None:
    data = b"library bytes"
    image_id = alice.holder("demo", "hello", data)
    assert alice.single_part(image_id, data).status_code == 200
    container_id = alice.container_id("demo", "hello")
    session = alice.session()
    # 7: no v2 tags
    v2 = session.get(f"{alice.url}/v2/tags/{container_id}", timeout=TIMEOUT)
    assert (v2.status_code, v2.headers["Content-Type"].split(";")[0]) == (404, "text/html")
    # 9: one tag per image
    for tag in ("v2", "latest"):
        assert alice.tag(container_id, image_id, tag, arch=None).status_code == 200
    tags = session.get(f"{alice.url}/v1/tags/{container_id}", timeout=TIMEOUT).json()["data"]
    assert tags == {"latest": image_id}
    # 10: arch ignored, no updatedAt/deletedAt, size null; a missing container; an empty tag
    image = session.get(f"{alice.url}/v1/images/alice/demo/hello:latest?arch=arm64", timeout=60)
    assert image.status_code == 200
    body = image.json()["data"]
    assert "updatedAt" not in body and "deletedAt" not in body  # noqa: PT018
    assert body["size"] is None
    missing = session.get(f"{alice.url}/v1/containers/alice/demo/nope", timeout=TIMEOUT)
    assert missing.status_code == 200
    assert missing.json()["data"]["imageTags"] == {"latest": image_id}
    assert session.get(f"{alice.url}/v1/images/alice/demo/hello:", timeout=60).status_code == 500
    bad = session.post(f"{alice.url}/v1/collections", data=b"{not json", timeout=TIMEOUT)
    assert bad.status_code == 500
    anyone = requests.put(f"{alice.url}/v2/imagefile/{image_id}/_complete", timeout=TIMEOUT)
    assert anyone.status_code == 200
    assert sha256_of(data) == body["hash"]


def test_item8_the_download_redirect_is_a_302_to_another_host(
    registry_server: RegistryServer, alice: Account
) -> None:
    data = b"library bytes"
    image_id = alice.holder("demo", "hello", data)
    alice.single_part(image_id, data)
    alice.tag(alice.container_id("demo", "hello"), image_id, "latest", arch=None)
    answer = alice.session().get(
        f"{alice.url}/v1/imagefile/alice/demo/hello:latest", allow_redirects=False, timeout=60
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(alice.url.replace("127.0.0.1", "localhost"))
    ranged = requests.get(answer.headers["Location"], headers={"Range": "bytes=0-3"}, timeout=60)
    assert (ranged.status_code, ranged.content) == (206, data[:4])


def test_item11_token_answers(registry_server: RegistryServer, alice: Account) -> None:
    bad = requests.get(
        f"{alice.url}/v1/token-status", headers={"Authorization": "Bearer nope"}, timeout=60
    )
    assert bad.status_code == 404
    mine = alice.session().get(f"{alice.url}/v1/entities", timeout=TIMEOUT)
    assert mine.json()["data"]["name"] == "alice"
    other = alice.session().get(f"{alice.url}/v1/entities/bob", timeout=TIMEOUT)
    assert other.status_code == 404
    create = alice.session().post(f"{alice.url}/v1/entities", data=json.dumps({}), timeout=60)
    assert create.status_code == 405
