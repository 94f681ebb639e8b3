"""`sregistry config`: values in effect with their sources, tokens always masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli

TOKEN = "0123456789abcdef0123456789abcdef01234567"
ENV_TOKEN = "e" * 36 + "env0"
REMOTE_TOKEN = "r" * 36 + "rmt9"
SECRETS = (TOKEN, ENV_TOKEN, REMOTE_TOKEN)


def _run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    for secret in SECRETS:
        assert secret not in result.stdout
        assert secret not in result.stderr
    return result


def _secrets(home: Path, data: object) -> Path:
    path = home / ".sregistry"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_fresh_setup(isolated_env: Path) -> None:
    result = _run("config")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "  base      (not set)" in out
    assert "~/.sregistry (not created yet)" in out
    assert (
        "keyring       not usable: no usable keyring backend (keyring.backends.null.Keyring)" in out
    )
    assert "backend       local (no registry is configured)" in out
    assert f"{isolated_env}/.local/share/sregistry (platform user data directory)" in out
    assert not (isolated_env / ".sregistry").exists()


def test_sources_and_masking(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _secrets(
        isolated_env,
        {"registry": {"token": TOKEN, "username": "vsoch", "base": "https://sreg.example.org"}},
    )
    result = _run("config")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(
        line.split() == ["token", "****4567", "~/.sregistry", "(registry.token)"] for line in lines
    )
    assert any(
        line.split() == ["base", "https://sreg.example.org", "~/.sregistry", "(registry.base)"]
        for line in lines
    )
    assert "backend       registry (a registry is configured)" in result.stdout
    monkeypatch.setenv("SREGISTRY_REGISTRY_TOKEN", ENV_TOKEN)
    result = _run("config", "--registry", "https://sreg.example.org", "--username", "vsoch")
    lines = result.stdout.splitlines()
    assert any(line.split() == ["token", "****env0", "$SREGISTRY_REGISTRY_TOKEN"] for line in lines)
    assert any(line.split() == ["base", "https://sreg.example.org", "--registry"] for line in lines)


def test_json(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _secrets(isolated_env, {"registry": {"token": TOKEN, "username": "vsoch"}})
    monkeypatch.setenv("SREGISTRY_STORAGE", str(isolated_env / "images"))
    result = _run("config", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["registry"]["token"] == {
        "value": "****4567",
        "source": "~/.sregistry (registry.token)",
    }
    assert data["registry"]["base"] is None
    assert data["registry"]["nohttps"] is False
    assert data["library"] == {"base": None, "token": None, "remote": None, "discover": False}
    assert data["secrets_file"] == {
        "path": str(isolated_env / ".sregistry"),
        "shown": "~/.sregistry",
        "exists": True,
    }
    assert data["keyring"]["usable"] is False
    assert data["backend"] == {"name": "local", "reason": "no registry is configured"}
    assert data["storage"] == {"path": str(isolated_env / "images"), "source": "$SREGISTRY_STORAGE"}


def test_remote_yaml_library(isolated_env: Path) -> None:
    remote_dir = isolated_env / ".singularity"
    remote_dir.mkdir()
    (remote_dir / "remote.yaml").write_text(
        f"Active: myreg\nRemotes:\n  myreg:\n    URI: sreg.example.org\n    Token: {REMOTE_TOKEN}\n"
    )
    result = _run("config")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    source = ["~/.singularity/remote.yaml", "(myreg)"]
    assert any(line.split() == ["base", "https://sreg.example.org", *source] for line in lines)
    assert any(line.split() == ["token", "****rmt9", *source] for line in lines)
    assert "  remote    myreg" in result.stdout
    assert "discovered" in result.stdout
    unknown = _run("config", "--remote", "nope")
    assert unknown.exit_code == 1
    assert "error: no remote named 'nope'" in unknown.stdout
    assert "known remotes: myreg" in unknown.stdout


def test_corrupt_file_is_reported_and_the_rest_still_shown(isolated_env: Path) -> None:
    path = _secrets(isolated_env, '{"registry": {"token": "' + TOKEN)
    result = _run("config")
    assert result.exit_code == 1
    assert f"error: the secrets file {path} is not valid JSON" in result.stdout
    assert "storage" in result.stdout
    assert "keyring" in result.stdout


def test_keyring_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_KEYRING_FILE", str(tmp_path / "keyring.json"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.keyring_backend.FileKeyring")
    result = _run("config")
    assert "keyring       usable: tests.keyring_backend.FileKeyring" in result.stdout


def test_unknown_backend_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SREGISTRY_CLIENT", "hub")
    result = _run("config")
    assert result.exit_code == 1
    assert (
        "backend       error: the 'hub' backend of sregistry-cli 0.2.39 is not supported"
        in result.stdout
    )


def test_heavy_modules_stay_lazy() -> None:
    """keyring, PyYAML and requests load only when a command needs them."""
    import subprocess
    import sys

    code = (
        "import sys, sregistry.credentials, sregistry.cli.config, sregistry.cli.login\n"
        "print(sorted(m for m in ('keyring', 'yaml', 'requests', 'rich') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
