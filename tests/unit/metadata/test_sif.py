"""SIF header and descriptor parsing on the real image, the fixtures and synthetic SIFs."""

from __future__ import annotations

import hashlib
import os
import struct
import uuid
from pathlib import Path

import pytest

from sregistry.errors import MetadataError, NotFound
from sregistry.metadata.sif import (
    ARCHITECTURES,
    DataType,
    FsType,
    HashType,
    PartType,
    read_sif,
)
from tests.unit.metadata import sifwriter as sw


def test_real_image_header(real_sif: Path) -> None:
    sif = read_sif(real_sif)
    header = sif.header
    assert sif.size == 792293
    assert header.launch_script == "#!/usr/bin/env run-singularity\n"
    assert header.version == "01"
    assert (header.arch_code, header.arch, sif.arch) == ("02", "amd64", "amd64")
    assert header.id == uuid.UUID("4f307b4c-58a8-4753-9c0f-21dceefed4a6")
    assert header.created_at == header.modified_at == 1627931376
    assert (header.descriptors_total, header.descriptors_free) == (48, 43)
    assert (header.descriptors_offset, header.descriptors_size) == (4096, 48 * 585)
    assert (header.data_offset, header.data_size) == (32768, 759525)


def test_real_image_descriptors(real_sif: Path) -> None:
    sif = read_sif(real_sif)
    rows = [(d.id, d.type_name, d.offset, d.size, d.name) for d in sif.descriptors]
    assert rows == [
        (1, "Def.FILE", 32768, 39, "."),
        (2, "JSON.Generic", 36864, 1896, "inspect-metadata.json"),
        (3, "JSON.Generic", 40960, 90, "oci-config.json"),
        (4, "FS", 45056, 745472, "squashfs-275937245"),
        (5, "Signature", 790528, 1765, "."),
    ]
    assert [d.group_id for d in sif.descriptors] == [1, 1, 1, 1, None]
    signature = sif.descriptors[4]
    assert (signature.linked_id, signature.link_is_group) == (1, True)
    assert signature.signature is not None
    assert signature.signature.hash_type == HashType.SHA256
    assert signature.signature.fingerprint == "1137E72E6816BFC06D9CAA0D15F3F4F4F14B03B2"
    primary = sif.primary_partition
    assert primary is not None
    assert primary.id == 4
    info = primary.partition
    assert info is not None
    assert (info.fs_type, info.part_type, info.arch) == (
        FsType.SQUASHFS,
        PartType.PRIMARY_SYSTEM,
        "amd64",
    )
    assert (info.fs_name, info.part_name) == ("squashfs", "primary_system")
    assert sif.descriptors[0].size_with_padding == 39
    assert sif.descriptors[1].size_with_padding == 5953
    assert not sif.is_oci_sif


def test_read_object_returns_exact_bytes(real_sif: Path) -> None:
    sif = read_sif(real_sif)
    deffile = sif.find(DataType.DEFFILE)
    assert deffile is not None
    assert sif.read_object(deffile) == b"BootStrap: docker\nFrom: busybox:1.33.1\n"
    config = sif.find(DataType.GENERIC_JSON, "oci-config.json")
    assert config is not None
    assert sif.read_object(config).startswith(b'{"Env":["PATH=')
    assert sif.find(DataType.GENERIC_JSON, "nope.json") is None
    with pytest.raises(MetadataError, match="more than the 10"):
        sif.read_object(config, limit=10)


@pytest.mark.parametrize(
    ("name", "sha256", "arch", "rows"),
    [
        (
            "busybox-like.sif",
            "f53422b89ea3002d63da44d7c593f38752b8c350e3709445b2acce69137eb026",
            "amd64",
            [(1, "FS", 32768, 4096, "")],
        ),
        (
            "runscript-only.sif",
            "134f779505ceec8077f77adfe299256738f89678a09b90d221c03ee0ebef3d06",
            "arm64",
            [(1, "FS", 32768, 4096, "")],
        ),
        (
            "with-descriptors.sif",
            "84a4caa5459a2505148a122e875b7ffd6eec4cda95ddf6bb4d5b3c0a94016d48",
            "amd64",
            [
                (1, "Def.FILE", 32176, 633, ""),
                (2, "JSON.Generic", 32809, 2461, "inspect-metadata.json"),
                (3, "JSON.Labels", 35270, 831, "labels.json"),
                (4, "FS", 36864, 4096, ""),
            ],
        ),
    ],
)
def test_fixtures_match_their_readme(
    fixtures_dir: Path, name: str, sha256: str, arch: str, rows: list[tuple[object, ...]]
) -> None:
    path = fixtures_dir / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    sif = read_sif(path)
    assert sif.arch == arch
    assert sif.header.data_offset == 32176
    assert sif.header.created_at == 1700000000
    assert [(d.id, d.type_name, d.offset, d.size, d.name) for d in sif.descriptors] == rows
    assert all(d.group_id == 1 and d.linked_id is None for d in sif.descriptors)
    assert all(d.created_at == 1700000000 for d in sif.descriptors)
    primary = sif.primary_partition
    assert primary is not None
    assert primary.partition is not None
    assert primary.partition.arch == arch


