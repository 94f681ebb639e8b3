"""What a sregistry-cli 0.2.39 user types: it works, or one line says what to type instead."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry import __version__
from sregistry.cli import cli

SHA = "f53422b89ea3002d63da44d7c593f38752b8c350e3709445b2acce69137eb026"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def stored(tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An image in a scratch local store (the backend when nothing is configured)."""
    monkeypatch.setenv("SREGISTRY_STORAGE", str(tmp_path / "store"))
    image = tmp_path / "busybox.sif"
    shutil.copyfile(fixtures_dir / "busybox-like.sif", image)
    assert run("push", str(image), "--name", "lab/tool:1.0").exit_code == 0
    return "lab/tool:1.0"


def test_version_prints_what_dash_dash_version_prints() -> None:
    spelled = run("version")
    assert spelled.exit_code == 0
    assert spelled.stdout == run("--version").stdout == f"sregistry, version {__version__}\n"


def test_pull_name_is_the_output_file(stored: str, tmp_path: Path) -> None:
    target = tmp_path / "out.sif"
    pulled = run("-q", "pull", "--name", str(target), stored)
    assert pulled.exit_code == 0, pulled.output
    assert pulled.stdout == f"{target}\n"
    assert target.is_file()
    both = run("pull", "--name", str(target), "-o", str(tmp_path / "other.sif"), stored)
    assert both.exit_code == 2
    assert "--name is another spelling of -o" in both.stderr


@pytest.mark.parametrize(
    ("args", "instead"),
    [
        (["backend", "ls"], "type `sregistry config`"),
        (["backend", "status"], "type `sregistry config`"),
        (["backend"], "type `sregistry config`"),
        (["backend", "activate", "registry"], "type `export SREGISTRY_CLIENT=registry`"),
        (["backend", "deactivate"], "type `unset SREGISTRY_CLIENT`"),
        (["backend", "add", "SREGISTRY_REGISTRY_BASE", "x"], "`sregistry login`"),
        (["backend", "--force", "rm", "x"], "`sregistry config`"),
        (["shell"], "from sregistry.main import get_client"),
        (["shell", "registry"], "from sregistry.main import get_client"),
        (["build", "--preview", "Singularity"], "type `apptainer build"),
        (["share", "a/b:c", "--email", "x@example.org"], "`sregistry pull"),
        (["rmi", "a/b"], "type `sregistry rm NAME`"),
        (["search", "--endpoint", "id:/path"], "type `sregistry list [QUERY]`"),
        (["search", "--endpoint=id:/path", "q"], "type `sregistry list [QUERY]`"),
        (["push", "a.sif", "b.sif"], "push takes one FILE, got 2: type `sregistry push FILE"),
        (["push", "a.sif", "b.sif", "--name", "c/n"], "push takes one FILE, got 2"),
        (["pull", "a/b", "c/d", "e/f"], "pull takes one image, got 3"),
    ],
)
def test_a_retired_habit_fails_with_one_line(args: list[str], instead: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert instead in lines[0]


def test_retired_commands_are_not_listed() -> None:
    shown = run("--help").stdout
    for name in ("backend", "shell", "build", "share", "rmi", "version"):
        assert f"\n  {name} " not in shown


def test_help_still_works_for_one_argument_commands() -> None:
    assert run("push", "--help").exit_code == 0
    assert run("pull", "a/b", "--help").exit_code == 0


def test_through_the_console_script() -> None:
    """The installed entry point: exit status 2 and the one line on stderr."""
    script = Path(sys.executable).parent / "sregistry"
    done = subprocess.run(
        [str(script), "backend", "ls"], capture_output=True, text=True, check=False, timeout=60
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("error: `sregistry backend ls` is gone: type `sregistry config`")
    assert done.stderr.count("\n") == 1
