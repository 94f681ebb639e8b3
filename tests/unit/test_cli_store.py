"""The store commands: images, get, add, rm, mv, rename (click runner and a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from sregistry.cli import cli
from tests.unit.storecheck import problems, rows, sha256_of

SHA = "f53422b89ea3002d63da44d7c593f38752b8c350e3709445b2acce69137eb026"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_add_moves_by_default_and_copies_with_copy(
    store_root: Path, image: Path, fixtures_dir: Path
) -> None:
    copied = run("add", str(image), "--name", "vsoch/hello:v1", "--copy")
    assert copied.exit_code == 0, copied.output
    assert copied.stdout.startswith(f"copied {image} into the store as vsoch/hello:v1 (36.0 KiB")
    assert image.exists()
    moved = run("add", str(image), "--name", "vsoch/hello:v2", "--json")
    assert moved.exit_code == 0, moved.output
    data = json.loads(moved.stdout)
    assert (data["uri"], data["sha256"], data["arch"]) == ("vsoch/hello:v2", SHA, "amd64")
    assert data["metadata"]["labels"]["FIXTURE"] == "a"
    assert not image.exists()
    replaced = run(
        "add", str(fixtures_dir / "runscript-only.sif"), "--name", "vsoch/hello:v2", "--copy"
    )
    assert replaced.exit_code == 0
    assert f"vsoch/hello:v2 held sha256.{SHA[:12]} before" in replaced.stderr
    assert problems(store_root) == []


def test_add_errors(store_root: Path, image: Path, tmp_path: Path) -> None:
    missing = run("add", str(tmp_path / "nope.sif"), "--name", "a/b")
    assert missing.exit_code == 3
    assert missing.stderr.startswith("error: ")
    assert "nope.sif is not a file" in missing.stderr
    bad = run("add", str(image), "--name", "a/b/c/d")
    assert bad.exit_code == 2
    assert "invalid image name" in bad.stderr
    assert image.exists()
    assert not store_root.exists()
    usage = run("add", str(image))
    assert usage.exit_code == 2
    assert "--name" in usage.stderr


def test_add_of_a_non_sif_file_warns(store_root: Path, tmp_path: Path) -> None:
    odd = tmp_path / "odd.img"
    odd.write_bytes(b"x" * 1000)
    result = run("add", str(odd), "--name", "a/odd", "--copy")
    assert result.exit_code == 0
    assert "warning:" in result.stderr
    assert "no metadata stored" in result.stderr


def test_images_table_json_and_query(store_root: Path, image: Path, fixtures_dir: Path) -> None:
    empty = run("images")
    assert empty.exit_code == 0
    assert empty.stdout == ""
    assert "the store is empty" in empty.stderr
    run("add", str(image), "--name", "vsoch/hello:v1", "--copy")
    run("add", str(fixtures_dir / "runscript-only.sif"), "--name", "other/tool", "--copy")
    table = run("images")
    lines = table.stdout.splitlines()
    assert lines[0].split("\t") == ["name", "size", "sha256", "created", "source"]
    assert [line.split("\t")[0] for line in lines[1:]] == ["other/tool:latest", "vsoch/hello:v1"]
    assert lines[2].split("\t")[1:3] == ["36.0 KiB", SHA[:12]]
    assert f"store: {store_root}" in table.stderr
    found = run("images", "hello", "--json")
    assert [item["uri"] for item in json.loads(found.stdout)] == ["vsoch/hello:v1"]
    nothing = run("images", "absent")
    assert (nothing.exit_code, nothing.stdout) == (3, "")
    assert "error: no images match 'absent'" in nothing.stderr
    nothing_json = run("images", "absent", "--json")
    assert (nothing_json.exit_code, nothing_json.stdout.strip()) == (3, "[]")


def test_get_prints_the_path(store_root: Path, image: Path) -> None:
    run("add", str(image), "--name", "vsoch/hello:v1", "--copy")
    result = run("-q", "get", "local://vsoch/hello:v1")
    assert result.exit_code == 0
    assert result.stderr == ""
    path = Path(result.stdout.strip())
    assert path.parent == store_root / "blobs" / "sha256"
    assert sha256_of(path) == SHA
    missing = run("get", "vsoch/hello:v2")
    assert missing.exit_code == 3
    assert missing.stderr.strip() == (
        "error: vsoch/hello:v2 is not in the local store; `sregistry images` lists what it holds"
    )


def test_rm_says_whether_the_file_stays(store_root: Path, image: Path) -> None:
    run("add", str(image), "--name", "a/one", "--copy")
    run("add", str(image), "--name", "a/two", "--copy")
    kept = run("rm", "a/one")
    assert kept.exit_code == 0
    assert kept.stdout.strip() == "removed a/one:latest; its file is kept for a/two:latest"
    gone = run("rm", "a/two")
    assert gone.stdout.startswith("removed a/two:latest (36.0 KiB")
    assert os.listdir(store_root / "blobs" / "sha256") == []
    assert run("rm", "a/two").exit_code == 3


def test_mv_takes_the_image_out(store_root: Path, image: Path, tmp_path: Path) -> None:
    run("add", str(image), "--name", "a/b:c")
    out = tmp_path / "out"
    out.mkdir()
    moved = run("mv", "a/b:c", str(out))
    assert moved.exit_code == 0, moved.output
    target = out / "a-b_c.sif"
    assert moved.stdout.strip() == str(target)
    assert sha256_of(target) == SHA
    assert rows(store_root) == []
    run("add", str(target), "--name", "a/b:c", "--copy")
    clash = run("mv", "a/b:c", str(target))
    assert clash.exit_code == 1
    assert "already exists" in clash.stderr
    assert "--force" in clash.stderr
    assert run("mv", "a/b:c", str(target), "--force").exit_code == 0
    assert problems(store_root) == []


def test_rename(store_root: Path, image: Path) -> None:
    run("add", str(image), "--name", "a/b:c", "--copy")
    run("add", str(image), "--name", "x/y", "--copy")
    renamed = run("rename", "a/b:c", "d/e:f")
    assert renamed.exit_code == 0
    assert renamed.stdout.strip() == "a/b:c -> d/e:f"
    taken = run("rename", "d/e:f", "x/y")
    assert taken.exit_code == 1
    assert "already in the local store" in taken.stderr
    assert [row[:3] for row in rows(store_root)] == [("d", "e", "f"), ("x", "y", "latest")]


def test_images_check(store_root: Path, image: Path) -> None:
    nothing = run("images", "--check")
    assert nothing.exit_code == 0
    assert not store_root.exists(), "checking a store that does not exist creates nothing"
    run("add", str(image), "--name", "a/b", "--copy")
    ok = run("images", "--check")
    assert ok.exit_code == 0
    assert "1 image(s), every file present and intact" in ok.stderr
    blob = store_root / "blobs" / "sha256" / f"{SHA}.sif"
    os.chmod(blob, 0o644)
    blob.write_bytes(b"damaged")
    bad = run("images", "--check")
    assert bad.exit_code == 5
    assert bad.stdout.strip() == "damaged\ta/b:latest"
    report = run("images", "--check", "--json")
    assert json.loads(report.stdout)["corrupt"] == ["a/b:latest"]


def test_real_process(store_root: Path, image: Path, tmp_path: Path) -> None:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).with_name("sregistry")
    env = {**os.environ, "SREGISTRY_STORAGE": str(store_root)}

    def sregistry(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    added = sregistry("add", str(image), "--name", "lab/tool:1.0")
    assert added.returncode == 0, added.stderr
    got = sregistry("get", "lab/tool:1.0")
    assert got.returncode == 0
    assert sha256_of(Path(got.stdout.strip())) == SHA
    listed = sregistry("images", "--json")
    assert [item["uri"] for item in json.loads(listed.stdout)] == ["lab/tool:1.0"]
    missing = sregistry("get", "lab/other")
    assert (missing.returncode, missing.stdout) == (3, "")
    assert missing.stderr.startswith("error: lab/other:latest is not in the local store")