def test_type_and_arch_tables() -> None:
    assert [t.label for t in DataType] == [
        "Def.FILE",
        "Env.Vars",
        "JSON.Labels",
        "FS",
        "Signature",
        "JSON.Generic",
        "Generic/Raw",
        "Cryptographic Message",
        "SBOM",
        "OCI.RootIndex",
        "OCI.Blob",
    ]
    assert [t.value for t in DataType] == list(range(0x4001, 0x400C))
    assert ARCHITECTURES["02"] == "amd64"
    assert ARCHITECTURES["04"] == "arm64"
    assert ARCHITECTURES["12"] == "riscv64"
    assert ARCHITECTURES["13"] == "loong64"
    assert len(ARCHITECTURES) == 13
    assert "00" not in ARCHITECTURES


def test_synthetic_descriptors(tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32
    path = sw.write(
        tmp_path / "x.sif",
        [
            sw.Obj(sw.DEFFILE, b"Bootstrap: scratch\n", created=-62135596800),
            sw.Obj(0x4FFF, b"?", name="future"),
            sw.Obj(sw.OCI_ROOT_INDEX, b"{}", extra=digest.encode() + b"\0"),
            sw.Obj(sw.SIGNATURE, b"sig", group=0, link=3, extra=struct.pack("<i", 3)),
            sw.Obj(sw.GENERIC, b"unused", used=False),
            sw.partition(b"fs", part=sw.DATA, arch="04"),
        ],
        arch="00",
        image_id=uuid.UUID("0a0a0a0a-0000-4000-8000-00000000000a"),
    )
    sif = read_sif(path)
    assert [d.id for d in sif.descriptors] == [1, 2, 3, 4, 6]
    deffile, future, index, signature, data = sif.descriptors
    assert deffile.created_at == -62135596800
    assert (future.kind, future.type_name) == (None, "unknown (0x4fff)")
    assert index.oci_digest == digest
    assert sif.is_oci_sif
    assert signature.group_id is None
    assert (signature.linked_id, signature.link_is_group) == (3, False)
    assert signature.signature is not None
    assert signature.signature.fingerprint is None
    assert signature.signature.hash_name == "sha512"
    assert data.partition is not None
    assert data.partition.part_name == "data"
    assert sif.primary_partition is None
    assert (sif.header.arch, sif.arch) == (None, None)
    assert sif.header.id == uuid.UUID("0a0a0a0a-0000-4000-8000-00000000000a")


def test_arch_falls_back_to_the_primary_partition(tmp_path: Path) -> None:
    path = sw.write(tmp_path / "x.sif", [sw.partition(b"fs", arch="11")], arch="00")
    assert read_sif(path).arch == "s390x"


@pytest.mark.parametrize("slots", [0, 48])
def test_empty_sif(tmp_path: Path, slots: int) -> None:
    sif = read_sif(sw.write(tmp_path / "empty.sif", [], slots=slots))
    assert sif.descriptors == ()
    assert sif.primary_partition is None
    assert sif.arch == "amd64"


def _bad(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "bad.sif"
    path.write_bytes(data)
    return path


def _valid() -> bytes:
    return sw.build([sw.Obj(sw.DEFFILE, b"Bootstrap: scratch\n")])[0]


def _patch(data: bytes, offset: int, fmt: str, *values: object) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a SIF image"),
        (b"#!/bin/sh\necho hi\n", "not a SIF image"),
        (bytes(4096), "no SIF_MAGIC"),
        (_valid()[:4000], "truncated SIF"),
        (_valid()[:-1], "truncated SIF"),
        (_patch(_valid(), 42, "3s", b"02\0"), "unsupported SIF format version '02'"),
        (_patch(_valid(), 88, "<q", 1 << 40), "corrupt SIF header"),
        (_patch(_valid(), 88, "<q", -1), "corrupt SIF header"),
        (_patch(_valid(), 96, "<q", 12), "corrupt SIF header"),
        (_patch(_valid(), 112, "<q", -5), "corrupt SIF header"),
        (_patch(_valid(), 4096 + 17, "<q", 1 << 50), "truncated or corrupt SIF"),
        (_patch(_valid(), 4096 + 25, "<q", -1), "truncated or corrupt SIF"),
    ],
    ids=[
        "empty",
        "script",
        "zeros",
        "cut-in-table",
        "cut-in-data",
        "version",
        "huge-table",
        "negative-table",
        "table-in-header",
        "negative-data",
        "object-past-end",
        "negative-size",
    ],
)
def test_bad_files_raise_a_clear_error(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        read_sif(_bad(tmp_path, data))


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        read_sif(tmp_path / "nope.sif")


def test_directories_and_fifos_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="is a directory"):
        read_sif(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(MetadataError, match="not a regular file"):
        read_sif(fifo)
