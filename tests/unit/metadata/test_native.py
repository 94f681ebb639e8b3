"""The native route: inspect-metadata.json descriptor or /.singularity.d emulation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sregistry.errors import MetadataError, NotFound
from sregistry.metadata import inspect_native, read_sif
from sregistry.metadata.sif import DataType
from tests.unit.metadata import sifwriter as sw
from tests.unit.metadata.expected import BUSYBOX_LIKE, go_json


def stored_metadata(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def test_real_image_equals_its_embedded_metadata(real_sif: Path) -> None:
    stored = stored_metadata(real_sif, 36864, 1896)  # descriptor 2, per the README
    result = inspect_native(real_sif)
    assert result.source == "descriptor"
    assert result.to_json() == json.loads(stored)
    assert go_json(result.to_json()) == stored  # byte for byte, key order included
    assert (result.arch, result.size, result.warnings) == ("amd64", 792293, ())
    assert result.labels["org.label-schema.usage.singularity.version"] == "3.8.1"
    assert result.deffile == "BootStrap: docker\nFrom: busybox:1.33.1"
    assert result.startscript == "#!/bin/sh"
    assert result.runscript is not None
    assert result.runscript.endswith('exec "$@"')
    assert sorted(result.environment) == [
        "/.singularity.d/env/10-docker2singularity.sh",
        "/.singularity.d/env/90-environment.sh",
    ]
    assert (result.test, result.helpfile, result.apps) == (None, None, {})
    assert list(result.attributes) == [
        "environment",
        "labels",
        "runscript",
        "deffile",
        "startscript",
    ]


def test_real_image_rootfs_route_gives_the_same(real_sif: Path) -> None:
    from_descriptor = inspect_native(real_sif)
    from_rootfs = inspect_native(real_sif, from_rootfs=True)
    assert from_rootfs.source == "squashfs"
    assert from_rootfs.attributes == from_descriptor.attributes
    assert go_json(from_rootfs.to_json()) == stored_metadata(real_sif, 36864, 1896)


def test_with_descriptors_agrees_both_ways(with_descriptors: Path) -> None:
    stored = stored_metadata(with_descriptors, 32809, 2461)
    for result in (
        inspect_native(with_descriptors),
        inspect_native(with_descriptors, from_rootfs=True),
    ):
        assert go_json(result.to_json()) == stored, result.source
        assert result.apps == {
            "hello": {
                "environment": {
                    "/scif/apps/hello/scif/env/90-environment.sh": "HELLO_APP=1\nexport HELLO_APP"
                },
                "labels": {"HELLOTHISIS": "hello"},
                "runscript": '#!/bin/sh\n\necho "hello app"',
            }
        }
        assert len(result.labels) == 14
        assert result.labels["multi.word.value"] == "this value has spaces & an ampersand"
        assert sorted(result.environment) == [
            f"/.singularity.d/env/{name}"
            for name in ("10-docker2singularity.sh", "90-environment.sh", "91-environment.sh")
        ]
        assert result.startscript == "#!/bin/sh\n\nexec /bin/sh -c 'sleep 3600'"


def test_busybox_like_from_the_squashfs(busybox_like: Path) -> None:
    result = inspect_native(busybox_like)
    assert result.source == "squashfs"
    assert result.attributes == BUSYBOX_LIKE
    assert list(result.attributes) == [
        "environment",
        "labels",
        "runscript",
        "test",
        "helpfile",
        "deffile",
        "startscript",
    ]
    assert (result.arch, result.size, result.warnings) == ("amd64", 36864, ())


def test_runscript_only(runscript_only: Path) -> None:
    result = inspect_native(runscript_only)
    assert result.attributes == {
        "runscript": '#!/bin/sh\n\nexec /bin/sh -c "echo runscript-only fixture; $*"'
    }
    assert result.labels == {}
    assert result.environment == {}
    assert result.deffile is None
    assert result.test is None
    assert result.arch == "arm64"
    assert result.to_json() == {"data": {"attributes": result.attributes}, "type": "container"}
    assert result.upload_metadata() == {**result.to_json(), "arch": "arm64"}


def test_to_json_is_a_copy(real_sif: Path) -> None:
    result = inspect_native(real_sif)
    result.to_json()["data"]["attributes"]["labels"]["x"] = "y"
    result.labels["x"] = "y"
    assert "x" not in result.attributes["labels"]


def _parts(path: Path) -> dict[str, bytes]:
    """Def.FILE, named JSON objects and the primary partition's bytes of a fixture."""
    sif = read_sif(path)
    out = {
        d.name if d.name.endswith(".json") else d.type_name: sif.read_object(d)
        for d in sif.descriptors
        if d.type_name != "FS"
    }
    primary = sif.primary_partition
    assert primary is not None
    out["FS"] = sif.read_object(primary)
    return out


