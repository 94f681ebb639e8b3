"""Registry pulls and the local store (issue 6, item 3): recorded, served without a
download when the bytes are stored, --no-cache, SREGISTRY_DISABLE, a damaged stored file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from sregistry.cli.status import ExitStatus
from sregistry.errors import IntegrityError
from sregistry.main.registry.client import RegistryClient
from sregistry.store import ImageStore
from tests.e2e.conftest import Registry, cli, leftovers, run_sregistry
from tests.server.pytest_plugin import RegistryServer
from tests.unit.storecheck import problems, rows, sha256_of

pytestmark = pytest.mark.e2e

NAME = "dinosaur/avocado:delicious"
METADATA = {
    "data": {"attributes": {"labels": {"MAINTAINER": "vsoch"}, "runscript": "#!/bin/sh\n"}},
    "type": "container",
    "arch": "amd64",
}


@pytest.fixture
def store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "store"
    monkeypatch.setenv("SREGISTRY_STORAGE", str(root))
    return root


@pytest.fixture
def stored(registry: Registry, image: Path) -> Path:
    """``image`` on the registry as dinosaur/avocado:delicious, with metadata."""
    registry.server.add_image(
        "dinosaur", "avocado", "delicious", image, owner="vsoch", metadata=METADATA
    )
    registry.server.clear_requests()
    return image


def downloads(server: RegistryServer) -> list[dict[str, object]]:
    return server.requests(r"^/containers/\d+/download/")


def client_for(
    registry: Registry, root: Path, *, cache: bool = True, env: dict[str, str] | None = None
) -> RegistryClient:
    """vsoch's client, with the store at ``root`` and ``env`` as its whole environment."""
    return RegistryClient(
        base=registry.url,
        username="vsoch",
        token=registry.tokens["vsoch"],
        env={"SREGISTRY_STORAGE": str(root), **(env or {})},
        cache=cache,
    )


def test_first_pull_records_second_is_served_from_the_store(
    registry: Registry, stored: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    digest = sha256_of(stored)
    with client_for(registry, root) as client:
        first = client.pull(NAME, tmp_path / "first.sif")
        assert not first.from_cache
        assert first.stored_as == NAME
        assert len(downloads(registry.server)) == 1

        registry.server.clear_requests()
        seen: list[tuple[int, int | None]] = []
        second = client.pull(
            NAME, tmp_path / "second.sif", progress=lambda d, t: seen.append((d, t))
        )
    assert second.from_cache
    assert downloads(registry.server) == [], "no download request reached the server"
    assert [e["path"] for e in registry.server.requests()] == [
        "/api/container/dinosaur/avocado:delicious"
    ], "only the manifest, for the expected sha256"
    assert sha256_of(second.path) == digest
    assert (second.sha256, second.version, second.size) == (
        digest,
        f"sha256.{digest}",
        stored.stat().st_size,
    )
    assert second.stored_as == NAME
    assert second.warnings == ()
    assert seen[-1] == (second.size, second.size)
    assert second.path.stat().st_mode & 0o200, "the user's copy is an ordinary writable file"
    assert leftovers(tmp_path) == []

    with ImageStore(root) as store:
        image = store.get(NAME)
    assert image.sha256 == digest
    assert image.source == f"registry://{registry.url.split('://', 1)[1]}"
    assert image.metadata == METADATA["data"]["attributes"]  # type: ignore[index]
    assert image.arch == "amd64"
    assert problems(root) == []


def test_another_tag_with_stored_bytes_is_served_and_recorded(
    registry: Registry, stored: Path, tmp_path: Path
) -> None:
    registry.server.add_image("dinosaur", "avocado", "copy", stored, owner="vsoch")
    root = tmp_path / "store"
    with client_for(registry, root) as client:
        client.pull(NAME, tmp_path / "a.sif")
        registry.server.clear_requests()
        other = client.pull("dinosaur/avocado:copy", tmp_path / "b.sif")
    assert other.from_cache
    assert downloads(registry.server) == []
    assert [row[:3] for row in rows(root)] == [
        ("dinosaur", "avocado", "copy"),
        ("dinosaur", "avocado", "delicious"),
    ]
    assert len(os.listdir(root / "blobs" / "sha256")) == 1, "one file for both tags"


def test_no_cache_downloads_and_records_nothing(
    registry: Registry, stored: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    with client_for(registry, root, cache=False) as client:
        result = client.pull(NAME, tmp_path / "a.sif")
    assert not result.from_cache
    assert result.stored_as is None
    assert not root.exists(), "no store created"
    with client_for(registry, root) as client:
        client.pull(NAME, tmp_path / "b.sif")
    registry.server.clear_requests()
    with client_for(registry, root, cache=False) as client:
        again = client.pull(NAME, tmp_path / "c.sif")
    assert not again.from_cache
    assert len(downloads(registry.server)) == 1
    assert sha256_of(again.path) == sha256_of(stored)


@pytest.mark.parametrize("variable", ["SREGISTRY_DISABLE", "SINGULARITY_DISABLE_CACHE"])
def test_the_environment_turns_the_cache_off(
    registry: Registry, stored: Path, tmp_path: Path, variable: str
) -> None:
    root = tmp_path / "store"
    with client_for(registry, root, env={variable: "1"}) as client:
        first = client.pull(NAME, tmp_path / "a.sif")
        second = client.pull(NAME, tmp_path / "b.sif")
    assert (first.stored_as, second.from_cache) == (None, False)
    assert len(downloads(registry.server)) == 2
    assert not root.exists()


def test_a_damaged_stored_file_is_downloaded_again_and_repaired(
    registry: Registry, stored: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    digest = sha256_of(stored)
    with client_for(registry, root) as client:
        client.pull(NAME, tmp_path / "a.sif")
    blob = root / "blobs" / "sha256" / f"{digest}.sif"
    blob.chmod(0o644)
    with blob.open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0x01]))
    blob.chmod(0o444)
    assert problems(root) == [f"{NAME}: content does not hash to {digest}"]

    registry.server.clear_requests()
    with client_for(registry, root) as client:
        result = client.pull(NAME, tmp_path / "b.sif")
    assert not result.from_cache
    assert len(downloads(registry.server)) == 1
    assert sha256_of(result.path) == digest
    assert any("is damaged" in warning for warning in result.warnings)
    assert any("was replaced" in warning for warning in result.warnings)
    assert problems(root) == [], "the download repaired the stored file"
    assert leftovers(tmp_path) == []

    registry.server.clear_requests()
    with client_for(registry, root) as client:
        assert client.pull(NAME, tmp_path / "c.sif").from_cache
    assert downloads(registry.server) == []


