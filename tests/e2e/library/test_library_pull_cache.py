"""library:// pulls and the local store: recorded as entity/collection+container:tag,
served without a download when the hash is stored, --no-cache, SREGISTRY_DISABLE,
a damaged stored file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli
from sregistry.store import ImageStore
from tests.e2e.library.conftest import Library, MiB, two_tags
from tests.server.config import FIXED_PROFILE
from tests.unit.storecheck import problems, rows, sha256_of

pytestmark = pytest.mark.e2e

REF = "library://alice/demo/hello"
STORED = "alice/demo+hello"


@pytest.fixture
def server_profile() -> str:
    """The fixed profile: these tests pull one image by two tags, which sregistry 2.1.2
    cannot hold (one tag per image, item 9; its pulls are covered by the other modules)."""
    return FIXED_PROFILE


def downloads(library: Library) -> list[dict[str, object]]:
    """Requests for image bytes: the imagefile route and where it redirects."""
    return library.requests(r"^/v1/imagefile/|^/_blob/", "GET")


@pytest.fixture
def pushed(library: Library, make_sif: Callable[[int], Path]) -> Path:
    image = make_sif(3 * MiB)
    with library.client() as client:
        client.push(image, f"{REF}:{two_tags(library)}")
    library.server.clear_requests()
    return image


def test_first_pull_records_second_is_served_from_the_store(
    library: Library, pushed: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    digest = sha256_of(pushed)
    env = {"SREGISTRY_STORAGE": str(root)}
    with library.client(env=env) as client:
        first = client.pull(f"{REF}:v1", tmp_path / "a.sif")
        assert not first.from_cache
        assert first.stored_as == f"{STORED}:v1"
        assert downloads(library) != []

        library.server.clear_requests()
        second = client.pull(f"{REF}:v1", tmp_path / "b.sif")
        assert second.from_cache
        assert downloads(library) == [], "no download request reached the server"
        assert [e["path"] for e in library.requests(".")] == ["/v1/images/alice/demo/hello:v1"]
        assert sha256_of(second.path) == digest
        assert (second.sha256, second.version) == (digest, f"sha256.{digest}")
        assert second.name == f"{REF}:v1"

        # by hash, and another tag of the same bytes: served too, each tag recorded
        by_hash = client.pull(f"{REF}:sha256.{digest}", tmp_path / "c.sif")
        latest = client.pull(REF, tmp_path / "d.sif")
    assert by_hash.from_cache
    assert latest.from_cache
    assert downloads(library) == []
    assert [row[:3] for row in rows(root)] == [
        ("alice", "demo+hello", "latest"),
        ("alice", "demo+hello", f"sha256.{digest}"),
        ("alice", "demo+hello", "v1"),
    ]
    with ImageStore(root) as store:
        image = store.get(f"{STORED}:v1")
    assert image.source == f"library://{library.url.split('://', 1)[1]}"
    assert image.arch == "amd64"
    assert image.metadata == {}
    assert problems(root) == []


def test_no_cache_and_the_environment_skip_the_store(
    library: Library, pushed: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    with library.client(env={"SREGISTRY_STORAGE": str(root)}, cache=False) as client:
        assert client.pull(REF, tmp_path / "a.sif").stored_as is None
    with library.client(env={"SREGISTRY_STORAGE": str(root), "SREGISTRY_DISABLE": "1"}) as client:
        assert client.pull(REF, tmp_path / "b.sif").stored_as is None
    assert not root.exists(), "no store created"
    with library.client(env={"SREGISTRY_STORAGE": str(root)}) as client:
        client.pull(REF, tmp_path / "c.sif")
    library.server.clear_requests()
    with library.client(env={"SREGISTRY_STORAGE": str(root)}, cache=False) as client:
        again = client.pull(REF, tmp_path / "d.sif")
    assert not again.from_cache
    assert downloads(library) != []
    assert sha256_of(again.path) == sha256_of(pushed)


def test_a_damaged_stored_file_is_downloaded_again_and_repaired(
    library: Library, pushed: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    digest = sha256_of(pushed)
    env = {"SREGISTRY_STORAGE": str(root)}
    with library.client(env=env) as client:
        client.pull(REF, tmp_path / "a.sif")
    blob = root / "blobs" / "sha256" / f"{digest}.sif"
    blob.chmod(0o644)
    with blob.open("r+b") as handle:
        handle.seek(2 * MiB)
        byte = handle.read(1)
        handle.seek(2 * MiB)
        handle.write(bytes([byte[0] ^ 0x80]))
    blob.chmod(0o444)
    library.server.clear_requests()
    with library.client(env=env) as client:
        result = client.pull(REF, tmp_path / "b.sif")
    assert not result.from_cache
    assert downloads(library) != []
    assert sha256_of(result.path) == digest
    assert [w for w in result.warnings if "damaged" in w] == list(result.warnings)
    assert len(result.warnings) == 2
    assert problems(root) == []


def run(*args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def test_cli_pull_inspect_and_delete_through_the_store(
    library: Library, pushed: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    env = {
        "SREGISTRY_LIBRARY_TOKEN": library.token,
        "SREGISTRY_LIBRARY_BASE": library.url,
        "SREGISTRY_STORAGE": str(root),
    }
    first = run("pull", f"{REF}:v1", "-o", str(tmp_path / "a.sif"), env=env)
    assert first.exit_code == 0, first.output
    assert f"in the local store as {STORED}:v1\n" in first.stderr
    library.server.clear_requests()
    second = run("pull", f"{REF}:v1", "-o", str(tmp_path / "b.sif"), env=env)
    assert second.exit_code == 0, second.output
    assert "served from the local store (nothing downloaded)" in second.stderr
    assert downloads(library) == []
    no_cache = run("pull", "--no-cache", f"{REF}:v1", "-o", str(tmp_path / "c.sif"), env=env)
    assert no_cache.exit_code == 0, no_cache.output
    assert downloads(library) != []

    inspected = run("inspect", f"{STORED}:v1", "--json", "--native", env=env)
    assert inspected.exit_code == 0, inspected.output
    assert f"stored image {STORED}:v1: " in inspected.stderr
    assert '"arch": "amd64"' in inspected.stdout

    deleted = run("delete", f"local://{STORED}:v1", "--force", env=env)
    assert deleted.exit_code == 0, deleted.output
    assert deleted.stdout == f"deleted {STORED}:v1\n"
    assert rows(root) == []
