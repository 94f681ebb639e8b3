"""The ``local`` backend through the Client API (``get_client``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sregistry.errors import DestinationExists, InvalidName, NotFound
from sregistry.main import get_client
from sregistry.main.base import Client
from sregistry.main.local.client import LocalClient
from tests.unit.storecheck import problems, sha256_of

SHA = "f53422b89ea3002d63da44d7c593f38752b8c350e3709445b2acce69137eb026"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    with get_client("local", storage=tmp_path / "store") as opened:
        yield opened


def test_get_client_finds_the_local_backend(tmp_path: Path, isolated_env: Path) -> None:
    default = get_client()
    assert isinstance(default, LocalClient), "no registry configured: the local store"
    assert default.location == str(isolated_env / ".local" / "share" / "sregistry")
    by_uri = get_client("local://vsoch/hello:v1")
    assert isinstance(by_uri, LocalClient)
    assert by_uri.uri == "local://vsoch/hello:v1"
    assert get_client("local", storage=tmp_path).location == str(tmp_path)


def test_push_stores_a_copy_with_metadata(client: Client, fixtures_dir: Path) -> None:
    source = fixtures_dir / "busybox-like.sif"
    seen: list[int] = []
    result = client.push(source, "VSoch/Hello", tag="V1", progress=lambda d, t: seen.append(d))
    assert result.name == "vsoch/hello:v1"
    assert (result.sha256, result.version) == (SHA, f"sha256.{SHA}")
    assert result.size == source.stat().st_size == seen[-1]
    assert result.metadata_sent
    assert result.warnings == ()
    assert result.location is not None
    assert sha256_of(Path(result.location)) == SHA
    info = client.get("vsoch/hello:v1")
    assert info.arch == "amd64"
    assert info.metadata["labels"]["FIXTURE"] == "a"
    assert "runscript" in info.metadata
    assert [label.containers for label in client.labels("fixture", "A")] == [("vsoch/hello:v1",)]


def test_push_of_an_unreadable_image_warns_and_stores(client: Client, tmp_path: Path) -> None:
    odd = tmp_path / "not-a-sif.bin"
    odd.write_bytes(b"\0" * 5000)
    result = client.push(odd, "a/odd")
    assert result.warnings
    assert "no metadata stored" in result.warnings[0]
    assert not result.metadata_sent
    assert client.get("a/odd").metadata == {}


def test_push_with_given_metadata_or_without_inspect(client: Client, fixtures_dir: Path) -> None:
    source = fixtures_dir / "busybox-like.sif"
    given = client.push(source, "a/given", metadata={"labels": {"k": "v"}})
    assert given.metadata_sent
    assert client.get("a/given").metadata == {"labels": {"k": "v"}}
    bare = client.push(source, "a/bare", inspect=False)
    assert not bare.metadata_sent
    assert client.get("a/bare").metadata == {}


def test_pull_writes_a_verified_copy(client: Client, fixtures_dir: Path, tmp_path: Path) -> None:
    client.push(fixtures_dir / "busybox-like.sif", "a/b:c")
    out = tmp_path / "out"
    out.mkdir()
    result = client.pull("local://a/b:c", out)
    assert result.path == out / "a-b_c.sif"
    # the store is this backend's registry, not a cache: nothing was "served from" it
    assert (result.name, result.sha256, result.from_cache) == ("a/b:c", SHA, False)
    assert sha256_of(result.path) == SHA
    with pytest.raises(DestinationExists):
        client.pull("a/b:c", result.path)
    result.path.write_bytes(b"x")
    assert client.pull("a/b:c", result.path, force=True).path == result.path
    assert sha256_of(result.path) == SHA
    with pytest.raises(NotFound):
        client.pull("a/missing", out)


def test_search_get_delete(client: Client, fixtures_dir: Path, tmp_path: Path) -> None:
    client.push(fixtures_dir / "busybox-like.sif", "a/one")
    client.push(fixtures_dir / "busybox-like.sif", "a/two")
    client.push(fixtures_dir / "runscript-only.sif", "b/three")
    assert [info.uri for info in client.search()] == [
        "a/one:latest",
        "a/two:latest",
        "b/three:latest",
    ]
    assert [info.uri for info in client.search("b/")] == ["b/three:latest"]
    info = client.get("a/one")
    assert info.version == f"sha256.{SHA}"
    assert info.location is not None
    client.delete("a/one")
    assert Path(info.location).exists(), "a/two still uses the bytes"
    client.delete("a/two")
    assert not Path(info.location).exists()
    with pytest.raises(NotFound):
        client.delete("a/two")
    with pytest.raises(NotFound):
        client.get("a/two")
    with pytest.raises(InvalidName):
        client.get("a/b/c/d")
    assert problems(tmp_path / "store") == []


def test_push_then_pull_round_trip_through_default_store(
    fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SREGISTRY_STORAGE", str(tmp_path / "env-store"))
    copy = tmp_path / "image.sif"
    shutil.copyfile(fixtures_dir / "with-descriptors.sif", copy)
    with get_client() as client:
        pushed = client.push(copy, "x/y")
        pulled = client.pull("x/y", tmp_path / "back.sif")
    assert sha256_of(pulled.path) == pushed.sha256 == sha256_of(copy)
    assert problems(tmp_path / "env-store") == []
