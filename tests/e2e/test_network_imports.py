"""What a network command imports, as a real process: only what it uses.

A registry ``pull --no-cache`` with the token in the environment and output
that is not a terminal needs requests and the registry client, nothing of the
local store (SQLite), the push steps, the keyring, rich or the SIF readers:
each of those costs start-up time on every pull (issue 16).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Registry
from tests.server.config import FIXED_PROFILE

pytestmark = pytest.mark.e2e

NOT_FOR_A_PULL = (
    "sqlite3",
    "sregistry.store",
    "sregistry.main.registry.push",
    "sregistry.main.registry.diagnose",
    "sregistry.main.account",  # login, logout and config hooks' types
    "sregistry.metadata",
    "keyring",
    "sregistry.credentials.keyring_store",  # the token is in the environment
    "sregistry.credentials.remote_yaml",  # Singularity's remotes: library only
    "rich",
    "yaml",
    "spython",
)
"""Modules a registry ``pull --no-cache`` must not import."""

REPORT = (
    "import sys\n"
    "from sregistry.cli import main\n"
    "code = 0\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "print('exit', code, file=sys.stderr)\n"
    "print(' '.join(sorted(sys.modules)))\n"
)
"""Runs ``sregistry ARGS`` and prints the names of every module it imported."""


@pytest.fixture
def server_profile() -> str:
    """One profile: what the client imports does not depend on the server's quirks."""
    return FIXED_PROFILE


def imported_by(registry: Registry, *args: str) -> set[str]:
    """The modules ``sregistry ARGS`` imported (run as a fresh process, stderr not a tty)."""
    env = {**os.environ, **registry.env()}
    done = subprocess.run(
        [sys.executable, "-c", REPORT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.stderr.splitlines()[-1:] == ["exit 0"], done.stderr
    return set(done.stdout.split())


def loaded(modules: set[str], name: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for module in modules)


def test_a_registry_pull_without_the_store_imports_only_what_it_uses(
    registry: Registry, make_image: Callable[..., Path], tmp_path: Path
) -> None:
    image = make_image(size=36 << 10)
    with registry.client() as client:
        client.push(image, "dinosaur/avocado:small", inspect=False)
    target = tmp_path / "pulled.sif"
    modules = imported_by(
        registry, "pull", "dinosaur/avocado:small", "-o", str(target), "--force", "--no-cache"
    )
    assert target.read_bytes() == image.read_bytes()
    assert {"requests", "sregistry.main.registry.client"} <= modules  # the list is complete
    assert [name for name in NOT_FOR_A_PULL if loaded(modules, name)] == []


def test_a_registry_pull_with_the_store_opens_it(
    registry: Registry, make_image: Callable[..., Path], tmp_path: Path
) -> None:
    """The other side of the pin above: the store is imported when it is used."""
    image = make_image(size=36 << 10)
    with registry.client() as client:
        client.push(image, "dinosaur/avocado:small", inspect=False)
    modules = imported_by(registry, "pull", "dinosaur/avocado:small", "-o", str(tmp_path / "a"))
    assert {"sqlite3", "sregistry.store.cache"} <= modules
    assert not loaded(modules, "sregistry.main.registry.push")
