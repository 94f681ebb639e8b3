"""The store as the remote backends' pull cache."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from sregistry.errors import DestinationExists, IntegrityError
from sregistry.store import (
    ImageStore,
    PullCache,
    cache_enabled,
    cached_pull,
    open_cache,
    record_pull,
)
from sregistry.store.cache import cache_settings
from sregistry.store.files import clone
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


def _damage(path: Path) -> None:
    """Flip one byte of a stored (read-only) file in place."""
    os.chmod(path, 0o644)
    with open(path, "r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.chmod(path, 0o444)


def test_cache_settings_keep_only_the_store_variables() -> None:
    env = {
        "SREGISTRY_STORAGE": "/data/store",
        "SREGISTRY_DISABLE": "0",
        "SREGISTRY_REGISTRY_TOKEN": "secret",
        "HOME": "/home/me",
    }
    assert cache_settings(env) == {"SREGISTRY_STORAGE": "/data/store", "SREGISTRY_DISABLE": "0"}


@pytest.mark.parametrize(
    ("env", "enabled"),
    [({}, False), ({"SREGISTRY_DISABLE": "1"}, True), ({"SINGULARITY_DISABLE_CACHE": "y"}, True)],
)
def test_a_disabled_pull_cache_makes_no_store(
    env: dict[str, str], enabled: bool, pulled: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    with PullCache({**env, "SREGISTRY_STORAGE": str(root)}, enabled=enabled) as cache:
        assert cache.store is None
        assert cache.serve(SHA, tmp_path / "x.sif", False) is None
        assert cache.record(pulled, "a/b", sha256=SHA, source="registry://h") is None
    assert cache.warnings == []
    assert not root.exists()


def test_a_miss_reads_no_database(pulled: Path, tmp_path: Path) -> None:
    root = tmp_path / "store"
    with PullCache({"SREGISTRY_STORAGE": str(root)}) as cache:
        assert cache.serve(SHA, tmp_path / "x.sif", False) is None
        assert not root.exists(), "a lookup creates nothing"
        stored = cache.record(pulled, "a/b:v1", sha256=SHA, source="registry://h")
        assert stored is not None
        assert stored.uri == "a/b:v1"
        assert cache.serve(f"sha256.{SHA}", tmp_path / "x.sif", False) == tmp_path / "x.sif"
    assert cache.warnings == []
    assert sha256_of(tmp_path / "x.sif") == SHA
    assert problems(root) == []


def _download_again(fixtures_dir: Path, path: Path) -> Path:
    """A new verified download of the same bytes (its own file, as a backend writes)."""
    shutil.copyfile(fixtures_dir / "busybox-like.sif", path)
    return path


def test_a_damaged_stored_file_is_reported_then_repaired_by_the_next_record(
    pulled: Path, tmp_path: Path, fixtures_dir: Path
) -> None:
    root = tmp_path / "store"
    store = ImageStore(root)
    image = record_pull(store, pulled, "a/b", sha256=SHA, source="local")
    store.close()
    _damage(image.path)
    dest = tmp_path / "out.sif"
    with PullCache({"SREGISTRY_STORAGE": str(root)}) as cache:
        assert cache.serve(SHA, dest, False) is None
        assert not dest.exists()
        assert len(cache.warnings) == 1
        assert "is damaged" in cache.warnings[0]
        assert cache.warnings[0].endswith("downloading the image again")
        # the caller downloads again and records it
        again = _download_again(fixtures_dir, tmp_path / "again.sif")
        assert cache.record(again, "c/d", sha256=SHA, source="registry://h") is not None
    assert "damaged copy of c/d was replaced" in cache.warnings[1]
    assert sha256_of(image.path) == SHA
    assert problems(root) == [], "repaired, read-only, every tag intact"
    assert [p.name for p in (root / "blobs" / "sha256").iterdir()] == [f"{SHA}.sif"]


def test_failing_to_record_is_only_a_warning(pulled: Path, tmp_path: Path) -> None:
    with PullCache({"SREGISTRY_STORAGE": str(tmp_path / "store")}) as cache:
        assert cache.record(pulled, "a/b/c/d", sha256=SHA, source="library://h") is None
        assert cache.record(tmp_path / "gone.sif", "a/b", sha256=SHA, source="x") is None
    assert len(cache.warnings) == 2
    assert cache.warnings[0].startswith("a/b/c/d was not recorded in the local store: ")
    assert "does not exist" in cache.warnings[1]


def test_a_store_copy_that_fails_otherwise_is_skipped_with_a_warning(
    pulled: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    record_pull(ImageStore(root), pulled, "a/b", sha256=SHA, source="local")
    with PullCache({"SREGISTRY_STORAGE": str(root)}) as cache:
        assert cache.serve(SHA, tmp_path / "no-such-folder" / "x.sif", False) is None
    (warning,) = cache.warnings
    assert warning.startswith("the local store's copy was not used (cannot copy the image out")


def test_destination_exists_is_still_raised(pulled: Path, tmp_path: Path) -> None:
    root = tmp_path / "store"
    record_pull(ImageStore(root), pulled, "a/b", sha256=SHA, source="local")
    dest = tmp_path / "mine.sif"
    dest.write_bytes(b"keep")
    with PullCache({"SREGISTRY_STORAGE": str(root)}) as cache, pytest.raises(DestinationExists):
        cache.serve(SHA, dest, False)
    assert dest.read_bytes() == b"keep"


def test_restore_replaces_only_a_stored_file(
    pulled: Path, tmp_path: Path, fixtures_dir: Path
) -> None:
    store = ImageStore(tmp_path / "store")
    assert store.restore(SHA, pulled) is False
    assert not (tmp_path / "store" / "blobs").exists()
    image = record_pull(store, pulled, "a/b", sha256=SHA, source="local")
    inode = image.path.stat().st_ino
    _damage(image.path)
    again = _download_again(fixtures_dir, tmp_path / "again.sif")
    assert store.restore(f"sha256.{SHA}", again) is True
    assert image.path.stat().st_ino != inode, "a new file renamed over the damaged one"
    assert image.path.stat().st_ino != again.stat().st_ino, "copied: share was not asked for"
    assert sha256_of(image.path) == SHA
    assert problems(tmp_path / "store") == []
    assert again.exists(), "the source is copied, never moved"


def test_a_recorded_pull_shares_one_inode_with_the_store(pulled: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    image = record_pull(store, pulled, "a/b", sha256=SHA, source="registry://h")
    assert os.stat(image.path).st_ino == os.stat(pulled).st_ino
    assert os.stat(pulled).st_nlink == 2
    assert not os.stat(pulled).st_mode & 0o222, "the pulled file is read-only now"
    assert store.verify(image) == image.path, "intact: no hashing needed, none done"
    assert problems(tmp_path / "store") == []


def test_a_touched_stored_file_is_hashed_once_then_trusted(pulled: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    image = record_pull(store, pulled, "a/b", sha256=SHA, source="registry://h")
    assert store.blobs.intact(SHA, image.size)
    os.utime(pulled)  # a new modification time, the same bytes
    assert not store.blobs.intact(SHA, image.size)
    assert store.verify(image) == image.path
    assert store.blobs.intact(SHA, image.size), "found intact by hashing: stamped again"


def test_a_stored_file_changed_through_the_pulled_name_is_never_handed_out(
    pulled: Path, tmp_path: Path
) -> None:
    store = ImageStore(tmp_path / "store")
    image = record_pull(store, pulled, "a/b", sha256=SHA, source="registry://h")
    _damage(pulled)
    with pytest.raises(IntegrityError, match="was changed after it was stored"):
        store.verify(image)
    with pytest.raises(IntegrityError, match="is damaged"):
        store.export("a/b", tmp_path / "moved.sif", move=True)
    assert not (tmp_path / "moved.sif").exists()
    assert store.get("a/b").sha256 == SHA, "the tag stays until the file is repaired"


def test_recording_over_a_changed_stored_file_replaces_it(
    pulled: Path, tmp_path: Path, fixtures_dir: Path
) -> None:
    store = ImageStore(tmp_path / "store")
    image = record_pull(store, pulled, "a/b", sha256=SHA, source="registry://h")
    _damage(pulled)
    again = _download_again(fixtures_dir, tmp_path / "again.sif")
    record_pull(store, again, "a/b", sha256=SHA, source="registry://h")
    assert os.stat(image.path).st_ino == os.stat(again).st_ino, "the new download took its place"
    assert sha256_of(image.path) == SHA
    assert problems(tmp_path / "store") == []


def test_mv_of_a_shared_stored_file_gives_the_target_its_own_inode(
    pulled: Path, tmp_path: Path
) -> None:
    store = ImageStore(tmp_path / "store")
    record_pull(store, pulled, "a/b", sha256=SHA, source="registry://h")
    moved = store.export("a/b", tmp_path / "moved.sif", move=True)
    assert os.stat(moved).st_ino != os.stat(pulled).st_ino
    assert os.stat(moved).st_mode & 0o200, "the moved file is the user's, writable"
    assert sha256_of(moved) == SHA
    assert store.search() == []


def test_add_move_still_refuses_to_link_a_file_with_other_names(
    pulled: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-name.sif"
    os.link(pulled, other)
    store = ImageStore(tmp_path / "store")
    image = store.add(pulled, "a/b", copy=False)
    assert os.stat(image.path).st_ino != os.stat(other).st_ino, "copied, not linked"
    assert os.stat(other).st_mode & 0o200, "the other name stays writable"
    assert not pulled.exists()


def test_a_store_on_another_filesystem_gets_a_copy(pulled: Path, tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the test's folder")
    with tempfile.TemporaryDirectory(dir=shm) as folder:
        store = ImageStore(Path(folder) / "store")
        image = record_pull(store, pulled, "a/b", sha256=SHA, source="registry://h")
        assert os.stat(image.path).st_nlink == 1
        assert os.stat(pulled).st_nlink == 1
        assert os.stat(pulled).st_mode & 0o200, "the pulled file is left as it was"
        assert sha256_of(image.path) == SHA
        assert problems(Path(folder) / "store") == []
        store.close()


def test_clone_reports_a_filesystem_without_reflinks(tmp_path: Path) -> None:
    source, dest = tmp_path / "a", tmp_path / "b"
    source.write_bytes(b"x" * 4096)
    with open(source, "rb") as reader, open(dest, "wb") as writer:
        cloned = clone(reader.fileno(), writer.fileno())
    if cloned:  # btrfs, XFS with reflink: a real clone
        assert dest.read_bytes() == source.read_bytes()
    else:
        assert dest.read_bytes() == b""
