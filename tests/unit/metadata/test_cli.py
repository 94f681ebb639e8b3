"""``sregistry inspect FILE`` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli
from sregistry.metadata import inspect_native
from tests.unit.metadata import standin


@pytest.fixture(autouse=True)
def no_runtime(bindir: Path) -> Path:
    """PATH holds only what a test puts there (no real singularity)."""
    return bindir


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["inspect", *args])


def test_json_is_the_inspect_shape_plus_arch_and_size(real_sif: Path) -> None:
    result = run(str(real_sif), "--json")
    assert result.exit_code == 0, result.output
    expected = inspect_native(real_sif).to_json()
    assert json.loads(result.stdout) == {**expected, "arch": "amd64", "size": 792293}
    assert result.stderr == ""


def test_section_flags_filter(with_descriptors: Path) -> None:
    result = run(str(with_descriptors), "--json", "-l", "--apps")
    attributes = json.loads(result.stdout)["data"]["attributes"]
    assert sorted(attributes) == ["apps", "labels"]
    result = run(str(with_descriptors), "-r")
    assert 'runscript:\n#!/bin/sh\n\necho "runscript of with-descriptors"\n' in result.stdout
    assert "labels:" not in result.stdout


def test_table(with_descriptors: Path) -> None:
    result = run(str(with_descriptors))
    assert result.exit_code == 0
    out = result.stdout
    assert "arch\tamd64\n" in out
    assert "size\t40960 bytes\n" in out
    assert "source\tdescriptor\n" in out
    assert "multi.word.value\tthis value has spaces & an ampersand\n" in out
    assert "=== /.singularity.d/env/91-environment.sh ===\n" in out
    assert "app hello:\n" in out
    assert "HELLOTHISIS: hello\n" in out
    sections = [line for line in out.splitlines() if line.endswith(":") and " " not in line]
    assert sections == [
        "labels:",
        "environment:",
        "runscript:",
        "startscript:",
        "test:",
        "helpfile:",
        "deffile:",
    ]


def test_empty_image(tmp_path: Path) -> None:
    from tests.unit.metadata import sifwriter as sw

    path = sw.write(tmp_path / "empty.sif", [])
    result = run(str(path))
    assert result.exit_code == 0
    assert "(no metadata)" in result.stdout
    assert result.stderr == (
        "warning: no primary system partition: the image holds no container metadata\n"
    )


def test_missing_file_exits_3(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope.sif"))
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: no such file or stored image: {tmp_path / 'nope.sif'}; give the path of a "
        "SIF image, or a name `sregistry images` lists\n"
    )


@pytest.mark.parametrize("content", [b"", b"hello world\n", bytes(range(256)) * 64])
def test_non_sif_exits_1_with_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(content)
    result = run(str(path))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert "not a SIF image" in result.stderr


def test_runtime_failure_warns_and_native_flag_skips_it(no_runtime: Path, real_sif: Path) -> None:
    fake = standin.install(no_runtime, stderr="FATAL:   kaput", exit_code=255)
    result = run(str(real_sif), "--json")
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: singularity inspect failed, read natively")
    assert len(fake.calls()) == 2
    result = run(str(real_sif), "--json", "--native")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(fake.calls()) == 2


def test_bad_timeout_is_a_usage_error(real_sif: Path) -> None:
    assert run(str(real_sif), "--timeout", "0").exit_code == 2
