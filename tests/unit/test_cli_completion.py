"""Shell completion: the generated scripts, and real completions through a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from sregistry.cli import cli


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F"),
        ("zsh", "compdef"),
        ("fish", "complete --no-files --command sregistry"),
    ],
)
def test_script_for_each_shell(shell: str, marker: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert marker in result.stdout
    assert "_SREGISTRY_COMPLETE" in result.stdout


def test_unknown_shell_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["completion", "tcsh"])
    assert result.exit_code == 2
    assert "tcsh" in result.stderr


def test_bash_completes_command_names_for_real(sregistry_exe: str) -> None:
    env = dict(
        os.environ,
        _SREGISTRY_COMPLETE="bash_complete",
        COMP_WORDS="sregistry compl",
        COMP_CWORD="1",
    )
    done = subprocess.run([sregistry_exe], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["plain,completion"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_script_loads_and_registers(tmp_path: Path, sregistry_exe: str) -> None:
    script = subprocess.run(
        [sregistry_exe, "completion", "bash"], capture_output=True, text=True, check=True
    ).stdout
    (tmp_path / "c.sh").write_text(script)
    probe = f"source {tmp_path / 'c.sh'} && complete -p sregistry"
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert "_sregistry_completion" in done.stdout
