"""Metadata of images on a server, read in HTTP ranges without downloading them.

Checked against ``inspect`` of the downloaded file, on the reference server
(registry API with and without Range, Library API with its 303 to storage)
and on a plain loopback server that ignores Range (the byte cap).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from sregistry.cli import cli as sregistry_cli
from sregistry.metadata import inspect_native
from sregistry.transfer import Transport
from sregistry.transfer.remote_file import ReadLimitReached, RemoteFile
from tests.e2e.conftest import Registry, cli
from tests.e2e.remote_images import counting_server, padded_sif, range_server
from tests.server.pytest_plugin import RegistryServer

pytestmark = pytest.mark.e2e

FIXTURES = [
    "real/busybox_amd64.sif",
    "busybox-like.sif",
    "runscript-only.sif",
    "with-descriptors.sif",
]
MiB = 1 << 20


def _name(fixture: str) -> str:
    return Path(fixture).stem.replace("_", "-")


@pytest.mark.parametrize("ranges", [True, False], ids=["range", "no-range"])
def test_registry_metadata_read_remotely_equals_the_downloaded_file(
    make_registry_server: Callable[..., RegistryServer],
    fixtures_dir: Path,
    tmp_path: Path,
    ranges: bool,
) -> None:
    server = make_registry_server(registry_range=ranges)
    token = server.add_user("vsoch")
    registry = Registry(server, {"vsoch": token})
    for fixture in FIXTURES:
        server.add_image("lab", _name(fixture), "v1", fixtures_dir / fixture, owner="vsoch")
    with registry.client(cache=False) as client:
        for fixture in FIXTURES:
            name = f"lab/{_name(fixture)}:v1"
            with client.open_image(name) as image:
                remote = inspect_native(image)
                assert image.requests == 1, fixture
                assert image.ranges_honoured is ranges
            pulled = client.pull(name, tmp_path / f"{_name(fixture)}.sif")
            local = inspect_native(pulled.path)
            assert remote.attributes == local.attributes, fixture
            assert (remote.size, remote.arch, remote.source) == (
                local.size,
                local.arch,
                local.source,
            )
            # an independent check: what the fixture README says busybox holds
            if fixture.startswith("real/"):
                assert remote.labels["org.label-schema.usage.singularity.version"] == "3.8.1"
                assert remote.size == 792293


def test_busybox_costs_one_small_request(registry: Registry, fixtures_dir: Path) -> None:
    real = fixtures_dir / "real" / "busybox_amd64.sif"
    registry.server.add_image("lab", "busybox", "v1", real, owner="vsoch")
    with registry.client(cache=False) as client:
        registry.server.clear_requests()
        result = client.inspect("lab/busybox:v1")
    assert result.path == "lab/busybox:v1"
    downloads = registry.server.requests(r"/containers/.*/download|/images/")
    image_requests = [e for e in registry.server.requests() if e["method"] == "GET"]
    assert len(image_requests) < 10
    assert len(downloads) <= 1


@pytest.mark.parametrize("ranges", [True, False], ids=["range", "no-range"])
def test_squashfs_only_image_deep_in_the_file(
    make_registry_server: Callable[..., RegistryServer],
    fixtures_dir: Path,
    tmp_path: Path,
    ranges: bool,
) -> None:
    big = padded_sif(fixtures_dir / "busybox-like.sif", tmp_path / "big.sif", 24 * MiB)
    server = make_registry_server(registry_range=ranges)
    token = server.add_user("vsoch")
    server.add_image("lab", "big", "v1", big, owner="vsoch")
    registry = Registry(server, {"vsoch": token})
    expected = inspect_native(big)
    assert expected.source == "squashfs"  # the rootfs route
    assert expected.labels
    with registry.client(cache=False) as client:
        if ranges:
            with client.open_image("lab/big:v1") as image:
                remote = inspect_native(image)
                assert image.requests < 10
                assert image.bytes_received < MiB
            assert remote.attributes == expected.attributes
            assert remote.size == big.stat().st_size
        else:
            with pytest.raises(ReadLimitReached, match=r"more than 8388608 bytes"):
                client.inspect("lab/big:v1")


def test_the_cap_bounds_what_a_range_ignoring_server_sends(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    big = padded_sif(fixtures_dir / "busybox-like.sif", tmp_path / "big.sif", 64 * MiB)
    cap = 1 * MiB
    with counting_server(big) as server, closing(Transport(env={})) as transport:
        image = RemoteFile(transport, server.url, max_bytes=cap)
        with image, pytest.raises(ReadLimitReached) as caught:
            inspect_native(image)
        assert image.bytes_received <= cap
        assert image.requests == 1
    assert "1048576 bytes" in caught.value.message
    assert "ignores Range" in caught.value.message
    assert len(server.sent) == 1
    # what left the server: the cap plus what the kernel buffers on loopback
    assert server.sent[0] < cap + 8 * MiB < big.stat().st_size


def test_a_small_image_from_a_range_ignoring_server_is_read_then_closed(
    fixtures_dir: Path,
) -> None:
    real = fixtures_dir / "real" / "busybox_amd64.sif"
    with (
        counting_server(real) as server,
        closing(Transport(env={})) as transport,
        RemoteFile(transport, server.url) as image,
    ):
        remote = inspect_native(image)
        assert image.bytes_received < 128 << 10  # the metadata sits in the first blocks
    assert remote.attributes == inspect_native(real).attributes


def test_cli_inspect_ref_prints_what_inspect_of_the_file_prints(
    registry: Registry, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = fixtures_dir / "real" / "busybox_amd64.sif"
    registry.server.add_image("lab", "busybox", "v1", real, owner="vsoch")
    for key, value in registry.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SREGISTRY_CLIENT", "registry")
    monkeypatch.setenv("SREGISTRY_STORAGE", str(tmp_path / "store"))
    host = registry.url.split("://", 1)[1]
    local = json.loads(cli("inspect", "--native", "--json", str(real)).stdout)
    by_ref = cli("inspect", "--json", f"registry://{host}/lab/busybox:v1")
    assert by_ref.exit_code == 0, by_ref.output
    assert json.loads(by_ref.stdout) == local
    plain = cli("inspect", "--json", "lab/busybox:v1")  # not a file, not stored
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout) == local
    table = cli("inspect", "-r", "lab/busybox:v1")
    assert "file\tlab/busybox:v1\n" in table.stdout
    assert "OCI_ENTRYPOINT" in table.stdout
    # this server ignores Range: an image whose metadata lies 24 MiB in hits the cap
    big = padded_sif(fixtures_dir / "busybox-like.sif", tmp_path / "big.sif", 24 * MiB)
    registry.server.add_image("lab", "big", "v1", big, owner="vsoch")
    capped = CliRunner().invoke(sregistry_cli, ["inspect", "lab/big:v1"])
    assert capped.exit_code == 1
    assert "more than 8388608 bytes" in capped.stderr
    assert "raise SREGISTRY_REMOTE_READ_MAX" in capped.stderr


def test_reads_are_block_aligned_cached_and_coalesced(fixtures_dir: Path, tmp_path: Path) -> None:
    real = fixtures_dir / "real" / "busybox_amd64.sif"
    data = real.read_bytes()
    block = 64 << 10
    with range_server(real) as server, closing(Transport(env={})) as transport:
        image = RemoteFile(transport, f"{server.url}/image.sif", block_size=block)
        with image:
            assert image.pread(100, 10) == data[10:110]
            assert image.size == len(data)
            assert image.pread(50, 20) == data[20:70]  # cached: no request
            assert image.requests == 1
            # blocks 2..5 are missing: one request for all of them
            assert image.pread(4 * block - 7, 2 * block + 3) == data[2 * block + 3 : 6 * block - 4]
            assert image.requests == 2
            image.seek(-5, 2)
            assert image.read() == data[-5:]
            assert image.pread(10, len(data) + 1) == b""
    assert [entry[1] for entry in server.log] == [
        f"bytes=0-{block - 1}",
        f"bytes={2 * block}-{6 * block - 1}",
        f"bytes={(len(data) - 5) // block * block}-{len(data) - 1}",
    ]


def test_a_redirect_target_never_gets_the_credentials(fixtures_dir: Path) -> None:
    real = fixtures_dir / "real" / "busybox_amd64.sif"
    with range_server(real) as server, closing(Transport(env={})) as transport:
        image = RemoteFile(
            transport, f"{server.url}/redirect", headers={"Authorization": "Bearer secret"}
        )
        with image:
            result = inspect_native(image)
            image.pread(10, 200_000)  # a later read goes straight to the target
    assert result.attributes == inspect_native(real).attributes
    assert server.log[0] == ("/redirect", f"bytes=0-{(64 << 10) - 1}", "Bearer secret")
    assert [path for path, _, _ in server.log[1:]] == ["/image.sif"] * (len(server.log) - 1)
    assert all(auth is None for _, _, auth in server.log[1:])  # same host, still no token
