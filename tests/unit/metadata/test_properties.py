"""Property tests: truncated, mutated and random files give MetadataError or a result.

Never another exception, never a hang: every offset and size read from the
file is checked before it is used.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sregistry.errors import MetadataError
from sregistry.metadata import InspectResult, inspect_native, read_sif
from sregistry.metadata.sif import ImageFile
from sregistry.metadata.squashfs import SquashFS
from tests.conftest import FIXTURES
from tests.unit.metadata.conftest import DATA

IMAGES = {
    "real": FIXTURES / "real" / "busybox_amd64.sif",
    "busybox-like": FIXTURES / "busybox-like.sif",
    "runscript-only": FIXTURES / "runscript-only.sif",
    "with-descriptors": FIXTURES / "with-descriptors.sif",
}
CONTENT = {name: path.read_bytes() for name, path in IMAGES.items()}
FUZZ = settings(
    max_examples=150,
    deadline=5000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "image.sif"


def inspect_both(path: Path) -> list[InspectResult | None]:
    """Both native routes; ``None`` where a MetadataError was raised."""
    outcomes: list[InspectResult | None] = []
    for from_rootfs in (False, True):
        try:
            outcomes.append(inspect_native(path, from_rootfs=from_rootfs))
        except MetadataError:
            outcomes.append(None)
    return outcomes


def _regions(data: bytes) -> list[tuple[int, int]]:
    """Where the structure lives: header, descriptors, squashfs superblock and tables."""
    regions = [(0, 128), (4096, 4096 + 585 * 5), (0, len(data))]
    start = data.find(b"hsqs", 32768)
    if start > 0:
        regions.append((start, start + 96))
        regions.append((max(start, start + 4096 * ((len(data) - start) // 4096) - 8192), len(data)))
    return regions


@st.composite
def mutation(draw: st.DrawFn, name: str) -> bytes:
    data = bytearray(CONTENT[name])
    regions = _regions(bytes(data))
    for _ in range(draw(st.integers(1, 8))):
        low, high = draw(st.sampled_from(regions))
        position = draw(st.integers(low, min(high, len(data)) - 1))
        data[position] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.mark.parametrize("name", list(IMAGES))
@FUZZ
@given(data=st.data())
def test_truncation_is_always_a_clear_error(scratch: Path, name: str, data: st.DataObject) -> None:
    length = data.draw(st.integers(0, len(CONTENT[name]) - 1))
    scratch.write_bytes(CONTENT[name][:length])
    assert inspect_both(scratch) == [None, None]  # the header's data size exposes any cut


@pytest.mark.parametrize("name", list(IMAGES))
@FUZZ
@given(data=st.data())
def test_mutations_never_escape_as_other_exceptions(
    scratch: Path, name: str, data: st.DataObject
) -> None:
    scratch.write_bytes(data.draw(mutation(name)))
    for outcome in inspect_both(scratch):
        assert outcome is None or isinstance(outcome.to_json(), dict)


@FUZZ
@given(content=st.binary(max_size=40000))
def test_random_bytes_are_not_a_sif(scratch: Path, content: bytes) -> None:
    scratch.write_bytes(content)
    with pytest.raises(MetadataError):
        read_sif(scratch)


@FUZZ
@given(rest=st.binary(min_size=0, max_size=40000), slots=st.integers(0, 60))
def test_random_bytes_behind_a_valid_header(scratch: Path, rest: bytes, slots: int) -> None:
    header = bytearray(CONTENT["with-descriptors"][:128])
    header[88:96] = slots.to_bytes(8, "little")
    header[112:128] = bytes(16)  # data offset/size 0: let the descriptors speak
    scratch.write_bytes(bytes(header) + rest)
    inspect_both(scratch)


TREE = (DATA / "tree-gzip.sqfs").read_bytes()
TREE_PATHS = ["/bigdir/f0000", "/bigdir/f0777", "/data/sparse.bin", "/data/random.bin", "/link-rel"]


@FUZZ
@given(data=st.data())
def test_squashfs_mutations(scratch: Path, data: st.DataObject) -> None:
    content = bytearray(TREE)
    tables = (len(content) // 3, len(content))  # inode, directory, fragment and id tables
    for _ in range(data.draw(st.integers(1, 6))):
        low, high = data.draw(st.sampled_from([(0, 96), tables]))
        content[data.draw(st.integers(low, high - 1))] = data.draw(st.integers(0, 255))
    scratch.write_bytes(bytes(content))
    with ImageFile(scratch) as handle:
        try:
            fs = SquashFS(handle, size=handle.size)
            for path in TREE_PATHS:
                fs.read_file(path)
            fs.listdir("/bigdir")
            fs.lookup("/loop1")
        except MetadataError:
            pass
