"""A small, lazy, read-only squashfs 4.0 reader.

Opening reads the 96-byte superblock; looking up a path reads only the
metadata blocks along it (directory index, directory listing, inodes), and
reading a file reads its data blocks and fragment. Nothing scans the image, so
a few files from a multi-GB root file system cost a handful of small reads.

Compression: gzip (``zlib``), xz and legacy lzma (``lzma``) from the standard
library, zstd with the optional ``zstandard`` package; lzo and lz4 raise
:class:`UnsupportedCompression` (a :class:`~sregistry.errors.MetadataError`). Every offset and size
read from the image is checked against the partition, so a corrupt or hostile
image yields ``MetadataError``, never an unbounded read or a hang.

Format reference: the squashfs 4.0 layout as written by squashfs-tools
(superblock, metadata blocks of 8 KiB, inode and directory tables, fragment
table); see ``docs/sif-and-inspect.md`` §3.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import IO, Protocol

from sregistry.errors import MetadataError

__all__ = ["DirEntry", "FileType", "Inode", "SquashFS", "Superblock", "UnsupportedCompression"]

MAGIC = 0x73717368  # "hsqs"
METADATA_SIZE = 8192
NO_FRAGMENT = 0xFFFFFFFF
MAX_SYMLINK_HOPS = 40
MAX_SYMLINK_SIZE = 4096
MAX_CACHED_BLOCKS = 256
DEFAULT_FILE_LIMIT = 16 << 20

_SUPERBLOCK = struct.Struct("<IIIIIHHHHHHQQQQQQQQ")
_INODE_HEADER = struct.Struct("<HHHHII")
_BASIC_DIR = struct.Struct("<IIHHI")
_EXT_DIR = struct.Struct("<IIIIHHI")
_BASIC_FILE = struct.Struct("<IIII")
_EXT_FILE = struct.Struct("<QQQIIII")
_SYMLINK = struct.Struct("<II")
_DIR_HEADER = struct.Struct("<III")
_DIR_ENTRY = struct.Struct("<HhHH")
_DIR_INDEX = struct.Struct("<III")
_FRAGMENT = struct.Struct("<QII")

COMPRESSIONS = {1: "gzip", 2: "lzma", 3: "lzo", 4: "xz", 5: "lz4", 6: "zstd"}


class FileType(IntEnum):
    """Basic inode types (directory entries always carry these)."""

    DIRECTORY = 1
    FILE = 2
    SYMLINK = 3
    BLOCK_DEVICE = 4
    CHAR_DEVICE = 5
    FIFO = 6
    SOCKET = 7


class Reader(Protocol):
    """Positional reads of the underlying file (``ImageFile`` satisfies it)."""

    def pread(self, size: int, offset: int) -> bytes: ...


@dataclass(frozen=True)
class Superblock:
    """The fields of the superblock this reader uses."""

    inode_count: int
    mkfs_time: int
    block_size: int
    fragment_count: int
    compression: str
    compression_id: int
    flags: int
    bytes_used: int
    root_inode: int
    inode_table: int
    directory_table: int
    fragment_table: int


@dataclass(frozen=True)
class Inode:
    """An inode, with what reading a directory, file or symlink needs."""

    ref: int
    type: FileType
    mode: int
    mtime: int
    number: int
    size: int = 0
    """File size; for a directory, the listing size."""
    start: int = 0
    """Directory: listing block (relative); file: first data block (absolute)."""
    block_offset: int = 0
    """Directory: offset of the listing inside its block."""
    fragment: int = NO_FRAGMENT
    fragment_offset: int = 0
    index_count: int = 0
    tail: tuple[int, int] = (0, 0)
    """Metadata position right after the inode: block sizes or directory index."""
    target: bytes = b""
    """Symlink target."""

    @property
    def is_dir(self) -> bool:
        return self.type == FileType.DIRECTORY

    @property
    def is_file(self) -> bool:
        return self.type == FileType.FILE

    @property
    def is_symlink(self) -> bool:
        return self.type == FileType.SYMLINK


@dataclass(frozen=True)
class DirEntry:
    """One name in a directory."""

    name: str
    raw_name: bytes
    type: FileType
    ref: int


class UnsupportedCompression(MetadataError):
    """The file system uses a compression this reader cannot decompress (lzo, lz4)."""


def _corrupt(what: str) -> MetadataError:
    return MetadataError(f"corrupt squashfs: {what}")


def _decompressor(compression: int) -> Callable[[bytes, int], bytes]:
    """A function ``(data, limit) -> bytes`` for the superblock's compression id."""
    if compression == 1:

        def gzip(data: bytes, limit: int) -> bytes:
            engine = zlib.decompressobj()
            out = engine.decompress(data, limit)
            if engine.unconsumed_tail:
                raise _corrupt("a block inflates beyond its size")
            return out

        return gzip
    if compression in (2, 4):
        import lzma

        container = lzma.FORMAT_ALONE if compression == 2 else lzma.FORMAT_XZ

        def xz(data: bytes, limit: int) -> bytes:
            return lzma.LZMADecompressor(container).decompress(data, limit)

        return xz
    if compression == 6:
        try:
            import zstandard
        except ImportError:
            raise MetadataError(
                "this squashfs is zstd-compressed, which needs the zstandard package",
                hint="pip install 'sregistry[zstd]'",
            ) from None

        def zstd(data: bytes, limit: int) -> bytes:
            return zstandard.ZstdDecompressor().decompress(data, max_output_size=limit)

        return zstd
    name = COMPRESSIONS.get(compression, f"unknown ({compression})")
    raise UnsupportedCompression(
        f"unsupported squashfs compression: {name} (this reader handles gzip, xz, lzma, zstd)",
        hint="install squashfs-tools (unsquashfs >= 4.5) or singularity/apptainer to read it",
    )


