"""push, pull, list, labels and delete with no registry configured: the local store."""

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


def test_push_list_pull_delete(store_root: Path, image: Path, tmp_path: Path) -> None:
    pushed = run("push", str(image), "--name", "Lab/Tool", "--tag", "1.0")
    assert pushed.exit_code == 0, pushed.output
    assert pushed.stdout.strip() == "lab/tool:1.0"
    assert f"local: {store_root}" in pushed.stderr
    assert image.exists(), "push copies; only `add` moves"

    listed = run("list")
    lines = listed.stdout.splitlines()
    assert lines[1].split("\t")[:2] == ["lab/tool:1.0", f"sha256.{SHA}"]
    data = json.loads(run("list", "lab/", "--json").stdout)
    assert [item["uri"] for item in data] == ["lab/tool:1.0"]
    assert data[0]["location"].endswith(f"{SHA}.sif")
    runscript = run("list", "lab/tool:1.0", "--runscript")
    assert "%runscript" in runscript.stdout
    assert 'echo "$GREETING"' in runscript.stdout.split("%runscript", 1)[1]
    assert run("list", "absent/").exit_code == 3

    out = tmp_path / "out"
    out.mkdir()
    pulled = run("pull", "lab/tool:1.0", "-o", str(out))
    assert pulled.exit_code == 0, pulled.output
    target = out / "lab-tool_1.0.sif"
    assert pulled.stdout.strip() == str(target)
    assert sha256_of(target) == SHA
    again = run("pull", "local://lab/tool:1.0", "-o", str(target))
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert run("pull", "lab/tool:1.0", "-o", str(target), "--force").exit_code == 0

    labels = run("labels", "--key", "FIXTURE", "--json")
    assert json.loads(labels.stdout) == [
        {"key": "FIXTURE", "value": "a", "containers": ["lab/tool:1.0"]}
    ]

    refused = run("delete", "lab/tool:1.0")
    assert refused.exit_code == 1, "no terminal to confirm on"
    assert len(rows(store_root)) == 1
    deleted = run("delete", "lab/tool:1.0", "--force")
    assert deleted.exit_code == 0
    assert deleted.stdout.strip() == "deleted lab/tool:1.0"
    assert rows(store_root) == []
    assert problems(store_root) == []
    missing = run("pull", "lab/tool:1.0", "-o", str(out))
    assert missing.exit_code == 3


def test_a_real_process_round_trip(store_root: Path, image: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("sregistry")
    env = {**os.environ, "SREGISTRY_STORAGE": str(store_root)}

    def sregistry(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    assert sregistry("push", str(image), "--name", "a/b:c").returncode == 0
    pulled = sregistry("-q", "pull", "a/b:c", "-o", str(tmp_path / "back.sif"))
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stderr == ""
    assert sha256_of(Path(pulled.stdout.strip())) == SHA
    got = sregistry("get", "a/b:c")
    assert sha256_of(Path(got.stdout.strip())) == SHA
