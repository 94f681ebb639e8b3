"""End-to-end fixtures: the reference server over loopback, a user, the CLI three ways.

Every test runs against both server profiles (``server_profile``): the real
Singularity Registry Server 2.1.2 and the fixed one. ``registry`` starts a
reference server with user ``vsoch`` (owner of what it
pushes) and ``alice``; ``client`` is a library client for vsoch; ``as_vsoch``
puts vsoch's settings in the environment for the CLI; ``cli`` runs a command
in-process through click's runner and ``sregistry_process`` as a real
subprocess of the installed console script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli as sregistry_cli
from sregistry.main.registry.client import RegistryClient
from tests.server.config import FIXED_PROFILE, REAL_PROFILE
from tests.server.pytest_plugin import RegistryServer


@dataclass
class Registry:
    server: RegistryServer
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, user: str | None = "vsoch", **options: Any) -> RegistryClient:
        token = self.tokens.get(user or "", "")
        return RegistryClient(base=self.url, username=user or "", token=token, env={}, **options)

    def env(self, user: str = "vsoch") -> dict[str, str]:
        return {
            "SREGISTRY_REGISTRY_BASE": self.url,
            "SREGISTRY_REGISTRY_USERNAME": user,
            "SREGISTRY_REGISTRY_TOKEN": self.tokens[user],
        }


@pytest.fixture(params=[REAL_PROFILE, FIXED_PROFILE])
def server_profile(request: pytest.FixtureRequest) -> str:
    """Every end-to-end test runs against the real server's profile and the fixed one;
    a module that needs one profile overrides this fixture."""
    return str(request.param)


def needs_fixed(server: RegistryServer, why: str) -> None:
    """Skip a test of behaviour the real server does not have (``why``: what it lacks)."""
    if server.profile != FIXED_PROFILE:
        pytest.skip(f"sregistry 2.1.2 {why}")


@pytest.fixture
def registry(registry_server: RegistryServer) -> Registry:
    tokens = {name: registry_server.add_user(name) for name in ("vsoch", "alice")}
    return Registry(registry_server, tokens)


@pytest.fixture
def client(registry: Registry) -> Iterator[RegistryClient]:
    with registry.client() as client:
        yield client


@pytest.fixture
def as_vsoch(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> Registry:
    for name, value in registry.env().items():
        monkeypatch.setenv(name, value)
    return registry


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """``make_image(size=..., name=...)``: a file of random bytes."""

    def make(size: int = 3 << 20, name: str = "image.sif") -> Path:
        path = tmp_path / "images" / name
        path.parent.mkdir(exist_ok=True)
        with path.open("wb") as handle:
            left = size
            while left:
                block = os.urandom(min(left, 1 << 20))
                handle.write(block)
                left -= len(block)
        return path

    return make


@pytest.fixture
def image(make_image: Callable[..., Path]) -> Path:
    return make_image()


def cli(*args: str, input: str | None = None) -> Result:
    """Run ``sregistry ARGS`` in-process (click's runner), exceptions surfaced."""
    return CliRunner().invoke(sregistry_cli, list(args), input=input, catch_exceptions=False)


def sregistry_executable() -> str:
    found = Path(sys.executable).parent / "sregistry"
    if found.exists():
        return str(found)
    which = shutil.which("sregistry")
    assert which, "the sregistry console script is not installed"
    return which


def run_sregistry(
    *args: str, env: dict[str, str] | None = None, **options: Any
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``sregistry`` as a real process."""
    return subprocess.run(
        [sregistry_executable(), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **options,
    )


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*.incomplete"))
