"""The local image store: content addressing, tags, export, labels, schema, sweep."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sregistry.config import default_storage_dir
from sregistry.errors import (
    ConfigError,
    DestinationExists,
    IntegrityError,
    InvalidName,
    NotFound,
    SregistryError,
)
from sregistry.store import ImageStore
from sregistry.store.blobs import BlobDir
from sregistry.store.db import SCHEMA_VERSION
from tests.unit.storecheck import problems, rows, sha256_of

BUSYBOX_SHA = "f53422b89ea3002d63da44d7c593f38752b8c350e3709445b2acce69137eb026"
RUNSCRIPT_SHA = "134f779505ceec8077f77adfe299256738f89678a09b90d221c03ee0ebef3d06"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root: Path) -> Iterator[ImageStore]:
    with ImageStore(root) as opened:
        yield opened


@pytest.fixture
def busybox(tmp_path: Path, fixtures_dir: Path) -> Path:
    path = tmp_path / "busybox.sif"
    shutil.copyfile(fixtures_dir / "busybox-like.sif", path)
    return path


@pytest.fixture
def runscript(tmp_path: Path, fixtures_dir: Path) -> Path:
    path = tmp_path / "runscript.sif"
    shutil.copyfile(fixtures_dir / "runscript-only.sif", path)
    return path


def blob_files(root: Path) -> list[str]:
    return sorted(os.listdir(root / "blobs" / "sha256"))


# -- add ----------------------------------------------------------------------
def test_add_copy_keeps_the_file_and_records_everything(
    store: ImageStore, root: Path, busybox: Path
) -> None:
    image = store.add(
        busybox, "VSoch/Hello:V1", metadata={"labels": {"A": "1"}}, arch="amd64", source="x"
    )
    assert busybox.exists()
    assert (image.collection, image.name, image.tag) == ("vsoch", "hello", "v1")
    assert image.sha256 == BUSYBOX_SHA
    assert image.size == busybox.stat().st_size
    assert image.path == root / "blobs" / "sha256" / f"{BUSYBOX_SHA}.sif"
    assert sha256_of(image.path) == BUSYBOX_SHA
    assert not image.path.stat().st_mode & 0o222, "stored files are read-only"
    assert image.created.endswith("Z")
    again = store.get("vsoch/hello:v1")
    assert again == image
    assert dict(again.metadata) == {"labels": {"A": "1"}}
    assert (again.arch, again.source) == ("amd64", "x")
    assert problems(root) == []


def test_same_bytes_are_stored_once(store: ImageStore, root: Path, busybox: Path) -> None:
    first = store.add(busybox, "a/one")
    second = store.add(busybox, "b/two:x")
    assert first.path == second.path
    assert blob_files(root) == [f"{BUSYBOX_SHA}.sif"]
    assert [image.uri for image in store.search()] == ["a/one:latest", "b/two:x"]
    assert problems(root) == []


def test_add_without_copy_moves_the_file_in(store: ImageStore, root: Path, busybox: Path) -> None:
    inode = busybox.stat().st_ino
    image = store.add(busybox, "a/moved", copy=False)
    assert not busybox.exists()
    assert image.path.stat().st_ino == inode, "same filesystem: a rename, not a copy"
    assert image.path.stat().st_nlink == 1
    assert problems(root) == []


def test_moving_a_file_with_other_links_copies_it(
    store: ImageStore, root: Path, busybox: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-name.sif"
    os.link(busybox, other)
    image = store.add(busybox, "a/linked", copy=False)
    assert not busybox.exists()
    assert other.exists()
    assert other.stat().st_mode & 0o200, "the user's other name keeps its permissions"
    assert image.path.stat().st_ino != other.stat().st_ino
    assert problems(root) == []


def test_moving_bytes_already_stored_drops_the_file(
    store: ImageStore, root: Path, busybox: Path, tmp_path: Path
) -> None:
    store.add(busybox, "a/first")
    duplicate = tmp_path / "dup.sif"
    shutil.copyfile(busybox, duplicate)
    store.add(duplicate, "a/second", copy=False)
    assert not duplicate.exists()
    assert blob_files(root) == [f"{BUSYBOX_SHA}.sif"]


def test_adding_a_stored_file_back_never_removes_it(
    store: ImageStore, root: Path, busybox: Path
) -> None:
    image = store.add(busybox, "a/first")
    again = store.add(image.path, "a/second", copy=False)
    assert again.path == image.path
    assert image.path.exists()
    assert problems(root) == []


def test_replacing_a_tag_collects_the_old_file_only_when_unused(
    store: ImageStore, root: Path, busybox: Path, runscript: Path
) -> None:
    store.add(busybox, "a/x:1")
    store.add(runscript, "a/x:1")
    assert blob_files(root) == [f"{RUNSCRIPT_SHA}.sif"]
    store.add(runscript, "a/keep")
    store.add(busybox, "a/x:1")
    assert blob_files(root) == sorted([f"{RUNSCRIPT_SHA}.sif", f"{BUSYBOX_SHA}.sif"])
    assert store.get("a/x:1").sha256 == BUSYBOX_SHA
    assert problems(root) == []


def test_add_checks_a_named_version(store: ImageStore, root: Path, busybox: Path) -> None:
    with pytest.raises(IntegrityError):
        store.add(busybox, f"a/b@sha256.{RUNSCRIPT_SHA}")
    assert rows(root) == []
    assert blob_files(root) == []
    image = store.add(busybox, f"a/b@sha256.{BUSYBOX_SHA}")
    assert image.uri == "a/b:latest"
    with pytest.raises(InvalidName):
        store.add(busybox, "a/b@v1")


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_add_needs_a_regular_file(store: ImageStore, tmp_path: Path, kind: str) -> None:
    path = tmp_path / kind
    if kind == "folder":
        path.mkdir()
    with pytest.raises(NotFound):
        store.add(path, "a/b")


def test_add_with_a_known_digest_copies_without_hashing_or_not_at_all(
    store: ImageStore, root: Path, busybox: Path
) -> None:
    first = store.add(busybox, "a/b", sha256=f"sha256.{BUSYBOX_SHA}", source="registry://h")
    assert sha256_of(first.path) == BUSYBOX_SHA
    before = first.path.stat()
    second = store.add(busybox, "a/c", sha256=BUSYBOX_SHA)
    assert second.path.stat().st_ino == before.st_ino
    assert second.path.stat().st_mtime_ns == before.st_mtime_ns
    with pytest.raises(InvalidName):
        store.add(busybox, "a/d", sha256="md5.abc")
    assert problems(root) == []


def test_progress_reports_bytes(store: ImageStore, busybox: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    size = busybox.stat().st_size
    store.add(busybox, "a/b", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (size, size)
    seen.clear()
    store.add(busybox, "a/moved", copy=False, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (size, size), "moving in reports the hashing"


# -- reading ------------------------------------------------------------------
def test_reading_a_missing_store_creates_nothing(root: Path) -> None:
    store = ImageStore(root)
    assert store.search() == []
    assert store.labels() == []
    assert store.check().ok
    assert store.find_blob(BUSYBOX_SHA) is None
    with pytest.raises(NotFound):
        store.get("a/b")
    assert not root.exists()


def test_get_by_version(store: ImageStore, busybox: Path, runscript: Path) -> None:
    store.add(busybox, "a/b:one")
    store.add(runscript, "a/b:two")
    assert store.get(f"a/b@sha256.{RUNSCRIPT_SHA}").tag == "two"
    assert store.get(f"a/b:one@sha256:{BUSYBOX_SHA}").tag == "one"
    assert store.get(f"a/b:one@{BUSYBOX_SHA}").tag == "one"
    with pytest.raises(NotFound, match="has sha256"):
        store.get(f"a/b:one@sha256.{RUNSCRIPT_SHA}")
    with pytest.raises(NotFound):
        store.get(f"a/b@sha256.{'0' * 64}")
    with pytest.raises(InvalidName):
        store.get("a/b@v2")
    assert store.find_blob(f"sha256.{BUSYBOX_SHA}") == store.get("a/b:one").path
    assert store.find_blob("not-a-digest") is None


def test_search_forms(store: ImageStore, busybox: Path, runscript: Path) -> None:
    store.add(busybox, "vsoch/hello:v1")
    store.add(busybox, "vsoch/hello-world:latest")
    store.add(runscript, "other/hello:v1")
    store.add(runscript, "other/tools:v2")

    def uris(query: str | None) -> list[str]:
        return [image.uri for image in store.search(query)]

    everything = ["other/hello:v1", "other/tools:v2", "vsoch/hello:v1", "vsoch/hello-world:latest"]
    assert uris(None) == uris("*") == uris("") == everything
    assert uris("vsoch/") == ["vsoch/hello:v1", "vsoch/hello-world:latest"]
    assert uris("/hello") == ["other/hello:v1", "vsoch/hello:v1"]
    assert uris("/hello:v1") == ["other/hello:v1", "vsoch/hello:v1"]
    assert uris("vsoch/hello") == ["vsoch/hello:v1"]
    assert uris("VSoch/Hello:V1") == ["vsoch/hello:v1"]
    assert uris("hello:v1") == ["other/hello:v1", "vsoch/hello:v1"]
    assert uris("world") == ["vsoch/hello-world:latest"]
    assert uris("v2") == ["other/tools:v2"]
    assert uris("%") == []
    assert uris("_") == []
    assert uris("sha256.134f77") == ["other/hello:v1", "other/tools:v2"]
    assert uris(f"sha256:{BUSYBOX_SHA}") == ["vsoch/hello:v1", "vsoch/hello-world:latest"]
    assert uris("localhost:5000/vsoch/hello:v1") == ["vsoch/hello:v1"]
    assert uris("local://vsoch/") == ["vsoch/hello:v1", "vsoch/hello-world:latest"]
    assert uris("LOCAL://world") == ["vsoch/hello-world:latest"]


def test_labels_from_metadata(store: ImageStore, busybox: Path, runscript: Path) -> None:
    store.add(busybox, "a/one", metadata={"labels": {"Maintainer": "Me", "n": 3}})
    store.add(runscript, "a/two", metadata={"labels": {"maintainer": "me"}})
    store.add(runscript, "a/three", metadata={"labels": {"Maintainer": "Me"}})
    store.add(busybox, "a/none", metadata={"runscript": "x"})
    labels = store.labels()
    assert [(label.key, label.value, label.containers) for label in labels] == [
        ("Maintainer", "Me", ("a/one:latest", "a/three:latest")),
        ("maintainer", "me", ("a/two:latest",)),
        ("n", "3", ("a/one:latest",)),
    ]
    assert [label.containers for label in store.labels(key="MAINTAINER", value="me")] == [
        ("a/one:latest", "a/three:latest"),
        ("a/two:latest",),
    ]
    assert [label.key for label in store.labels(value="3")] == ["n"]
    assert store.labels(key="absent") == []
    store.add(busybox, "a/one", metadata={})
    assert [label.key for label in store.labels(key="n")] == []
    store.remove("a/three")
    assert [label.containers for label in store.labels(key="maintainer")] == [("a/two:latest",)]


def test_stored_image_as_image_info(store: ImageStore, busybox: Path) -> None:
    image = store.add(busybox, "a/b:c", metadata={"labels": {"x": "y"}}, arch="arm64")
    info = image.to_image_info()
    assert info.uri == "a/b:c"
    assert info.version == f"sha256.{BUSYBOX_SHA}"
    assert (info.size, info.arch, info.location) == (image.size, "arm64", str(image.path))
    assert dict(info.metadata) == {"labels": {"x": "y"}}
    data = image.to_json()
    assert data["path"] == str(image.path)
    assert data["uri"] == "a/b:c"
    assert image.pinned_uri == f"a/b:c@sha256.{BUSYBOX_SHA}"


# -- remove / rename -------------------------------------------------------------
def test_remove_keeps_a_file_another_tag_uses(store: ImageStore, root: Path, busybox: Path) -> None:
    store.add(busybox, "a/one")
    store.add(busybox, "a/two")
    removed = store.remove("a/one")
    assert removed.uri == "a/one:latest"
    assert blob_files(root) == [f"{BUSYBOX_SHA}.sif"]
    store.remove("a/two")
    assert blob_files(root) == []
    assert rows(root) == []
    with pytest.raises(NotFound):
        store.remove("a/two")


def test_rename(store: ImageStore, root: Path, busybox: Path, runscript: Path) -> None:
    original = store.add(busybox, "a/one:v1", metadata={"labels": {"k": "v"}})
    renamed = store.rename("a/one:v1", "B/Two:V2")
    assert renamed.uri == "b/two:v2"
    assert (renamed.path, renamed.created, dict(renamed.metadata)) == (
        original.path,
        original.created,
        {"labels": {"k": "v"}},
    )
    assert [label.containers for label in store.labels()] == [("b/two:v2",)]
    with pytest.raises(NotFound):
        store.get("a/one:v1")
    store.add(runscript, "c/taken")
    with pytest.raises(DestinationExists):
        store.rename("b/two:v2", "c/taken")
    assert store.get("c/taken").sha256 == RUNSCRIPT_SHA
    with pytest.raises(InvalidName):
        store.rename("b/two:v2", f"c/new@sha256.{BUSYBOX_SHA}")
    assert store.rename("b/two:v2", "b/two:v2") == store.get("b/two:v2")
    assert problems(root) == []


# -- export / move out -----------------------------------------------------------
def test_export_writes_a_checked_copy(store: ImageStore, busybox: Path, tmp_path: Path) -> None:
    store.add(busybox, "a/b:c")
    out = tmp_path / "out"
    out.mkdir()
    path = store.export("a/b:c", out)
    assert path == out / "a-b_c.sif"
    assert sha256_of(path) == BUSYBOX_SHA
    assert path.stat().st_mode & 0o200, "exported files are the user's to edit"
    assert store.get("a/b:c").path.exists()
    with pytest.raises(DestinationExists):
        store.export("a/b:c", out)
    path.write_bytes(b"old")
    assert store.export("a/b:c", path, force=True) == path
    assert sha256_of(path) == BUSYBOX_SHA
    assert list(os.listdir(out)) == ["a-b_c.sif"], "no temporary file left"


def test_export_to_a_missing_folder_named_with_a_slash(
    store: ImageStore, busybox: Path, tmp_path: Path
) -> None:
    store.add(busybox, "a/b")
    with pytest.raises(NotFound, match=r"folder .*missing does not exist"):
        store.export("a/b", f"{tmp_path / 'missing'}{os.sep}")


def test_export_default_is_the_current_folder(
    store: ImageStore, busybox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add(busybox, "a/b")
    monkeypatch.chdir(tmp_path)
    assert store.export("a/b") == tmp_path / "a-b_latest.sif"


def test_export_of_a_damaged_file_fails_and_writes_nothing(
    store: ImageStore, busybox: Path, tmp_path: Path
) -> None:
    image = store.add(busybox, "a/b")
    os.chmod(image.path, 0o644)
    with open(image.path, "r+b") as handle:
        handle.seek(100)
        handle.write(b"corrupt")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError, match="damaged"):
        store.export("a/b", out)
    assert os.listdir(out) == []
    assert store.check(verify=True).corrupt == ("a/b:latest",)


def test_export_refuses_store_paths_and_missing_folders(
    store: ImageStore, busybox: Path, root: Path, tmp_path: Path
) -> None:
    image = store.add(busybox, "a/b")
    with pytest.raises(SregistryError, match="belongs to the image store"):
        store.export("a/b", image.path.parent / "x.sif", force=True)
    with pytest.raises(SregistryError, match="belongs to the image store"):
        store.export("a/b", root / "sregistry.db", force=True)
    with pytest.raises(NotFound):
        store.export("a/b", tmp_path / "missing" / "x.sif")
    assert problems(root) == []


def test_move_out_links_the_only_copy(
    store: ImageStore, root: Path, busybox: Path, tmp_path: Path
) -> None:
    image = store.add(busybox, "a/b")
    inode = image.path.stat().st_ino
    target = store.export("a/b", tmp_path / "moved.sif", move=True)
    assert target.stat().st_ino == inode, "same filesystem: no copy"
    assert target.stat().st_nlink == 1
    assert target.stat().st_mode & stat.S_IWUSR
    assert sha256_of(target) == BUSYBOX_SHA
    assert rows(root) == []
    assert blob_files(root) == []


def test_move_out_of_shared_bytes_copies_and_keeps_them(
    store: ImageStore, root: Path, busybox: Path, tmp_path: Path
) -> None:
    image = store.add(busybox, "a/b")
    store.add(busybox, "a/c")
    target = store.export("a/b", tmp_path, move=True)
    assert target == tmp_path / "a-b_latest.sif"
    assert target.stat().st_ino != image.path.stat().st_ino
    assert [row[:3] for row in rows(root)] == [("a", "c", "latest")]
    assert problems(root) == []


def test_move_out_never_clobbers(
    store: ImageStore, root: Path, busybox: Path, tmp_path: Path
) -> None:
    store.add(busybox, "a/b")
    target = tmp_path / "exists.sif"
    target.write_bytes(b"mine")
    with pytest.raises(DestinationExists):
        store.export("a/b", target, move=True)
    assert target.read_bytes() == b"mine"
    assert len(rows(root)) == 1
    store.export("a/b", target, move=True, force=True)
    assert sha256_of(target) == BUSYBOX_SHA
    assert rows(root) == []


# -- consistency ------------------------------------------------------------------
def test_sweep_removes_unused_files_and_dead_writers_temps(
    store: ImageStore, root: Path, busybox: Path
) -> None:
    store.add(busybox, "a/b")
    blobs = root / "blobs" / "sha256"
    orphan = blobs / f"{'1' * 64}.sif"
    orphan.write_bytes(b"left by a crash")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    host = os.uname().nodename
    dead_temp = blobs / f"tmp.{host}.{dead.stdout.strip()}.abc"
    live_temp = blobs / f"tmp.{host}.{os.getpid()}.def"
    foreign_temp = blobs / "tmp.elsewhere.1.ghi"
    for path in (dead_temp, live_temp, foreign_temp):
        path.write_bytes(b"partial")
    report = store.check()
    assert report.orphans == ("1" * 64,)
    assert len(report.temps) == 3
    assert not report.ok

    swept = store.sweep()
    assert swept.orphans == ("1" * 64,)
    assert swept.temps == (), "fresh temporary files are left for a while"
    swept = store.sweep(min_age=0)
    assert swept.temps == (dead_temp,)
    assert live_temp.exists()
    assert foreign_temp.exists()
    removed = BlobDir(blobs).sweep_temps(min_age=0, now=time.time() + 2 * 86400)
    assert sorted(removed) == sorted([live_temp, foreign_temp])
    assert problems(root) == []


def test_first_change_sweeps_leftovers(root: Path, busybox: Path) -> None:
    with ImageStore(root) as store:
        store.add(busybox, "a/b")
    orphan = root / "blobs" / "sha256" / f"{'2' * 64}.sif"
    orphan.write_bytes(b"x")
    with ImageStore(root) as store:
        store.search()
        assert orphan.exists(), "reading changes nothing"
        store.add(busybox, "a/c")
        assert not orphan.exists()


def test_check_reports_missing_files(store: ImageStore, busybox: Path) -> None:
    image = store.add(busybox, "a/b")
    os.unlink(image.path)
    report = store.check()
    assert report.missing == ("a/b:latest",)
    assert not report.ok
    with pytest.raises(NotFound, match="missing"):
        store.export("a/b", image.path.parent.parent.parent.parent)
    store.remove("a/b")
    assert store.check().ok


# -- database, locations -----------------------------------------------------------
def test_schema_version_and_newer_databases(root: Path, busybox: Path) -> None:
    with ImageStore(root) as store:
        store.add(busybox, "a/b")
    conn = sqlite3.connect(root / "sregistry.db")
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="newer sregistry"):
        ImageStore(root).search()


def test_legacy_database_is_refused_untouched(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    conn = sqlite3.connect(legacy / "sregistry.db")
    conn.execute("CREATE TABLE collection (id INTEGER PRIMARY KEY, name VARCHAR(150))")
    conn.execute("CREATE TABLE container (id INTEGER PRIMARY KEY, name VARCHAR(250))")
    conn.commit()
    conn.close()
    before = (legacy / "sregistry.db").read_bytes()
    env = {"SREGISTRY_STORAGE": str(tmp_path / "s"), "SREGISTRY_DATABASE": str(legacy)}
    with pytest.raises(ConfigError, match="sregistry-cli"):
        ImageStore(env=env).search()
    assert (legacy / "sregistry.db").read_bytes() == before


def test_a_file_that_is_not_a_database(root: Path) -> None:
    root.mkdir()
    (root / "sregistry.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ConfigError, match="not an sregistry database"):
        ImageStore(root).search()


def test_locations_from_the_environment(
    tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default_storage_dir() == isolated_env / ".local" / "share" / "sregistry"
    assert default_storage_dir({"SREGISTRY_STORAGE": "~/images"}) == Path(
        os.path.expanduser("~/images")
    )
    env = {"SREGISTRY_STORAGE": str(tmp_path / "s"), "SREGISTRY_DATABASE": str(tmp_path / "d")}
    store = ImageStore(env=env)
    assert store.root == tmp_path / "s"
    assert store.database == tmp_path / "d" / "sregistry.db"
    explicit = ImageStore(tmp_path / "x", env=env)
    assert explicit.database == tmp_path / "x" / "sregistry.db"
    monkeypatch.chdir(tmp_path)
    relative = ImageStore(env={"SREGISTRY_STORAGE": "rel", "SREGISTRY_DATABASE": "db"})
    assert (relative.root, relative.database) == (
        tmp_path / "rel",
        tmp_path / "db" / "sregistry.db",
    )


def test_two_databases_never_share_one_set_of_files(tmp_path: Path, busybox: Path) -> None:
    storage = str(tmp_path / "files")
    first = ImageStore(
        env={"SREGISTRY_STORAGE": storage, "SREGISTRY_DATABASE": str(tmp_path / "a")}
    )
    first.add(busybox, "a/b")
    second = ImageStore(
        env={"SREGISTRY_STORAGE": storage, "SREGISTRY_DATABASE": str(tmp_path / "b")}
    )
    with pytest.raises(ConfigError, match="another database"):
        second.add(busybox, "c/d")
    assert first.get("a/b").path.exists()
    assert second.search() == []
    first.remove("a/b")
    third = ImageStore(
        env={"SREGISTRY_STORAGE": storage, "SREGISTRY_DATABASE": str(tmp_path / "c")}
    )
    third.add(busybox, "e/f")  # files folder empty again: a new database may take it over
    with pytest.raises(ConfigError, match="another database"):
        first.add(busybox, "a/b")


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes beyond ``limit`` bytes fail with EFBIG (RLIMIT_FSIZE; works as root too)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_failed_write_is_one_error_and_leaves_nothing(
    root: Path, busybox: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big.sif"
    big.write_bytes(os.urandom(1 << 20))
    out = tmp_path / "out"
    out.mkdir()
    with ImageStore(root) as store:
        store.add(busybox, "a/small")
        image = store.add(big, "a/big")
        with file_size_limit(256 << 10):
            with pytest.raises(SregistryError, match=r"^cannot add the image to the store: File"):
                store.add(big, "a/again")
            with pytest.raises(
                SregistryError, match=r"^cannot (write|copy) the image out of the store"
            ):
                store.export("a/big", out)
        assert os.listdir(out) == []
        assert [row[:2] for row in rows(root)] == [("a", "big"), ("a", "small")]
        assert image.path.exists()
    assert problems(root) == []


# -- file modes -------------------------------------------------------------------
@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path: Path) -> str:
    return stat.filemode(path.stat().st_mode)


def test_a_blob_has_one_mode_however_it_came_in(busybox: Path, tmp_path: Path) -> None:
    """Copied in (add --copy, push) or moved in (add): read-only, executable (a SIF
    file is run as ./image.sif); out of the store (pull, mv) the user may write it."""
    busybox.chmod(0o644)  # as a download or `cp` leaves it
    with umask(0o022):
        with ImageStore(tmp_path / "copied") as copied:
            by_copy = copied.add(busybox, "a/b", copy=True)
            assert busybox.exists()
            copied_mode = mode_of(by_copy.path)
            exported = copied.export("a/b", tmp_path / "exported.sif")
        with ImageStore(tmp_path / "moved") as moved:
            by_move = moved.add(busybox, "a/b", copy=False)
            assert not busybox.exists()
            moved_mode = mode_of(by_move.path)
            moved_out = moved.export("a/b", tmp_path / "moved-out.sif", move=True)
    assert (copied_mode, moved_mode) == ("-r-xr-xr-x", "-r-xr-xr-x")
    assert mode_of(exported) == mode_of(moved_out) == "-rwxr-xr-x"


def test_a_private_file_stays_private_in_the_store(busybox: Path, root: Path) -> None:
    busybox.chmod(0o600)
    with ImageStore(root) as store:
        image = store.add(busybox, "a/b", copy=False)
    assert mode_of(image.path) == "-r-x------"