class SquashFS:
    """A squashfs 4.0 file system stored at ``offset`` in a file, ``size`` bytes long.

    ``reader`` has ``pread(size, offset)`` (a local or remote image file), or
    is a seekable binary file object.
    """

    def __init__(self, reader: Reader | IO[bytes], *, offset: int = 0, size: int) -> None:
        if not hasattr(reader, "pread"):
            from sregistry.metadata.sif import positional

            reader = positional(reader)
        self._reader: Reader = reader
        self._offset = offset
        self._size = size
        self._blocks: dict[int, tuple[bytes, int]] = {}
        self._fragments: dict[int, bytes] = {}
        self.superblock = self._read_superblock()
        compression = _decompressor(self.superblock.compression_id)

        def decompress(data: bytes, limit: int) -> bytes:
            try:
                return compression(data, limit)
            except MetadataError:
                raise
            except Exception as exc:  # noqa: BLE001 - zlib/lzma/zstandard error types differ
                raise _corrupt(f"a block does not decompress ({exc})") from None

        self._decompress = decompress

    # -- low level -----------------------------------------------------------
    def _read(self, position: int, length: int) -> bytes:
        if position < 0 or length < 0 or position + length > self._size:
            raise _corrupt(f"{length} bytes at {position} lie outside the {self._size}-byte image")
        data = self._reader.pread(length, self._offset + position)
        if len(data) != length:
            raise MetadataError("truncated squashfs (the file ends inside the file system)")
        return data

    def _read_superblock(self) -> Superblock:
        raw = self._read(0, _SUPERBLOCK.size) if self._size >= _SUPERBLOCK.size else b""
        if len(raw) < _SUPERBLOCK.size:
            raise MetadataError("not a squashfs file system (too short)")
        (
            magic,
            inodes,
            mkfs_time,
            block_size,
            fragments,
            compression,
            block_log,
            flags,
            _no_ids,
            major,
            minor,
            root,
            bytes_used,
            _id_table,
            _xattr_table,
            inode_table,
            directory_table,
            fragment_table,
            _export_table,
        ) = _SUPERBLOCK.unpack(raw)
        if magic != MAGIC:
            raise MetadataError("not a squashfs file system (no hsqs magic)")
        if (major, minor) != (4, 0):
            raise MetadataError(f"unsupported squashfs version {major}.{minor} (4.0 is read)")
        if not 12 <= block_log <= 20 or block_size != 1 << block_log:
            raise _corrupt(f"block size {block_size}")
        if bytes_used > self._size:
            raise MetadataError(
                f"truncated squashfs ({bytes_used} bytes used, {self._size} available)"
            )
        if not inode_table < directory_table <= bytes_used:
            raise _corrupt("inode and directory tables out of order")
        self._size = bytes_used
        return Superblock(
            inode_count=inodes,
            mkfs_time=mkfs_time,
            block_size=block_size,
            fragment_count=fragments,
            compression=COMPRESSIONS.get(compression, f"unknown ({compression})"),
            compression_id=compression,
            flags=flags,
            bytes_used=bytes_used,
            root_inode=root,
            inode_table=inode_table,
            directory_table=directory_table,
            fragment_table=fragment_table,
        )

    def _metadata_block(self, position: int) -> tuple[bytes, int]:
        """The decompressed metadata block at ``position`` and the next block's position."""
        cached = self._blocks.get(position)
        if cached is not None:
            return cached
        # One read for the 2-byte header and the largest possible block after it.
        chunk = self._read(position, max(0, min(2 + METADATA_SIZE, self._size - position)))
        if len(chunk) < 2:
            raise _corrupt(f"metadata block at {position} past the end")
        (header,) = struct.unpack_from("<H", chunk)
        length = header & 0x7FFF
        if not 0 < length <= len(chunk) - 2:
            raise _corrupt(f"metadata block of {length} bytes at {position}")
        data = chunk[2 : 2 + length]
        if not header & 0x8000:
            data = self._decompress(data, METADATA_SIZE)
        if len(self._blocks) >= MAX_CACHED_BLOCKS:
            self._blocks.clear()
        self._blocks[position] = (data, position + 2 + length)
        return self._blocks[position]

    def _read_metadata(self, block: int, offset: int, length: int) -> tuple[bytes, int, int]:
        """``length`` bytes of metadata from ``(block, offset)``; returns the new position."""
        if length == 0:
            return b"", block, offset
        data, following = self._metadata_block(block)
        end = offset + length
        if end < len(data):  # the common case: inside one block
            return data[offset:end], block, end
        out = bytearray()
        while True:
            data, following = self._metadata_block(block)
            if offset > len(data):
                raise _corrupt(f"offset {offset} past a {len(data)}-byte metadata block")
            chunk = data[offset : offset + length - len(out)]
            out += chunk
            offset += len(chunk)
            if offset == len(data):
                block, offset = following, 0
            if len(out) == length:
                return bytes(out), block, offset

    # -- inodes and directories ----------------------------------------------
    def inode(self, ref: int) -> Inode:
        """The inode at reference ``ref`` (block << 16 | offset)."""
        sb = self.superblock
        block, offset = sb.inode_table + (ref >> 16), ref & 0xFFFF
        if block >= sb.directory_table or offset >= METADATA_SIZE:
            raise _corrupt(f"inode reference {ref:#x} outside the inode table")
        raw, block, offset = self._read_metadata(block, offset, _INODE_HEADER.size)
        kind, mode, _uid, _gid, mtime, number = _INODE_HEADER.unpack(raw)
        common = {"ref": ref, "mode": mode, "mtime": mtime, "number": number}
        if kind == 1:
            raw, block, offset = self._read_metadata(block, offset, _BASIC_DIR.size)
            start, _links, size, block_offset, _parent = _BASIC_DIR.unpack(raw)
            return Inode(
                type=FileType.DIRECTORY, size=size, start=start, block_offset=block_offset, **common
            )
        if kind == 8:
            raw, block, offset = self._read_metadata(block, offset, _EXT_DIR.size)
            _links, size, start, _parent, count, block_offset, _xattr = _EXT_DIR.unpack(raw)
            return Inode(
                type=FileType.DIRECTORY,
                size=size,
                start=start,
                block_offset=block_offset,
                index_count=count,
                tail=(block, offset),
                **common,
            )
        if kind in (2, 9):
            layout = _BASIC_FILE if kind == 2 else _EXT_FILE
            raw, block, offset = self._read_metadata(block, offset, layout.size)
            if kind == 2:
                start, fragment, fragment_offset, size = layout.unpack(raw)
            else:
                start, size, _sparse, _links, fragment, fragment_offset, _xattr = layout.unpack(raw)
            return Inode(
                type=FileType.FILE,
                size=size,
                start=start,
                fragment=fragment,
                fragment_offset=fragment_offset,
                tail=(block, offset),
                **common,
            )
        if kind in (3, 10):
            raw, block, offset = self._read_metadata(block, offset, _SYMLINK.size)
            _links, target_size = _SYMLINK.unpack(raw)
            if target_size > MAX_SYMLINK_SIZE:
                raise _corrupt(f"symlink target of {target_size} bytes")
            target, _, _ = self._read_metadata(block, offset, target_size)
            return Inode(type=FileType.SYMLINK, size=target_size, target=target, **common)
        if 4 <= kind <= 7 or 11 <= kind <= 14:
            return Inode(type=FileType(kind if kind <= 7 else kind - 7), **common)
        raise _corrupt(f"inode type {kind}")

    def _entries(
        self, inode: Inode, skip: int = 0, block: int | None = None
    ) -> Iterator[tuple[bytes, int, int]]:
        """``(name, type, inode ref)`` of a directory's entries, from listing byte ``skip``."""
        remaining = inode.size - 3 - skip  # the size counts "." and ".." (3 bytes)
        offset = (inode.block_offset + skip) % METADATA_SIZE
        if block is None:
            block = self.superblock.directory_table + inode.start
        read, unpack_entry = self._read_metadata, _DIR_ENTRY.unpack
        while remaining > 0:
            raw, block, offset = read(block, offset, _DIR_HEADER.size)
            count, start, _base = _DIR_HEADER.unpack(raw)
            remaining -= _DIR_HEADER.size
            if count >= 256:
                raise _corrupt(f"directory header with {count + 1} entries")
            for _ in range(count + 1):
                raw, block, offset = read(block, offset, _DIR_ENTRY.size)
                entry_offset, _delta, kind, name_size = unpack_entry(raw)
                name, block, offset = read(block, offset, name_size + 1)
                remaining -= _DIR_ENTRY.size + name_size + 1
                if not 1 <= kind <= 7 or name_size >= 256 or remaining < 0:
                    raise _corrupt("directory entry")
                yield name, kind, start << 16 | entry_offset

    def _find(self, directory: Inode, name: bytes) -> int | None:
        """The inode ref of ``name`` in ``directory`` (its index, if any, skips ahead)."""
        skip, start_block = 0, None
        block, offset = directory.tail
        for _ in range(directory.index_count):
            raw, block, offset = self._read_metadata(block, offset, _DIR_INDEX.size)
            index, start, size = _DIR_INDEX.unpack(raw)
            if size >= 256:
                raise _corrupt("directory index entry")
            first, block, offset = self._read_metadata(block, offset, size + 1)
            if first > name:
                break
            skip, start_block = index, self.superblock.directory_table + start
        for entry_name, _kind, ref in self._entries(directory, skip, start_block):
            if entry_name == name:
                return ref
            if entry_name > name:  # listings are sorted bytewise
                return None
        return None

    def lookup(self, path: str, *, follow_symlinks: bool = True) -> Inode | None:
        """The inode at absolute ``path`` (symlinks followed inside the image), or ``None``."""
        root = self.inode(self.superblock.root_inode)
        todo = [part.encode("utf-8", "surrogateescape") for part in path.split("/")]
        todo.reverse()
        parents: list[Inode] = []
        current = root
        hops = 0
        while todo:
            name = todo.pop()
            if name in (b"", b"."):
                continue
            if name == b"..":
                current = parents.pop() if parents else root
                continue
            if not current.is_dir:
                return None
            ref = self._find(current, name)
            if ref is None:
                return None
            child = self.inode(ref)
            if child.is_symlink and (todo or follow_symlinks):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                if child.target.startswith(b"/"):
                    current, parents = root, []
                todo.extend(reversed(child.target.split(b"/")))
                continue
            parents.append(current)
            current = child
        return current

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a directory (symlinks followed)."""
        inode = self.lookup(path)
        return inode is not None and inode.is_dir

    def listdir(self, path: str) -> list[DirEntry]:
        """The entries of the directory at ``path`` (empty when it is missing)."""
        inode = self.lookup(path)
        if inode is None or not inode.is_dir:
            return []
        return [
            DirEntry(name.decode("utf-8", "replace"), name, FileType(kind), ref)
            for name, kind, ref in self._entries(inode)
        ]

    # -- file contents -------------------------------------------------------
    def _fragment(self, index: int) -> bytes:
        cached = self._fragments.get(index)
        if cached is not None:
            return cached
        sb = self.superblock
        if index >= sb.fragment_count:
            raise _corrupt(f"fragment {index} of {sb.fragment_count}")
        entries_per_block = METADATA_SIZE // _FRAGMENT.size
        (location,) = struct.unpack(
            "<Q", self._read(sb.fragment_table + 8 * (index // entries_per_block), 8)
        )
        raw, _, _ = self._read_metadata(
            location, (index % entries_per_block) * _FRAGMENT.size, _FRAGMENT.size
        )
        start, size, _unused = _FRAGMENT.unpack(raw)
        data = self._data_block(start, size)
        if len(self._fragments) >= MAX_CACHED_BLOCKS:
            self._fragments.clear()
        self._fragments[index] = data
        return data

    def _data_block(self, position: int, size_field: int) -> bytes:
        length = size_field & 0xFFFFFF
        if length > self.superblock.block_size:
            raise _corrupt(f"data block of {length} bytes")
        data = self._read(position, length)
        if size_field & (1 << 24):
            return data
        return self._decompress(data, self.superblock.block_size)

    def read_inode(self, inode: Inode, *, limit: int = DEFAULT_FILE_LIMIT) -> bytes:
        """The content of a regular file's inode (at most ``limit`` bytes, else an error)."""
        if not inode.is_file:
            raise MetadataError("not a regular file")
        if inode.size > limit:
            raise MetadataError(f"file of {inode.size} bytes exceeds the {limit}-byte limit")
        block_size = self.superblock.block_size
        has_fragment = inode.fragment != NO_FRAGMENT
        count = inode.size // block_size if has_fragment else -(-inode.size // block_size)
        raw, _, _ = self._read_metadata(*inode.tail, 4 * count)
        out = bytearray()
        position = inode.start
        for size_field in struct.unpack(f"<{count}I", raw):
            expected = min(block_size, inode.size - len(out))
            if size_field & 0xFFFFFF == 0:  # a sparse block
                out += bytes(expected)
                continue
            block = self._data_block(position, size_field)
            position += size_field & 0xFFFFFF
            if len(block) < expected:
                raise _corrupt("short data block")
            out += block[:expected]
        if has_fragment:
            tail = inode.size - len(out)
            fragment = self._fragment(inode.fragment)
            if inode.fragment_offset + tail > len(fragment):
                raise _corrupt("file tail outside its fragment")
            out += fragment[inode.fragment_offset : inode.fragment_offset + tail]
        if len(out) != inode.size:
            raise _corrupt("file size does not match its blocks")
        return bytes(out)

    def read_file(self, path: str, *, limit: int = DEFAULT_FILE_LIMIT) -> bytes | None:
        """The content of the regular file at ``path``, or ``None`` when there is none."""
        inode = self.lookup(path)
        if inode is None or not inode.is_file:
            return None
        return self.read_inode(inode, limit=limit)

    def readlink(self, path: str) -> str | None:
        """The target of the symlink at ``path``, or ``None`` when it is not one."""
        inode = self.lookup(path, follow_symlinks=False)
        if inode is None or not inode.is_symlink:
            return None
        return inode.target.decode("utf-8", "replace")
