"""Defect 3: a full disk gives one clear line and exit 1, and leaves nothing behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Registry, run_sregistry
from tests.faults.tmpfs import small_disk

SIZE = 3 << 20


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
