"""Images whose compression only unsquashfs reads (lz4), through the real unsquashfs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sregistry.errors import MetadataError
from sregistry.metadata import inspect_native
from sregistry.metadata.squashfs import FileType
from sregistry.metadata.unsquashfs import Unsquashfs
from tests.conftest import require_tool
from tests.unit.metadata import sifwriter as sw
from tests.unit.metadata.conftest import DATA
from tests.unit.metadata.expected import BUSYBOX_LIKE


@pytest.fixture
def unsquashfs() -> str:
    """The real unsquashfs (required under CI=true)."""
    return require_tool("unsquashfs")


@pytest.fixture
def lz4_sif(tmp_path: Path) -> Path:
    """busybox-like's root file system, lz4-compressed, as the primary partition of a SIF."""
    fs = (DATA / "busybox-like-lz4.sqfs").read_bytes()
    return sw.write(tmp_path / "lz4.sif", [sw.partition(fs)])


def test_lz4_image_is_inspected_through_unsquashfs(lz4_sif: Path, unsquashfs: str) -> None:
    result = inspect_native(lz4_sif)
    assert result.source == "squashfs"
    assert result.attributes == BUSYBOX_LIKE


def test_lz4_without_unsquashfs_is_a_clear_error(
    lz4_sif: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(MetadataError) as caught:
        inspect_native(lz4_sif)
    assert caught.value.message == (
        f"{lz4_sif}: primary partition (object 1): unsupported squashfs compression: lz4 "
        "(this reader handles gzip, xz, lzma, zstd)"
    )
    assert caught.value.hint is not None
    assert "unsquashfs" in caught.value.hint


def test_lzma_image_needs_no_unsquashfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    fs = (DATA / "busybox-like-lzma.sqfs").read_bytes()
    result = inspect_native(sw.write(tmp_path / "lzma.sif", [sw.partition(fs)]))
    assert result.attributes == BUSYBOX_LIKE


def test_reader_operations(busybox_like: Path, unsquashfs: str) -> None:
    fs = Unsquashfs(unsquashfs, str(busybox_like), 32768)
    assert [(e.name, e.type) for e in fs.listdir("/.singularity.d/env")] == [
        ("01-base.sh", FileType.FILE),
        ("10-docker2singularity.sh", FileType.FILE),
        ("90-environment.sh", FileType.FILE),
        ("99-base.sh", FileType.FILE),
    ]
    root = {e.name: e.type for e in fs.listdir("/")}
    assert root["singularity"] == FileType.SYMLINK
    assert root[".singularity.d"] == FileType.DIRECTORY
    assert fs.listdir("/nope") == []
    assert fs.is_dir("/.singularity.d")
    assert not fs.is_dir("/.singularity.d/runscript")
    assert not fs.is_dir("/scif/apps")
    assert fs.read_file("/.singularity.d/startscript") == b"#!/bin/sh\n"
    assert fs.read_file("/.singularity.d/nope") is None
    assert fs.read_file("/.singularity.d") is None
    assert fs.read_file("/singularity") is None  # unsquashfs 4.5 cannot -cat a symlink
    with pytest.raises(MetadataError, match="exceeds the 5-byte limit"):
        fs.read_file("/.singularity.d/startscript", limit=5)


def test_reader_failure_is_an_error(busybox_like: Path, unsquashfs: str) -> None:
    fs = Unsquashfs(unsquashfs, str(busybox_like), 4096)  # not where the squashfs is
    with pytest.raises(MetadataError, match=r"`unsquashfs -cat` failed \(exit 1\)"):
        fs.read_file("/.singularity.d/runscript")
    with pytest.raises(MetadataError, match=r"`unsquashfs -ll` failed"):
        fs.listdir("/")
