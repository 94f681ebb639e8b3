"""``sregistry inspect NAME``: images of the local store, files first."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli
from sregistry.store import ImageStore

BUSYBOX_SHA = "f53422b89ea3002d63da44d7c593f38752b8c350e3709445b2acce69137eb026"


@pytest.fixture
def store_root(
    store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixtures_dir: Path
) -> Path:
    """The store holding busybox-like.sif as lab/tool:1.0; PATH without singularity."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    with ImageStore(store_root) as store:
        store.add(fixtures_dir / "busybox-like.sif", "lab/tool:1.0")
    return store_root


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["inspect", *args])


def blob(root: Path) -> Path:
    return root / "blobs" / "sha256" / f"{BUSYBOX_SHA}.sif"


@pytest.mark.parametrize(
    "name",
    [
        "lab/tool:1.0",
        "local://lab/tool:1.0",
        "Lab/Tool:1.0",
        f"lab/tool@sha256.{BUSYBOX_SHA}",
        f"lab/tool:1.0@sha256.{BUSYBOX_SHA}",
    ],
)
def test_a_stored_image_by_name(store_root: Path, name: str) -> None:
    result = run(name, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["arch"] == "amd64"
    assert data["data"]["attributes"]["labels"]["FIXTURE"] == "a"
    assert result.stderr == f"stored image lab/tool:1.0: {blob(store_root)}\n"


def test_the_table_names_the_stored_file(store_root: Path) -> None:
    result = run("lab/tool:1.0", "-l")
    assert result.exit_code == 0, result.output
    assert f"file\t{blob(store_root)}\n" in result.stdout
    assert "FIXTURE\ta\n" in result.stdout


@pytest.mark.parametrize(
    "name", ["lab/other:1.0", "lab/tool:2.0", f"lab/tool@sha256.{'0' * 64}", "a/b/c/d", "x"]
)
def test_neither_a_file_nor_a_stored_image_exits_3(store_root: Path, name: str) -> None:
    result = run(name)
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: no such file or stored image: {name}; give the path of a SIF image, "
        "or a name `sregistry images` lists\n"
    )
    assert result.stdout == ""


def test_an_existing_file_wins_and_stderr_says_so(
    store_root: Path, fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lab").mkdir()
    shutil.copyfile(fixtures_dir / "with-descriptors.sif", tmp_path / "lab" / "tool:1.0")
    as_file = run("lab/tool:1.0", "--json")
    assert as_file.exit_code == 0, as_file.output
    assert "HELLOTHISIS" in as_file.stdout, "the file's own metadata (with-descriptors)"
    assert as_file.stderr == (
        "inspecting the file lab/tool:1.0, not the stored image lab/tool:1.0 "
        "(local://lab/tool:1.0 names that one)\n"
    )
    stored = run("local://lab/tool:1.0", "--json")
    assert stored.exit_code == 0, stored.output
    assert json.loads(stored.stdout)["data"]["attributes"]["labels"]["FIXTURE"] == "a"


def test_a_plain_file_says_nothing_and_needs_no_store(
    tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "store"
    monkeypatch.setenv("SREGISTRY_STORAGE", str(root))
    result = run(str(fixtures_dir / "busybox-like.sif"), "--json", "--native")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert not root.exists()


def test_a_broken_store_never_stops_inspecting_a_file(
    tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "store"
    root.mkdir()
    (root / "sregistry.db").write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("SREGISTRY_STORAGE", str(root))
    monkeypatch.chdir(fixtures_dir)
    assert run("busybox-like.sif", "--native", "--json").exit_code == 0
    by_name = run("lab/tool:1.0")
    assert by_name.exit_code == 1
    assert by_name.stderr.startswith("error: ")
    assert by_name.stderr.count("\n") == 1


def test_inspect_a_stored_image_in_a_real_process(store_root: Path) -> None:
    script = Path(sys.executable).parent / "sregistry"
    result = subprocess.run(
        [str(script), "inspect", "lab/tool:1.0", "--json", "--native"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["size"] == blob(store_root).stat().st_size
    assert result.stderr == f"stored image lab/tool:1.0: {blob(store_root)}\n"
    missing = subprocess.run(
        [str(script), "inspect", "lab/none"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 3
    assert missing.stderr.startswith("error: no such file or stored image: lab/none;")


@pytest.mark.parametrize("name", ["missing/image.sif", "./lab/tool", "/no/such/file"])
def test_a_missing_path_is_not_looked_up_on_the_registry(
    store_root: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("SREGISTRY_CLIENT", "registry")
    monkeypatch.setenv("SREGISTRY_REGISTRY_BASE", "http://127.0.0.1:9")  # nothing listens
    result = run(name)
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith(f"error: no such file or stored image: {name};")