def test_deffile_descriptor_wins_over_the_rootfs_untrimmed(
    with_descriptors: Path, tmp_path: Path
) -> None:
    parts = _parts(with_descriptors)
    raw_deffile = parts["Def.FILE"]  # unnamed in this fixture
    assert raw_deffile.endswith(b"export HELLO_APP\n")
    path = sw.write(
        tmp_path / "x.sif", [sw.Obj(sw.DEFFILE, raw_deffile), sw.partition(parts["FS"])]
    )
    result = inspect_native(path)
    assert result.source == "squashfs"
    assert result.deffile == raw_deffile.decode()  # inspect 3.6+ prints Def.FILE verbatim
    rootfs = inspect_native(path, from_rootfs=True)
    assert rootfs.deffile == raw_deffile.decode().rstrip("\n")


def test_empty_sif_gives_an_empty_result(tmp_path: Path) -> None:
    result = inspect_native(sw.write(tmp_path / "empty.sif", [], slots=0))
    assert result.is_empty
    assert result.source == "sif"
    assert result.to_json() == {"data": {"attributes": {}}, "type": "container"}
    assert result.warnings == (
        "no primary system partition: the image holds no container metadata",
    )


def test_several_partitions_pick_the_primary(
    busybox_like: Path, runscript_only: Path, tmp_path: Path
) -> None:
    other = _parts(runscript_only)["FS"]
    path = sw.write(
        tmp_path / "multi.sif",
        [
            sw.partition(b"\0" * 8192, fs=sw.EXT3, part=sw.SYSTEM),
            sw.partition(other, part=sw.DATA),
            sw.partition(_parts(busybox_like)["FS"]),
            sw.partition(other, part=sw.SYSTEM),
        ],
    )
    result = inspect_native(path)
    assert result.attributes == BUSYBOX_LIKE


def test_ext3_primary_partition(with_descriptors: Path, tmp_path: Path) -> None:
    deffile = _parts(with_descriptors)["Def.FILE"]
    path = sw.write(
        tmp_path / "ext3.sif",
        [sw.Obj(sw.DEFFILE, deffile), sw.partition(b"\0" * 8192, fs=sw.EXT3, arch="06")],
        arch="06",
    )
    result = inspect_native(path)
    assert result.attributes == {"deffile": deffile.decode()}
    assert result.arch == "ppc64le"
    assert result.source == "sif"
    assert result.warnings == (
        "the primary partition is ext3, which this reader cannot open: "
        "only the SIF descriptors were read",
    )


def test_encrypted_partition_with_stored_metadata(real_sif: Path, tmp_path: Path) -> None:
    parts = _parts(real_sif)
    path = sw.write(
        tmp_path / "enc.sif",
        [
            sw.Obj(sw.GENERIC_JSON, parts["inspect-metadata.json"], name="inspect-metadata.json"),
            sw.partition(b"LUKS\xba\xbe" + bytes(4090), fs=sw.ENCRYPTED_SQUASHFS),
        ],
    )
    result = inspect_native(path)
    assert result.source == "descriptor"
    assert result.to_json() == json.loads(parts["inspect-metadata.json"])


