"""library:// images inspected in place: ranges from the 303 target, no token sent there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sregistry.errors import NotFound
from sregistry.metadata import inspect_native
from tests.e2e.library.conftest import Library

pytestmark = pytest.mark.e2e

FIXTURES = [
    "real/busybox_amd64.sif",
    "busybox-like.sif",
    "runscript-only.sif",
    "with-descriptors.sif",
]


def _name(fixture: str) -> str:
    return Path(fixture).stem.replace("_", "-")


def test_library_metadata_read_remotely_equals_the_downloaded_file(
    make_library: Callable[..., Library], fixtures_dir: Path, tmp_path: Path
) -> None:
    library = make_library()
    with library.client(cache=False) as client:
        for fixture in FIXTURES:
            client.push(fixtures_dir / fixture, f"library://alice/demo/{_name(fixture)}:v1")
    library.server.clear_requests()
    for fixture in FIXTURES:
        ref = f"library://alice/demo/{_name(fixture)}:v1"
        arch = inspect_native(fixtures_dir / fixture).arch
        with library.client(cache=False, arch=arch) as client:
            remote = client.inspect(ref)
            pulled = client.pull(ref, tmp_path / f"{_name(fixture)}.sif")
        local = inspect_native(pulled.path)
        assert remote.attributes == local.attributes, fixture
        assert (remote.size, remote.arch) == (local.size, local.arch)
    storage = library.requests(r"^/_blob/", "GET")
    assert storage, "the image bytes came from the 303 target"
    for entry in storage:
        assert not any(key.lower() == "authorization" for key in entry["headers"])
    with library.client(cache=False) as client, pytest.raises(NotFound):
        client.inspect("library://alice/demo/missing:v1")


def test_library_listing_fills_scripts_from_the_images(
    make_library: Callable[..., Library], fixtures_dir: Path, tmp_path: Path
) -> None:
    from sregistry.main.fill import image_metadata

    library = make_library()
    real = fixtures_dir / "real" / "busybox_amd64.sif"
    with library.client(cache=False) as client:
        client.push(real, "library://alice/demo/busybox:v1")
        listed = client.search("library://alice/demo/busybox")
        filled = image_metadata(client, listed, env={"SREGISTRY_STORAGE": str(tmp_path / "s")})
    assert [item.source for item in filled] == ["image"]
    assert filled[0].metadata == inspect_native(real).attributes
