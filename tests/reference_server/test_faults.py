"""Fault injection through the fixture: statuses, cut downloads, cut uploads, delays."""

from __future__ import annotations

import pytest
import requests

from tests.reference_server.helpers import Account, present
from tests.server.pytest_plugin import RegistryServer


@pytest.fixture
def image(registry_server: RegistryServer, alice: Account) -> str:
    """The download URL of a 2 MiB public image."""
    alice.push("dino", "busybox", "latest", bytes(range(256)) * 8192)
    return str(alice.pull_manifest("dino", "busybox").json()["image"])


def test_status_fault_applies_once(
    registry_server: RegistryServer, alice: Account, image: str
) -> None:
    registry_server.inject_fault(
        "GET", r"^/api/container/", status=503, body="busy", headers={"Retry-After": "1"}
    )
    assert registry_server.pending_faults() == 1
    failed = alice.pull_manifest("dino", "busybox")
    assert (failed.status_code, failed.text, failed.headers["Retry-After"]) == (503, "busy", "1")
    assert alice.pull_manifest("dino", "busybox").status_code == 200
    logged = registry_server.requests("^/api/container/")
    assert [(e["status"], e["fault"]) for e in logged[-2:]] == [(503, 1), (200, None)]
    assert registry_server.pending_faults() == 0


def test_times_method_wildcard_and_clear(
    registry_server: RegistryServer, alice: Account, image: str
) -> None:
    registry_server.inject_fault("*", "busybox", status=500, times=2)
    assert alice.pull_manifest("dino", "busybox").status_code == 500
    assert requests.head(image, timeout=30).status_code == 200  # path does not match
    assert alice.pull_manifest("dino", "busybox").status_code == 500
    assert alice.pull_manifest("dino", "busybox").status_code == 200
    registry_server.inject_fault("POST", "busybox", status=500)
    assert alice.pull_manifest("dino", "busybox").status_code == 200  # method does not match
    registry_server.clear_faults()
    assert registry_server.pending_faults() == 0


def test_cut_download(registry_server: RegistryServer, image: str) -> None:
    registry_server.inject_fault("GET", "/download/", cut_after=100_000)
    received = bytearray()

    def read_all(answer: requests.Response) -> None:
        for chunk in answer.iter_content(1000):
            received.extend(chunk)

    with requests.get(image, stream=True, timeout=30) as answer:
        assert answer.headers["Content-Length"] == str(256 * 8192)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            read_all(answer)
    assert len(received) == 100_000
    assert requests.get(image, timeout=30).content == bytes(range(256)) * 8192


def test_cut_upload_stores_nothing(registry_server: RegistryServer, alice: Account) -> None:
    cid = alice.chunked_upload("dino", "busybox").json()["cid"]
    registry_server.inject_fault("POST", "^/upload$", cut_after=0)
    with pytest.raises(requests.ConnectionError):
        alice.upload(cid, "dino", "busybox", "latest", b"z" * 3_000_000)
    assert registry_server.container("dino", "busybox", "latest") is None
    assert list((registry_server.data_dir / "tmp").iterdir()) == []
    dropped = registry_server.requests("^/upload$")[-1]
    assert (dropped["status"], dropped["fault"]) == (0, 1)


def test_status_fault_on_upload_reads_the_body_first(
    registry_server: RegistryServer, alice: Account
) -> None:
    cid = alice.chunked_upload("dino", "busybox").json()["cid"]
    registry_server.inject_fault("POST", "^/upload$", status=504)
    answer = alice.upload(cid, "dino", "busybox", "latest", b"z" * 3_000_000)
    assert answer.status_code == 504
    assert registry_server.container("dino", "busybox", "latest") is None


def test_passthrough_stores_then_fails(registry_server: RegistryServer, alice: Account) -> None:
    cid = alice.chunked_upload("dino", "busybox").json()["cid"]
    registry_server.inject_fault("POST", "^/upload$", status=504, passthrough=True)
    answer = alice.upload(cid, "dino", "busybox", "latest", b"landed")
    assert answer.status_code == 504
    stored = present(registry_server.container("dino", "busybox", "latest"))["path"]
    assert stored.read_bytes() == b"landed"


def test_delay(registry_server: RegistryServer, alice: Account, image: str) -> None:
    registry_server.inject_fault("GET", "/download/", delay=2.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(image, timeout=(5, 0.5))
    assert requests.get(image, timeout=30).status_code == 200


def test_invalid_fault_is_refused(registry_server: RegistryServer) -> None:
    with pytest.raises(ValueError, match="needs a status"):
        registry_server.inject_fault("GET", "x")
    with pytest.raises(ValueError, match="not both"):
        registry_server.inject_fault("GET", "x", status=500, cut_after=1)
