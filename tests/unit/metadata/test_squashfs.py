"""The squashfs reader, checked against PySquashfsImage (an independent reader) and by hand."""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySquashfsImage import SquashFsImage

from sregistry.errors import MetadataError
from sregistry.metadata.sif import ImageFile, read_sif
from sregistry.metadata.squashfs import FileType, SquashFS, UnsupportedCompression
from tests.unit.metadata.conftest import DATA


class CountingReader:
    """Wraps an ImageFile and counts the bytes read through it."""

    def __init__(self, inner: ImageFile) -> None:
        self.inner = inner
        self.bytes_read = 0
        self.reads = 0

    def pread(self, size: int, offset: int) -> bytes:
        self.reads += 1
        self.bytes_read += size
        return self.inner.pread(size, offset)


@contextmanager
def open_fs(path: Path, *, partition: bool = False) -> Iterator[SquashFS]:
    offset, size = 0, path.stat().st_size
    if partition:
        primary = read_sif(path).primary_partition
        assert primary is not None
        offset, size = primary.offset, primary.size
    with ImageFile(path) as handle:
        yield SquashFS(handle, offset=offset, size=size)


def _cross_check(fs: SquashFS, image: SquashFsImage) -> int:
    files = 0
    seen: set[int] = set()
    for node in image:
        path = node.path
        if node.is_file:
            number = node.inode.inode_number
            ours = fs.lookup(path)
            assert ours is not None, path
            assert ours.number == number, path
            if number not in seen:  # hard links: read each inode's bytes once
                seen.add(number)
                assert fs.read_file(path, limit=1 << 24) == node.read_bytes(), path
            files += 1
        elif node.is_symlink:
            assert fs.readlink(path) == node.readlink(), path
        elif node.is_dir:
            names = sorted(entry.name for entry in fs.listdir(path))
            assert names == sorted(child.name for child in node.iterdir()), path
    return files


