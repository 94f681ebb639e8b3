"""Paths of the SIF fixtures and the squashfs test images, and a PATH for stand-ins."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def bindir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An otherwise empty folder as the whole PATH, so only stand-ins put there are found."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    return path


@pytest.fixture
def real_sif(fixtures_dir: Path) -> Path:
    """The real Singularity 3.8.1 busybox image (signed, v1 layout)."""
    return fixtures_dir / "real" / "busybox_amd64.sif"


@pytest.fixture
def busybox_like(fixtures_dir: Path) -> Path:
    return fixtures_dir / "busybox-like.sif"


@pytest.fixture
def runscript_only(fixtures_dir: Path) -> Path:
    return fixtures_dir / "runscript-only.sif"


@pytest.fixture
def with_descriptors(fixtures_dir: Path) -> Path:
    return fixtures_dir / "with-descriptors.sif"


@pytest.fixture
def tree_gzip() -> Path:
    """A gzip squashfs with a 1100-entry directory, 550 fragments, symlinks (tests/data)."""
    return DATA / "tree-gzip.sqfs"


@pytest.fixture
def tree_zstd() -> Path:
    return DATA / "tree-zstd.sqfs"
