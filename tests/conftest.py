"""Test isolation: every test runs with its own HOME, no SREGISTRY_* settings
from the developer's environment, and a keyring that stores nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["tests.server.pytest_plugin"]

REPO = Path(__file__).resolve().parent.parent
FIXTURES = (REPO.parent / "shared" / "fixtures" / "sif").resolve()

_PREFIXES = ("SREGISTRY_", "SINGULARITY_", "APPTAINER_", "XDG_")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME, XDG dirs and the store at tmp_path; drop inherited settings."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES) or name in {"NO_COLOR", "PYTHON_KEYRING_BACKEND"}:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    return home


@pytest.fixture
def fixtures_dir() -> Path:
    """The shared SIF fixtures (read-only)."""
    assert FIXTURES.is_dir(), (
        f"shared fixtures not found at {FIXTURES} (../shared must sit beside the checkout)"
    )
    return FIXTURES


def require_tool(name: str) -> str:
    """The path of the external program ``name``; a test that needs it skips
    where it is missing, except under ``CI=true`` (``.ci/debian-packages``
    installs it there), where it fails."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (.ci/debian-packages installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found