@pytest.mark.parametrize("name", ["tree_gzip", "tree_zstd"])
def test_every_file_matches_pysquashfsimage(name: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(name)
    image = SquashFsImage.from_file(str(path))
    try:
        with open_fs(path) as fs:
            assert _cross_check(fs, image) == 1104
            assert fs.superblock.compression == name.removeprefix("tree_")
            assert fs.superblock.fragment_count == 550  # > 512: a multi-block fragment table
    finally:
        image.close()


@pytest.mark.parametrize(
    ("fixture", "files"),
    [("real_sif", 423), ("busybox_like", 20), ("runscript_only", 7), ("with_descriptors", 24)],
)
def test_sif_partitions_match_pysquashfsimage(
    fixture: str, files: int, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(fixture)
    primary = read_sif(path).primary_partition
    assert primary is not None
    image = SquashFsImage.from_file(str(path), offset=primary.offset)
    try:
        with open_fs(path, partition=True) as fs:
            assert _cross_check(fs, image) == files
    finally:
        image.close()


def test_real_image_superblock_and_a_multi_block_file(real_sif: Path) -> None:
    with open_fs(real_sif, partition=True) as fs:
        sb = fs.superblock
        assert (sb.compression, sb.block_size, sb.inode_count) == ("gzip", 131072, 55)
        assert (sb.bytes_used, sb.mkfs_time) == (744412, 1627931376)
        busybox = fs.read_file("/bin/busybox", limit=2 << 20)
        assert busybox is not None
        assert len(busybox) == 1149184
        assert busybox.startswith(b"\x7fELF")
        assert fs.read_file("/bin/sh", limit=2 << 20) == busybox  # a hard link
        assert len(fs.listdir("/bin")) == 401
        with pytest.raises(MetadataError, match="exceeds the 1000-byte limit"):
            fs.read_file("/bin/busybox", limit=1000)


def test_reading_metadata_touches_a_few_blocks(real_sif: Path) -> None:
    primary = read_sif(real_sif).primary_partition
    assert primary is not None
    with ImageFile(real_sif) as handle:
        counter = CountingReader(handle)
        fs = SquashFS(counter, offset=primary.offset, size=primary.size)
        labels = fs.read_file("/.singularity.d/labels.json")
        assert labels is not None
        assert labels.startswith(b'{\n\t"org.label-schema.build-arch"')
        assert fs.listdir("/.singularity.d/env")
    # The superblock, the inode and directory blocks on the way, the fragment
    # table entry and the one fragment block holding every small file's tail
    # (37 KiB compressed): about 5 % of the partition, in a handful of reads.
    assert counter.reads <= 6, counter.reads
    assert counter.bytes_read < primary.size // 15, counter.bytes_read


def test_symlinks(tree_gzip: Path) -> None:
    with open_fs(tree_gzip) as fs:
        text = fs.read_file("/data/text.txt")
        assert text is not None
        assert text.startswith(b"line 0\nline 1\n")
        for link in (
            "/link-abs",
            "/link-rel",
            "/data/up",
            "/dirlink/text.txt",
            "/data/hardlink.txt",
        ):
            assert fs.read_file(link) == text, link
        assert fs.readlink("/link-abs") == "/data/text.txt"
        assert fs.readlink("/data/text.txt") is None
        node = fs.lookup("/link-rel", follow_symlinks=False)
        assert node is not None
        assert node.type == FileType.SYMLINK
        assert node.target == b"data/text.txt"
        assert fs.lookup("/loop1") is None  # a loop ends like a missing file
        assert fs.read_file("/dangling") is None
        assert fs.lookup("/../../data/./text.txt") == fs.lookup("/data/text.txt")


def test_lookups(tree_gzip: Path) -> None:
    with open_fs(tree_gzip) as fs:
        big = fs.lookup("/bigdir")
        assert big is not None
        assert big.is_dir
        assert big.index_count >= 1
        for name in ("f0000", "f0550", "f1099"):
            node = fs.lookup(f"/bigdir/{name}")
            assert node is not None
            assert node.is_file
            assert 2000 <= node.size < 2100
        assert fs.lookup("/bigdir/f1100") is None
        assert fs.lookup("/bigdir/a") is None
        assert fs.lookup("/bigdir/f0000/x") is None
        assert fs.listdir("/empty") == []
        assert fs.listdir("/nope") == []
        assert fs.listdir("/data/text.txt") == []
        assert fs.read_file("/data") is None
        sparse = fs.read_file("/data/sparse.bin")
        assert sparse == b"A" * 4096 + bytes(8192) + b"B" * 4096 + b"tail" * 25
        random = fs.read_file("/data/random.bin")
        assert random is not None
        assert len(random) == 5 * 4096 + 123


def _superblock_patched(path: Path, tmp_path: Path, fmt: str, offset: int, value: int) -> Path:
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    out = tmp_path / "patched.sqfs"
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize(("compression", "name"), [(3, "lzo"), (5, "lz4"), (9, "unknown")])
def test_unsupported_compressions_are_named(
    tree_gzip: Path, tmp_path: Path, compression: int, name: str
) -> None:
    path = _superblock_patched(tree_gzip, tmp_path, "<H", 20, compression)
    with (
        pytest.raises(UnsupportedCompression, match=f"unsupported squashfs compression: {name}"),
        open_fs(path),
    ):
        pass


def test_real_lz4_image_is_refused_with_a_hint() -> None:
    with pytest.raises(UnsupportedCompression) as caught, open_fs(DATA / "busybox-like-lz4.sqfs"):
        pass
    assert caught.value.hint is not None
    assert "unsquashfs" in caught.value.hint


def _tree(fs: SquashFS, path: str = "/") -> dict[str, bytes | None]:
    """Every path below ``path`` -> file content (None for directories and symlinks)."""
    out: dict[str, bytes | None] = {}
    for entry in fs.listdir(path):
        child = f"{path.rstrip('/')}/{entry.name}"
        out[child] = fs.read_file(child) if entry.type == FileType.FILE else None
        if entry.type == FileType.DIRECTORY:
            out.update(_tree(fs, child))
    return out


def test_legacy_lzma_reads_like_gzip(busybox_like: Path) -> None:
    """busybox-like's root file system recompressed with legacy lzma (compression id 2)."""
    with (
        open_fs(DATA / "busybox-like-lzma.sqfs") as lzma_fs,
        open_fs(busybox_like, partition=True) as gzip_fs,
    ):
        assert lzma_fs.superblock.compression == "lzma"
        tree = _tree(lzma_fs)
        assert len(tree) == 45
        assert tree == _tree(gzip_fs)


def test_zstd_without_zstandard_says_what_to_install(
    tree_zstd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "zstandard", None)  # makes `import zstandard` fail
    with pytest.raises(MetadataError, match="zstandard") as caught, open_fs(tree_zstd):
        pass
    assert caught.value.hint == "pip install 'sregistry[zstd]'"


@pytest.mark.parametrize(
    "case",
    [
        ("<I", 0, 0x12345678, "not a squashfs"),
        ("<H", 28, 3, "unsupported squashfs version 3.0"),
        ("<I", 12, 4000, "block size"),
        ("<Q", 40, 1 << 40, "truncated squashfs"),
        ("<Q", 64, 1 << 20, "out of order"),
    ],
)
def test_bad_superblocks(tree_gzip: Path, tmp_path: Path, case: tuple[str, int, int, str]) -> None:
    fmt, offset, value, message = case
    path = _superblock_patched(tree_gzip, tmp_path, fmt, offset, value)
    with pytest.raises(MetadataError, match=message), open_fs(path):
        pass


def test_too_short(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(b"hsqs")
    with pytest.raises(MetadataError, match="too short"), open_fs(path):
        pass


def test_corrupt_metadata_is_an_error(tree_gzip: Path, tmp_path: Path) -> None:
    with open_fs(tree_gzip) as fs:
        inode_table = fs.superblock.inode_table
    data = bytearray(tree_gzip.read_bytes())
    data[inode_table + 2 : inode_table + 40] = bytes(38)  # garbage inside a compressed block
    path = tmp_path / "corrupt.sqfs"
    path.write_bytes(bytes(data))
    with open_fs(path) as fs, pytest.raises(MetadataError, match="corrupt squashfs"):
        fs.lookup("/bigdir/f0000")  # its inode is in the first (broken) inode block
