"""A pull recorded in a store on a filesystem that clones (btrfs): the stored
file is a reflink of the pulled one, two independent files sharing blocks."""

from __future__ import annotations

import os
from pathlib import Path

from sregistry.store.files import clone
from tests.e2e.conftest import Registry, run_sregistry
from tests.faults.btrfs import btrfs_disk
from tests.unit.storecheck import problems, sha256_of

SIZE = 16 << 20


def _used(path: Path) -> int:
    os.sync()
    info = os.statvfs(path)
    return (info.f_blocks - info.f_bfree) * info.f_frsize


def test_a_recorded_pull_on_btrfs_is_a_reflink(registry: Registry, tmp_path: Path) -> None:
    registry.server.add_image("vsoch", "big", "latest", os.urandom(SIZE), owner="vsoch")
    with btrfs_disk(tmp_path / "btrfs") as disk:
        target, root = disk / "big.sif", disk / "store"
        before = _used(disk)
        done = run_sregistry(
            "pull",
            "vsoch/big",
            "-o",
            str(target),
            env={**registry.env(), "SREGISTRY_STORAGE": str(root)},
        )
        assert done.returncode == 0, done.stderr
        assert "in the local store as vsoch/big:latest" in done.stderr
        assert "under a second name" not in done.stderr, "a clone, not a hard link"
        grown = _used(disk) - before
        assert SIZE <= grown < 1.5 * SIZE, f"one copy of the bytes on disk, not two ({grown})"
        (blob,) = (root / "blobs" / "sha256").glob("*.sif")
        assert os.stat(blob).st_ino != os.stat(target).st_ino
        assert os.stat(target).st_mode & 0o200, "the pulled file stays the user's, writable"

        with open(target, "r+b") as handle:  # editing the pulled file leaves the store alone
            handle.write(b"changed")
        assert sha256_of(blob) != sha256_of(target)
        assert problems(root) == []


def test_clone_makes_a_reflink_on_btrfs(tmp_path: Path) -> None:
    with btrfs_disk(tmp_path / "btrfs") as disk:
        source, dest = disk / "a", disk / "b"
        source.write_bytes(os.urandom(1 << 20))
        with open(source, "rb") as reader, open(dest, "wb") as writer:
            assert clone(reader.fileno(), writer.fileno())
        assert dest.read_bytes() == source.read_bytes()
        with open(dest, "r+b") as handle:
            handle.write(b"changed")
        assert source.read_bytes()[:7] != b"changed", "two files: writing one leaves the other"
