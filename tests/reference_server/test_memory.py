"""300 MiB through each push path (and back) while the server stays under 100 MB RSS."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import requests

from tests.reference_server.helpers import Account, present
from tests.server.pytest_plugin import RegistryServer

MiB = 1024 * 1024
SIZE = 300 * MiB
LIMIT = 100 * 1000 * 1000

pytestmark = pytest.mark.slow


class PeakRss:
    """Samples a process's resident set size every 20 ms while in use."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A 300 MiB file of distinct 1 MiB blocks and its ``sha256.<hex>`` (deleted after)."""
    path = tmp_path_factory.mktemp("big") / "big.sif"
    block, digest = os.urandom(MiB), hashlib.sha256()
    with path.open("wb") as handle:
        for number in range(SIZE // MiB):
            chunk = number.to_bytes(4, "big") + block[4:]
            handle.write(chunk)
            digest.update(chunk)
    yield path, "sha256." + digest.hexdigest()
    path.unlink()


@pytest.fixture
def server(make_registry_server: Callable[..., RegistryServer]) -> RegistryServer:
    return make_registry_server()


@pytest.fixture
def alice(server: RegistryServer) -> Account:
    return Account(server.url, "alice", server.add_user("alice"))


def streamed_sha256(url: str) -> str:
    digest = hashlib.sha256()
    with requests.get(url, stream=True, timeout=120) as answer:
        assert answer.status_code == 200
        for chunk in answer.iter_content(MiB):
            digest.update(chunk)
    return "sha256." + digest.hexdigest()


@pytest.fixture
def rss(server: RegistryServer) -> Iterator[PeakRss]:
    with PeakRss(server.pid) as sampler:
        yield sampler
    assert sampler.peak < LIMIT, f"server peak RSS {sampler.peak / 1e6:.1f} MB"


def test_registry_push_and_pull(
    server: RegistryServer, alice: Account, big_file: tuple[Path, str], rss: PeakRss
) -> None:
    path, digest = big_file
    assert alice.push("big", "image", "latest", path).json() == {"message": "Upload Complete"}
    assert present(server.container("big", "image", "latest"))["version"] == digest
    assert streamed_sha256(alice.pull_manifest("big", "image").json()["image"]) == digest


def test_library_single_part_push_and_pull(
    server: RegistryServer, alice: Account, big_file: tuple[Path, str], rss: PeakRss
) -> None:
    path, digest = big_file
    image_id = alice.holder("big", "image", digest)
    assert alice.single_part(image_id, path).status_code == 200
    assert server.containers("big")[0]["version"] == digest
    assert server.containers("big")[0]["uploaded"] is True
    assert alice.tag(alice.container_id("big", "image"), image_id, "latest").status_code == 200
    assert streamed_sha256(f"{alice.url}/v1/imagefile/big/image:latest") == digest


def test_library_multipart_push(
    server: RegistryServer, alice: Account, big_file: tuple[Path, str], rss: PeakRss
) -> None:
    path, digest = big_file
    image_id = alice.holder("big", "image", digest)
    answer = alice.multipart(image_id, path)
    assert (answer.status_code, answer.json()) == (200, {})
    row = server.containers("big")[0]
    assert (row["version"], row["size"], row["uploaded"]) == (digest, SIZE, True)