def test_oci_sif_says_so(tmp_path: Path) -> None:
    path = sw.write(
        tmp_path / "oci.sif",
        [sw.Obj(sw.OCI_ROOT_INDEX, b"{}", extra=b"sha256:" + b"0" * 64 + b"\0")],
    )
    result = inspect_native(path)
    assert result.is_empty
    assert result.source == "sif"
    assert "OCI-SIF" in result.warnings[0]


@pytest.mark.parametrize(
    "stored",
    [b"not json", b"[]", b'{"data": {"attributes": []}}', b'{"attributes": {}}'],
)
def test_unusable_stored_metadata_falls_back_to_the_rootfs(
    busybox_like: Path, tmp_path: Path, stored: bytes
) -> None:
    path = sw.write(
        tmp_path / "x.sif",
        [
            sw.Obj(sw.GENERIC_JSON, stored, name="inspect-metadata.json"),
            sw.partition(_parts(busybox_like)["FS"]),
        ],
    )
    result = inspect_native(path)
    assert result.source == "squashfs"
    assert result.attributes == BUSYBOX_LIKE
    assert result.warnings == (
        "inspect-metadata.json is not inspect JSON; read the root file system",
    )


def test_odd_values_in_stored_metadata_are_cleaned(tmp_path: Path) -> None:
    stored = {
        "data": {
            "attributes": {
                "labels": {"b": "2", "a": 1, "c": None},
                "runscript": "",
                "test": 5,
                "environment": {},
                "apps": {"x": {"runscript": "echo", "deffile": "dropped"}},
                "future": {"kept": True},
            }
        },
        "type": "container",
    }
    path = sw.write(
        tmp_path / "x.sif",
        [sw.Obj(sw.GENERIC_JSON, json.dumps(stored).encode(), name="inspect-metadata.json")],
    )
    result = inspect_native(path)
    assert result.attributes == {
        "apps": {"x": {"runscript": "echo"}},
        "labels": {"a": "1", "b": "2", "c": "null"},
        "future": {"kept": True},
    }
    assert list(result.attributes["labels"]) == ["a", "b", "c"]
    assert len(result.warnings) == 3


def test_header_arch_unknown_uses_the_partition(runscript_only: Path, tmp_path: Path) -> None:
    path = sw.write(
        tmp_path / "x.sif", [sw.partition(_parts(runscript_only)["FS"], arch="04")], arch="00"
    )
    assert inspect_native(path).arch == "arm64"


def test_sparse_multi_gigabyte_image(real_sif: Path, tmp_path: Path) -> None:
    """A 5 GiB image (mostly a hole) whose partition lies past 4 GiB: 64-bit offsets."""
    parts = _parts(real_sif)
    path = sw.write(
        tmp_path / "big.sif",
        [
            sw.Obj(sw.DEFFILE, parts["Def.FILE"]),
            sw.Obj(sw.GENERIC, sparse_size=(4 << 30) + 12345),
            sw.partition(parts["FS"]),
        ],
    )
    sif = read_sif(path)
    primary = sif.primary_partition
    assert primary is not None
    assert primary.offset > 4 << 30
    assert sif.size > 4 << 30
    result = inspect_native(path)
    expected = inspect_native(real_sif).attributes
    assert result.attributes == {**expected, "deffile": parts["Def.FILE"].decode()}
    assert result.size == sif.size


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        inspect_native(tmp_path / "missing.sif")
    (tmp_path / "text").write_text("hello\n")
    with pytest.raises(MetadataError, match="not a SIF image"):
        inspect_native(tmp_path / "text")


def test_json_labels_descriptor_is_not_needed(with_descriptors: Path) -> None:
    """Only Singularity 3.5 read JSON.Labels; 3.6+ (emulated here) reads labels.json."""
    sif = read_sif(with_descriptors)
    labels = sif.find(DataType.LABELS)
    assert labels is not None
    assert labels.name == "labels.json"
    assert json.loads(sif.read_object(labels)) == inspect_native(with_descriptors).labels
