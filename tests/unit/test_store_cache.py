"""The store as the remote backends' pull cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sregistry.errors import DestinationExists, IntegrityError
from sregistry.store import ImageStore, cache_enabled, cached_pull, open_cache, record_pull
from tests.unit.storecheck import problems, sha256_of

SHA = "f53422b89ea3002d63da44d7c593f38752b8c350e3709445b2acce69137eb026"


@pytest.fixture
def pulled(tmp_path: Path, fixtures_dir: Path) -> Path:
    """A verified download, as a backend would have it."""
    path = tmp_path / "download.sif"
    shutil.copyfile(fixtures_dir / "busybox-like.sif", path)
    return path


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, True),
        ({"SREGISTRY_DISABLE": "no"}, True),
        ({"SREGISTRY_DISABLE": "Yes"}, False),
        ({"SINGULARITY_DISABLE_CACHE": "1"}, False),
        ({"SINGULARITY_DISABLE_CACHE": "true", "SREGISTRY_DISABLE": "0"}, False),
    ],
)
def test_cache_switches(env: dict[str, str], enabled: bool, tmp_path: Path) -> None:
    assert cache_enabled(env) is enabled
    env = {**env, "SREGISTRY_STORAGE": str(tmp_path)}
    store = open_cache(env)
    assert (store is not None) is enabled
    if store is not None:
        assert store.root == tmp_path
    assert open_cache(env, no_cache=True) is None


def test_record_then_serve_from_the_store(pulled: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    dest = tmp_path / "again.sif"
    assert cached_pull(store, f"sha256.{SHA}", dest, False) is None
    assert not dest.exists()

    image = record_pull(
        store,
        pulled,
        "vsoch/hello:v1",
        sha256=SHA,
        source="registry://registry.example.org",
        metadata={"labels": {"a": "b"}},
        arch="amd64",
    )
    assert pulled.exists(), "the user's download stays where it is"
    assert (image.source, image.arch, image.sha256) == (
        "registry://registry.example.org",
        "amd64",
        SHA,
    )
    assert store.get("vsoch/hello:v1").metadata == {"labels": {"a": "b"}}

    seen: list[int] = []
    assert cached_pull(store, SHA, dest, False, progress=lambda d, t: seen.append(d)) == dest
    assert sha256_of(dest) == SHA
    assert seen[-1] == dest.stat().st_size
    assert os.listdir(tmp_path / "store" / "blobs" / "sha256") == [f"{SHA}.sif"]
    assert problems(tmp_path / "store") == []


def test_recording_known_bytes_copies_nothing(pulled: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    first = record_pull(store, pulled, "a/b", sha256=SHA, source="local")
    inode = first.path.stat().st_ino
    second = record_pull(store, pulled, "c/d", sha256=f"sha256.{SHA}", source="library://x")
    assert second.path.stat().st_ino == inode
    assert [image.uri for image in store.search()] == ["a/b:latest", "c/d:latest"]


def test_cached_pull_force_rules(pulled: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    record_pull(store, pulled, "a/b", sha256=SHA, source="local")
    dest = tmp_path / "mine.sif"
    dest.write_bytes(b"keep me")
    with pytest.raises(DestinationExists):
        cached_pull(store, SHA, dest, False)
    assert dest.read_bytes() == b"keep me"
    assert cached_pull(store, SHA, dest, True) == dest
    assert sha256_of(dest) == SHA
    assert cached_pull(store, "md5.0123", dest, True) is None


def test_a_damaged_stored_file_is_never_served(pulled: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    image = record_pull(store, pulled, "a/b", sha256=SHA, source="local")
    os.chmod(image.path, 0o644)
    image.path.write_bytes(b"garbage")
    dest = tmp_path / "out.sif"
    with pytest.raises(IntegrityError):
        cached_pull(store, SHA, dest, False)
    assert not dest.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".incomplete")] == []