def test_force_replaces_the_target_from_the_store(
    registry: Registry, stored: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    target = tmp_path / "a.sif"
    with client_for(registry, root) as client:
        client.pull(NAME, target)
        target.unlink()
        target.write_bytes(b"mine")
        registry.server.clear_requests()
        result = client.pull(NAME, target, force=True)
    assert result.from_cache
    assert sha256_of(target) == sha256_of(stored)
    assert problems(root) == []


def _blob(root: Path, digest: str) -> Path:
    return root / "blobs" / "sha256" / f"{digest}.sif"


def test_a_recorded_pull_is_written_once_and_read_only(
    registry: Registry, stored: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    target = tmp_path / "a.sif"
    with client_for(registry, root) as client:
        result = client.pull(NAME, target)
    assert result.stored_as == NAME
    blob = _blob(root, sha256_of(stored))
    assert os.stat(blob).st_ino == os.stat(target).st_ino, "the stored file is the pulled one"
    assert os.stat(target).st_nlink == 2
    assert os.stat(target).st_mode & 0o777 == 0o555 & ~_umask(), "read-only, still executable"
    assert problems(root) == []
    assert leftovers(tmp_path) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_force_pull_over_a_shared_target_never_writes_into_the_store(
    registry: Registry, stored: Path, tmp_path: Path, make_image: Callable[..., Path]
) -> None:
    other = make_image(size=1 << 20, name="other.sif")
    registry.server.add_image("dinosaur", "avocado", "other", other, owner="vsoch")
    root = tmp_path / "store"
    target = tmp_path / "a.sif"
    with client_for(registry, root) as client:
        client.pull(NAME, target)
        blob = _blob(root, sha256_of(stored))
        inode = os.stat(blob).st_ino
        registry.server.clear_requests()
        client.pull("dinosaur/avocado:other", target, force=True)
    assert len(downloads(registry.server)) == 1, "downloaded over the shared name"
    assert sha256_of(target) == sha256_of(other)
    assert os.stat(blob).st_ino == inode
    assert os.stat(blob).st_nlink == 1, "the user's name was replaced, not written into"
    assert sha256_of(blob) == sha256_of(stored)
    assert problems(root) == []


def test_editing_the_pulled_file_in_place_is_detected_and_repaired(
    registry: Registry, stored: Path, store_root: Path, tmp_path: Path
) -> None:
    root = store_root
    target = tmp_path / "a.sif"
    digest = sha256_of(stored)
    with client_for(registry, root) as client:
        client.pull(NAME, target)
    os.chmod(target, 0o755)  # what a user does before editing (root need not)
    with open(target, "r+b") as handle:
        handle.seek(2000)
        byte = handle.read(1)
        handle.seek(2000)
        handle.write(bytes([byte[0] ^ 0x01]))
    os.chmod(target, 0o555)
    assert problems(root) == [f"{NAME}: content does not hash to {digest}"]

    with ImageStore(root) as store, pytest.raises(IntegrityError, match="was changed"):
        store.verify(store.get(NAME))
    refused = cli("get", NAME)
    assert refused.exit_code == ExitStatus.INTEGRITY, refused.stderr
    assert refused.stdout == ""

    registry.server.clear_requests()
    with client_for(registry, root) as client:
        result = client.pull(NAME, tmp_path / "b.sif")
    assert not result.from_cache, "the changed bytes were not served"
    assert len(downloads(registry.server)) == 1
    assert sha256_of(result.path) == digest
    assert any("was replaced" in warning for warning in result.warnings)
    assert problems(root) == [], "the download repaired the stored file"
    assert os.stat(_blob(root, digest)).st_ino == os.stat(result.path).st_ino
    assert os.stat(_blob(root, digest)).st_ino != os.stat(target).st_ino
    got = cli("get", NAME)
    assert got.exit_code == 0, got.stderr
    assert got.stdout == f"{_blob(root, digest)}\n"


def test_a_store_on_another_filesystem_gets_a_copy(
    registry: Registry, stored: Path, tmp_path: Path
) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the test's folder")
    with tempfile.TemporaryDirectory(dir=shm) as folder:
        root = Path(folder) / "store"
        target = tmp_path / "a.sif"
        with client_for(registry, root) as client:
            result = client.pull(NAME, target)
        assert result.stored_as == NAME
        blob = _blob(root, sha256_of(stored))
        assert os.stat(target).st_nlink == 1
        assert os.stat(blob).st_nlink == 1
        assert os.stat(target).st_mode & 0o200, "a copy: the pulled file stays writable"
        assert sha256_of(blob) == sha256_of(stored)
        assert problems(root) == []


# -- CLI ------------------------------------------------------------------------------------
def test_cli_pull_says_when_the_store_served_it(
    as_vsoch: Registry, stored: Path, store_root: Path, tmp_path: Path
) -> None:
    first = cli("pull", NAME, "-o", str(tmp_path / "a.sif"))
    assert first.exit_code == 0, first.stderr
    assert f"in the local store as {NAME}\n" in first.stderr
    shared = " ".join(first.stderr.split())
    assert f"{tmp_path / 'a.sif'} is the stored file under a second name" in shared
    assert "read-only: copy it before editing it" in shared
    assert "served from the local store" not in first.stderr

    as_vsoch.server.clear_requests()
    second = cli("pull", NAME, "-o", str(tmp_path / "b.sif"))
    assert second.exit_code == 0, second.stderr
    assert second.stdout == f"{tmp_path / 'b.sif'}\n"
    assert "served from the local store (nothing downloaded)\n" in second.stderr
    assert downloads(as_vsoch.server) == []
    quiet = cli("-q", "pull", NAME, "-o", str(tmp_path / "c.sif"))
    assert quiet.stderr == ""

    no_cache = cli("pull", "--no-cache", NAME, "-o", str(tmp_path / "d.sif"))
    assert no_cache.exit_code == 0, no_cache.stderr
    assert "served from the local store" not in no_cache.stderr
    assert len(downloads(as_vsoch.server)) == 1


def test_cli_help_documents_the_switches() -> None:
    text = " ".join(cli("pull", "--help").stdout.split())
    assert "--no-cache" in text
    assert "SREGISTRY_DISABLE" in text


def test_process_pull_with_the_cache_disabled_then_on(
    as_vsoch: Registry, stored: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    env = {"SREGISTRY_STORAGE": str(root)}
    off = run_sregistry(
        "pull", NAME, "-o", str(tmp_path / "a.sif"), env={**env, "SREGISTRY_DISABLE": "yes"}
    )
    assert off.returncode == 0, off.stderr
    assert not root.exists()
    on = run_sregistry("pull", NAME, "-o", str(tmp_path / "b.sif"), env=env)
    assert on.returncode == 0, on.stderr
    served = run_sregistry("pull", NAME, "-o", str(tmp_path / "c.sif"), env=env)
    assert served.returncode == 0, served.stderr
    assert "served from the local store" in served.stderr
    assert len(downloads(as_vsoch.server)) == 2
    listed = run_sregistry("images", "--json", env=env)
    assert [item["uri"] for item in json.loads(listed.stdout)] == [NAME]
