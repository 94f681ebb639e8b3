"""A full disk (defect 3 and the suite's full-disk runs): one clear line, exit 1, nothing
half-written, on every backend that writes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Registry, run_sregistry
from tests.e2e.library.conftest import Library, library, make_library, make_sif
from tests.faults.tmpfs import small_disk

SIZE = 3 << 20

__all__ = ["library", "make_library", "make_sif"]


@pytest.fixture
def full(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "small") as disk:
        yield disk


@pytest.fixture
def served(registry: Registry) -> Registry:
    registry.server.add_image("vsoch", "big", "latest", os.urandom(SIZE), owner="vsoch")
    return registry


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("force", [False, True], ids=["new-file", "force-over-existing"])
def test_registry_pull_to_a_full_disk(served: Registry, full: Path, force: bool) -> None:
    target = full / "out.sif"
    if force:
        target.write_bytes(b"the old file")
    args = ["pull", "vsoch/big", "-o", str(target), "--no-cache"] + (["--force"] if force else [])
    done = run_sregistry(*args, env=served.env())
    assert done.returncode == 1, done.stderr
    line = one_error_line(done.stderr)
    assert "No space left on device" in line
    assert sorted(p.name for p in full.iterdir()) == (["out.sif"] if force else [])
    if force:
        assert target.read_bytes() == b"the old file"


def test_registry_pull_into_a_full_store(served: Registry, full: Path, tmp_path: Path) -> None:
    """The store is a cache: a pull it cannot hold still lands, with a warning."""
    target = tmp_path / "out.sif"
    env = {**served.env(), "SREGISTRY_STORAGE": str(full / "store")}
    done = run_sregistry("pull", "vsoch/big", "-o", str(target), env=env)
    assert done.returncode == 0, done.stderr
    assert "No space left on device" in done.stderr
    assert "Traceback" not in done.stderr
    assert target.stat().st_size == SIZE
    kept = {p.name for p in (full / "store").rglob("*") if p.is_file() and p.stat().st_size}
    assert kept <= {"store-id", "sregistry.db"}, kept


def test_library_pull_to_a_full_disk(
    library: Library, make_sif: Callable[[int], Path], full: Path
) -> None:
    image = make_sif(SIZE)
    with library.client() as client:
        client.push(image, "library://alice/demo/big:latest")
    env = {"SREGISTRY_LIBRARY_BASE": library.url, "SREGISTRY_LIBRARY_TOKEN": library.token}
    target = full / "out.sif"
    done = run_sregistry(
        "pull", "library://alice/demo/big:latest", "-o", str(target), "--no-cache", env=env
    )
    assert done.returncode == 1, done.stderr
    assert "not enough disk space" in one_error_line(done.stderr)  # space is reserved first
    assert not target.exists()
    assert [p.name for p in full.iterdir() if not p.name.startswith("out.sif.")] == []


def test_local_push_into_a_full_store(fixtures_dir: Path, full: Path, tmp_path: Path) -> None:
    image = tmp_path / "big.sif"
    image.write_bytes((fixtures_dir / "busybox-like.sif").read_bytes() + os.urandom(SIZE))
    env = {"SREGISTRY_STORAGE": str(full / "store")}
    done = run_sregistry("push", str(image), "--name", "local://lab/big:1", env=env)
    assert done.returncode == 1, done.stderr
    assert "No space left on device" in one_error_line(done.stderr)
    listed = run_sregistry("images", env=env)
    assert "lab/big" not in listed.stdout
