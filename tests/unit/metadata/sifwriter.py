"""A tiny SIF writer for tests: synthetic images with any descriptors.

Independent of :mod:`sregistry.metadata.sif` (it packs the layout from
docs/sif-and-inspect.md §1 itself), so reader bugs cannot cancel out.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from pathlib import Path

DEFFILE, ENV_VARS, LABELS, PARTITION, SIGNATURE, GENERIC_JSON, GENERIC = range(0x4001, 0x4008)
OCI_ROOT_INDEX = 0x400A
SQUASHFS, EXT3, ENCRYPTED_SQUASHFS = 1, 2, 5
SYSTEM, PRIMARY, DATA = 1, 2, 3
NO_GROUP = 0xF0000000


@dataclass
class Obj:
    """One data object to write."""

    data_type: int
    data: bytes = b""
    name: str = ""
    group: int = 1
    link: int = 0
    extra: bytes = b""
    align: int = 1
    used: bool = True
    created: int = 1700000000
    sparse_size: int = 0
    """Write this many bytes as a hole instead of ``data`` (huge objects)."""


def partition(
    data: bytes, *, fs: int = SQUASHFS, part: int = PRIMARY, arch: str = "02", **kwargs: object
) -> Obj:
    extra = struct.pack("<ii3s", fs, part, arch.encode() + b"\0")
    return Obj(PARTITION, data, extra=extra, align=4096, **kwargs)  # type: ignore[arg-type]


def build(
    objects: list[Obj],
    *,
    arch: str = "02",
    slots: int = 48,
    data_offset: int = 32176,
    magic: bytes = b"SIF_MAGIC\0",
    version: bytes = b"01\0",
    image_id: uuid.UUID | None = None,
    created: int = 1700000000,
) -> tuple[bytes, list[tuple[int, int]]]:
    """Header + descriptor table (+ data, holes excluded) and each object's (offset, size).

    Objects with ``sparse_size`` are not in the returned bytes; use :func:`write`.
    """
    layout: list[tuple[int, int]] = []
    position = data_offset
    for obj in objects:
        position = -(-position // obj.align) * obj.align
        size = obj.sparse_size or len(obj.data)
        layout.append((position, size))
        position += size
    end = max([data_offset, position])
    header = struct.pack(
        "<32s10s3s3s16sqqqqqqqq",
        b"#!/usr/bin/env run-singularity\n",
        magic,
        version,
        arch.encode() + b"\0",
        (image_id or uuid.UUID(int=0)).bytes,
        created,
        created,
        slots - sum(obj.used for obj in objects),
        slots,
        4096,
        slots * 585,
        data_offset,
        end - data_offset,
    )
    image = bytearray(header.ljust(4096, b"\0"))
    for index, (obj, (offset, size)) in enumerate(zip(objects, layout, strict=True)):
        image += struct.pack(
            "<i?IIIqqqqqqq128s384s",
            obj.data_type,
            obj.used,
            index + 1,
            obj.group | NO_GROUP if obj.group else NO_GROUP,
            obj.link,
            offset,
            size,
            size,
            obj.created,
            obj.created,
            0,
            0,
            obj.name.encode(),
            obj.extra,
        )
    image += bytes(585 * (slots - len(objects)))
    image = image.ljust(data_offset, b"\0")
    hole = min(
        [offset for obj, (offset, _) in zip(objects, layout, strict=True) if obj.sparse_size]
        or [end]
    )
    for obj, (offset, _size) in zip(objects, layout, strict=True):
        if obj.sparse_size or offset >= hole:
            continue
        image = image.ljust(offset, b"\0")
        image[offset : offset + len(obj.data)] = obj.data
    return bytes(image), layout


def write(path: Path, objects: list[Obj], **options: object) -> Path:
    """Write a SIF to ``path``; sparse objects become holes (cheap multi-GB files)."""
    image, layout = build(objects, **options)  # type: ignore[arg-type]
    with open(path, "wb") as handle:
        handle.write(image)
        end = max([len(image), *(offset + size for offset, size in layout)])
        handle.truncate(end)
        for obj, (offset, _size) in zip(objects, layout, strict=True):
            if not obj.sparse_size and offset >= len(image):
                handle.seek(offset)
                handle.write(obj.data)
    return path
