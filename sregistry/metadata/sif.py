"""The SIF container format: global header, descriptor table, data objects.

:func:`read_sif` reads the 128-byte header and the descriptor table (48 slots
of 585 bytes in images built by Singularity/Apptainer) and nothing else; data
objects are read on demand with :meth:`SifImage.read_object`. All integers are
little-endian and packed (Go ``encoding/binary``). Reference:
``docs/sif-and-inspect.md`` §1.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import uuid
from dataclasses import dataclass, field
from enum import IntEnum
from typing import IO, Protocol, runtime_checkable

from sregistry.errors import MetadataError, NotFound

__all__ = [
    "ARCHITECTURES",
    "DESCRIPTOR_SIZE",
    "HEADER_SIZE",
    "DataType",
    "Descriptor",
    "FsType",
    "HashType",
    "ImageFile",
    "ImageSource",
    "PartType",
    "PartitionInfo",
    "Positional",
    "SifHeader",
    "SifImage",
    "SignatureInfo",
    "positional",
    "read_sif",
]

HEADER_SIZE = 128
DESCRIPTOR_SIZE = 585
MAGIC = b"SIF_MAGIC\0"
MAX_DESCRIPTORS = 1 << 16
"""More slots than any builder writes (48 by default); a bigger count is corruption."""
MAX_OBJECT_READ = 64 << 20
"""Largest data object :meth:`SifImage.read_object` returns (metadata objects are KiBs)."""

_HEADER = struct.Struct("<32s10s3s3s16sqqqqqqqq")
_DESCRIPTOR = struct.Struct("<i?IIIqqqqqqq128s384s")
_GROUP_FLAG = 0xF0000000

ARCHITECTURES: dict[str, str] = {
    "01": "386",
    "02": "amd64",
    "03": "arm",
    "04": "arm64",
    "05": "ppc64",
    "06": "ppc64le",
    "07": "mips",
    "08": "mipsle",
    "09": "mips64",
    "10": "mips64le",
    "11": "s390x",
    "12": "riscv64",
    "13": "loong64",
}
"""SIF arch code -> Go architecture name; ``00`` (unknown) is absent."""


class DataType(IntEnum):
    """Descriptor data object types (``siftool add --datatype N`` uses N = value - 0x4000)."""

    DEFFILE = 0x4001
    ENV_VARS = 0x4002
    LABELS = 0x4003
    PARTITION = 0x4004
    SIGNATURE = 0x4005
    GENERIC_JSON = 0x4006
    GENERIC = 0x4007
    CRYPTO_MESSAGE = 0x4008
    SBOM = 0x4009
    OCI_ROOT_INDEX = 0x400A
    OCI_BLOB = 0x400B

    @property
    def label(self) -> str:
        """The name ``siftool list`` prints."""
        return _TYPE_LABELS[self]


_TYPE_LABELS = {
    DataType.DEFFILE: "Def.FILE",
    DataType.ENV_VARS: "Env.Vars",
    DataType.LABELS: "JSON.Labels",
    DataType.PARTITION: "FS",
    DataType.SIGNATURE: "Signature",
    DataType.GENERIC_JSON: "JSON.Generic",
    DataType.GENERIC: "Generic/Raw",
    DataType.CRYPTO_MESSAGE: "Cryptographic Message",
    DataType.SBOM: "SBOM",
    DataType.OCI_ROOT_INDEX: "OCI.RootIndex",
    DataType.OCI_BLOB: "OCI.Blob",
}


class FsType(IntEnum):
    """File system of a partition object."""

    SQUASHFS = 1
    EXT3 = 2
    IMMUTABLE_OBJECT = 3
    RAW = 4
    ENCRYPTED_SQUASHFS = 5
    GOCRYPTFS_SQUASHFS = 6


class PartType(IntEnum):
    """Role of a partition object; at most one ``PRIMARY_SYSTEM`` per image."""

    SYSTEM = 1
    PRIMARY_SYSTEM = 2
    DATA = 3
    OVERLAY = 4


class HashType(IntEnum):
    """Hash of a signature object."""

    SHA256 = 1
    SHA384 = 2
    SHA512 = 3
    BLAKE2S_256 = 4
    BLAKE2B_256 = 5


def _enum_name(enum: type[IntEnum], value: int) -> str:
    try:
        return enum(value).name.lower()
    except ValueError:
        return f"unknown ({value})"


def _cstring(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


@dataclass(frozen=True)
class PartitionInfo:
    """The Extra field of a partition descriptor."""

    fs_type: int
    part_type: int
    arch_code: str
    arch: str | None

    @property
    def fs_name(self) -> str:
        return _enum_name(FsType, self.fs_type)

    @property
    def part_name(self) -> str:
        return _enum_name(PartType, self.part_type)


@dataclass(frozen=True)
class SignatureInfo:
    """The Extra field of a signature descriptor."""

    hash_type: int
    fingerprint: str | None
    """Upper-case hex PGP fingerprint of the signing key, ``None`` when absent."""

    @property
    def hash_name(self) -> str:
        return _enum_name(HashType, self.hash_type)


@dataclass(frozen=True)
class Descriptor:
    """One used slot of the descriptor table."""

    slot: int
    data_type: int
    id: int
    group_id: int | None
    """The group (flag bits masked off), ``None`` when the object has no group."""
    linked_id: int | None
    """The linked object or group id, ``None`` when unlinked."""
    link_is_group: bool
    offset: int
    size: int
    size_with_padding: int
    created_at: int
    modified_at: int
    name: str
    extra: bytes = field(repr=False)

    @property
    def kind(self) -> DataType | None:
        """The data type, or ``None`` for a type this reader does not know."""
        try:
            return DataType(self.data_type)
        except ValueError:
            return None

    @property
    def type_name(self) -> str:
        kind = self.kind
        return kind.label if kind is not None else f"unknown (0x{self.data_type:04x})"

    @property
    def partition(self) -> PartitionInfo | None:
        """Partition details for an ``FS`` object."""
        if self.data_type != DataType.PARTITION:
            return None
        fs_type, part_type, arch = struct.unpack_from("<ii3s", self.extra)
        code = _cstring(arch)
        return PartitionInfo(fs_type, part_type, code, ARCHITECTURES.get(code))

    @property
    def signature(self) -> SignatureInfo | None:
        """Hash type and key fingerprint of a ``Signature`` object."""
        if self.data_type != DataType.SIGNATURE:
            return None
        (hash_type,) = struct.unpack_from("<i", self.extra)
        entity = self.extra[4:24]
        return SignatureInfo(hash_type, entity.hex().upper() if any(entity) else None)

    @property
    def oci_digest(self) -> str | None:
        """``sha256:<hex>`` of an OCI root index or blob object."""
        if self.data_type not in (DataType.OCI_ROOT_INDEX, DataType.OCI_BLOB):
            return None
        return _cstring(self.extra) or None


@dataclass(frozen=True)
class SifHeader:
    """The 128-byte global header."""

    launch_script: str
    version: str
    arch_code: str
    arch: str | None
    id: uuid.UUID
    created_at: int
    """Unix seconds; -62135596800 (Go's zero time) in deterministic builds."""
    modified_at: int
    descriptors_free: int
    descriptors_total: int
    descriptors_offset: int
    descriptors_size: int
    data_offset: int
    data_size: int


@runtime_checkable
class Positional(Protocol):
    """A binary file read by position: ``size`` bytes long, ``name`` for messages.

    :class:`ImageFile` (a local path) and
    :class:`~sregistry.transfer.remote_file.RemoteFile` (HTTP ranges) are ones.
    """

    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...

    def pread(self, size: int, offset: int) -> bytes: ...


ImageSource = str | os.PathLike[str] | Positional | IO[bytes]
"""What the readers take: a path, a :class:`Positional` reader or a seekable binary file."""


class _SeekableFile:
    """A seekable binary file object read by position (``seek`` + ``read``)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        raw_name = getattr(handle, "name", None)
        self.name = raw_name if isinstance(raw_name, str) else "<file object>"
        try:
            self.size = handle.seek(0, io.SEEK_END)
        except (OSError, ValueError) as exc:
            raise MetadataError(f"{self.name} is not a seekable file: {exc}") from None

    def pread(self, size: int, offset: int) -> bytes:
        out = bytearray()
        try:
            self._handle.seek(offset)
            while len(out) < size:
                chunk = self._handle.read(size - len(out))
                if not chunk:
                    break
                out += chunk
        except OSError as exc:
            raise MetadataError(f"cannot read {self.name}: {exc.strerror or exc}") from None
        return bytes(out)


def positional(source: Positional | IO[bytes]) -> Positional:
    """``source`` as a :class:`Positional` reader (a file object is wrapped)."""
    if isinstance(source, Positional):
        return source
    return _SeekableFile(source)


@dataclass(frozen=True)
class SifImage:
    """A SIF file's header and used descriptors (read by :func:`read_sif`)."""

    path: str
    """The file's path, or the name of the file object it was read from."""
    size: int
    """The file size in bytes."""
    header: SifHeader
    descriptors: tuple[Descriptor, ...]
    reader: Positional | None = field(default=None, repr=False, compare=False)
    """The open reader of a file object source; ``None``: reopen ``path``."""

    def find(self, data_type: DataType, name: str | None = None) -> Descriptor | None:
        """The first object of ``data_type`` (and ``name`` when given), if any."""
        for descriptor in self.descriptors:
            if descriptor.data_type == data_type and name in (None, descriptor.name):
                return descriptor
        return None

    @property
    def primary_partition(self) -> Descriptor | None:
        """The primary system partition (the container's root file system)."""
        for descriptor in self.descriptors:
            info = descriptor.partition
            if info is not None and info.part_type == PartType.PRIMARY_SYSTEM:
                return descriptor
        return None

    @property
    def arch(self) -> str | None:
        """The image architecture: the header's, else the primary partition's."""
        if self.header.arch is not None:
            return self.header.arch
        primary = self.primary_partition
        info = primary.partition if primary is not None else None
        return info.arch if info is not None else None

    @property
    def is_oci_sif(self) -> bool:
        """An OCI-SIF (SingularityCE 4 ``--oci``): an OCI layout instead of a rootfs."""
        return self.find(DataType.OCI_ROOT_INDEX) is not None

    def read_object(self, descriptor: Descriptor, *, limit: int = MAX_OBJECT_READ) -> bytes:
        """The bytes of one (small) data object."""
        if descriptor.size > limit:
            raise MetadataError(
                f"{self.path}: SIF object {descriptor.id} ({descriptor.type_name}) is "
                f"{descriptor.size} bytes, more than the {limit} this reader loads"
            )
        if self.reader is not None:
            data = self.reader.pread(descriptor.size, descriptor.offset)
        else:
            with ImageFile(self.path) as handle:
                data = handle.pread(descriptor.size, descriptor.offset)
        if len(data) != descriptor.size:
            raise MetadataError(f"{self.path}: truncated SIF (object {descriptor.id} is cut off)")
        return data


class ImageFile:
    """A regular file opened for ``pread``, as a context manager.

    Maps a missing file to :class:`~sregistry.errors.NotFound` and any other
    failure to open it (a directory, a FIFO, no permission) to
    :class:`~sregistry.errors.MetadataError`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.fd = -1
        self.size = 0

    @property
    def name(self) -> str:
        return self.path

    def __enter__(self) -> ImageFile:
        try:
            mode = os.stat(self.path).st_mode
            if stat.S_ISDIR(mode):
                raise MetadataError(f"{self.path} is a directory, not a SIF image")
            if not stat.S_ISREG(mode):
                raise MetadataError(f"{self.path} is not a regular file")
            self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            self.size = os.fstat(self.fd).st_size
        except FileNotFoundError:
            raise NotFound(f"no such file: {self.path}") from None
        except OSError as exc:
            raise MetadataError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def pread(self, size: int, offset: int) -> bytes:
        """Up to ``size`` bytes at ``offset`` (fewer at the end of the file)."""
        try:
            return os.pread(self.fd, size, offset)
        except OSError as exc:
            raise MetadataError(f"cannot read {self.path}: {exc.strerror or exc}") from None


def read_sif(path: ImageSource) -> SifImage:
    """Parse the header and descriptor table of the SIF file at ``path``.

    ``path`` may also be a seekable binary file object or a
    :class:`Positional` reader (e.g. a remote file read in HTTP ranges); the
    returned image then reads its objects through it, so it must stay open.

    Raises :class:`~sregistry.errors.NotFound` when the file does not exist and
    :class:`~sregistry.errors.MetadataError` when it is not a SIF file, uses an
    unknown format version, or is truncated or inconsistent.
    """
    if isinstance(path, str | os.PathLike):
        with ImageFile(path) as handle:
            return _read_sif(handle, None)
    reader = positional(path)
    return _read_sif(reader, reader)


def _read_sif(handle: Positional, keep: Positional | None) -> SifImage:
    size, name = handle.size, handle.name
    header = _parse_header(name, handle.pread(HEADER_SIZE, 0), size)
    table = handle.pread(header.descriptors_total * DESCRIPTOR_SIZE, header.descriptors_offset)
    if len(table) != header.descriptors_total * DESCRIPTOR_SIZE:
        raise MetadataError(f"{name}: truncated SIF (descriptor table is cut off)")
    descriptors = tuple(
        descriptor
        for slot in range(header.descriptors_total)
        if (descriptor := _parse_descriptor(name, table, slot, size)) is not None
    )
    in_use = header.descriptors_total - header.descriptors_free
    if len(descriptors) != in_use:  # a shifted table offset, or a count below the slots in use
        raise MetadataError(
            f"{name}: corrupt SIF (the header says {in_use} of {header.descriptors_total} "
            f"descriptors are in use, the table at offset {header.descriptors_offset} holds "
            f"{len(descriptors)})"
        )
    return SifImage(name, size, header, descriptors, keep)


def _parse_header(path: str, raw: bytes, size: int) -> SifHeader:
    if len(raw) < HEADER_SIZE:
        raise MetadataError(f"{path} is not a SIF image ({size} bytes, shorter than a SIF header)")
    (launch, magic, version, arch, uid, *numbers) = _HEADER.unpack(raw)
    if magic != MAGIC:
        raise MetadataError(f"{path} is not a SIF image (no SIF_MAGIC at offset 32)")
    if version != b"01\0":
        raise MetadataError(
            f"{path}: unsupported SIF format version {_cstring(version)!r} (only 01 is known)"
        )
    created, modified, free, total, desc_offset, desc_size, data_offset, data_size = numbers
    if not 0 <= free <= total <= MAX_DESCRIPTORS or desc_offset < HEADER_SIZE:
        raise MetadataError(
            f"{path}: corrupt SIF header (descriptor table {total}@{desc_offset}, {free} free)"
        )
    if desc_offset + total * DESCRIPTOR_SIZE > size:
        raise MetadataError(
            f"{path}: truncated SIF (the descriptor table ends past the file's {size} bytes)"
        )
    if data_offset < 0 or data_size < 0:
        raise MetadataError(f"{path}: corrupt SIF header (data {data_size}@{data_offset})")
    if data_size and data_offset + data_size > size:
        raise MetadataError(
            f"{path}: truncated SIF (header says {data_offset + data_size} bytes, "
            f"the file has {size})"
        )
    code = _cstring(arch)
    return SifHeader(
        launch_script=_cstring(launch),
        version=_cstring(version),
        arch_code=code,
        arch=ARCHITECTURES.get(code),
        id=uuid.UUID(bytes=uid),
        created_at=created,
        modified_at=modified,
        descriptors_free=free,
        descriptors_total=total,
        descriptors_offset=desc_offset,
        descriptors_size=desc_size,
        data_offset=data_offset,
        data_size=data_size,
    )


def _parse_descriptor(path: str, table: bytes, slot: int, size: int) -> Descriptor | None:
    (
        data_type,
        used,
        object_id,
        group,
        link,
        offset,
        length,
        padded,
        created,
        modified,
        _uid,
        _gid,
        name,
        extra,
    ) = _DESCRIPTOR.unpack_from(table, slot * DESCRIPTOR_SIZE)
    if not used:
        return None
    if offset < 0 or length < 0 or offset + length > size:
        raise MetadataError(
            f"{path}: truncated or corrupt SIF (object {object_id} claims bytes "
            f"{offset}..{offset + length}, the file has {size})"
        )
    group_id = group & ~_GROUP_FLAG
    return Descriptor(
        slot=slot,
        data_type=data_type,
        id=object_id,
        group_id=group_id if group_id else None,
        linked_id=(link & ~_GROUP_FLAG) or None,
        link_is_group=bool(link & _GROUP_FLAG),
        offset=offset,
        size=length,
        size_with_padding=padded,
        created_at=created,
        modified_at=modified,
        name=_cstring(name),
        extra=extra,
    )
