"""Defect 7: push refuses a file that is not a SIF image unless --allow-non-sif says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli as sregistry_cli
from tests.e2e.conftest import Registry


def run(*args: str) -> Result:
    return CliRunner().invoke(sregistry_cli, list(args), catch_exceptions=False)


@pytest.fixture
def readme(tmp_path: Path) -> Path:
    path = tmp_path / "README.md"
    path.write_text("# not an image\n" * 10)
    return path


def refused(result: Result, path: Path) -> None:
    assert result.exit_code == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: refusing to push: {path} is not a SIF image (no SIF_MAGIC at offset 32); "
        "push a SIF image, or pass --allow-non-sif to push this file as it is"
    ]
    assert result.stdout == ""


def test_registry_push_refuses_then_allows(as_vsoch: Registry, readme: Path) -> None:
    refused(run("push", str(readme), "--name", "vsoch/readme:1"), readme)
    assert as_vsoch.server.requests(r"upload") == []
    assert as_vsoch.server.container("vsoch", "readme", "1") is None
    allowed = run("push", str(readme), "--allow-non-sif", "--name", "vsoch/readme:1")
    assert allowed.exit_code == 0, allowed.stderr
    assert as_vsoch.server.container("vsoch", "readme", "1") is not None


def test_local_push_refuses_then_allows(
    readme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    monkeypatch.setenv("SREGISTRY_STORAGE", str(store))
    refused(run("push", str(readme), "--name", "local://vsoch/readme:1"), readme)
    assert run("images").stdout.strip() in {"", "no images"}
    allowed = run("push", str(readme), "--allow-non-sif", "--name", "local://vsoch/readme:1")
    assert allowed.exit_code == 0, allowed.stderr
    assert "vsoch/readme:1" in run("images").stdout
