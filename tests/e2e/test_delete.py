"""``delete`` end to end: confirmation rules, --force, frozen and permission failures."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

import pytest

from sregistry.errors import Frozen, NotFound, PermissionDenied
from sregistry.main.registry.client import RegistryClient
from tests.e2e.conftest import Registry, cli, sregistry_executable

pytestmark = pytest.mark.e2e

NAME = "dinosaur/avocado:delicious"


@pytest.fixture
def stored(registry: Registry) -> Registry:
    registry.server.add_image("dinosaur", "avocado", "delicious", b"bytes", owner="vsoch")
    return registry


def exists(registry: Registry) -> bool:
    return registry.server.container("dinosaur", "avocado", "delicious") is not None


def test_library_delete(stored: Registry, client: RegistryClient) -> None:
    client.delete(NAME)
    assert not exists(stored)
    with pytest.raises(NotFound):
        client.delete(NAME)


def test_library_delete_frozen(stored: Registry, client: RegistryClient) -> None:
    stored.server.freeze("dinosaur", "avocado", "delicious")
    with pytest.raises(Frozen, match="frozen"):
        client.delete(NAME)
    assert exists(stored)


def test_library_delete_by_someone_else(stored: Registry) -> None:
    with stored.client("alice") as alice, pytest.raises(PermissionDenied, match="'alice'"):
        alice.delete(NAME)
    assert exists(stored)


def test_cli_delete_force(stored: Registry, as_vsoch: Registry) -> None:
    result = cli("delete", NAME, "--force")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"deleted {NAME}\n"
    assert not exists(stored)


def test_cli_delete_without_a_terminal_refuses(stored: Registry, as_vsoch: Registry) -> None:
    result = cli("delete", NAME, input="yes\n")
    assert result.exit_code == 1
    assert "no terminal to confirm on; use --force" in result.stderr
    assert exists(stored)


@pytest.mark.parametrize(
    ("setup", "code", "text"),
    [("frozen", 4, "is frozen"), ("missing", 3, "was not found"), ("alice", 4, "'alice'")],
)
def test_cli_delete_failures(  # noqa: PLR0917 - fixtures and parameters
    stored: Registry,
    as_vsoch: Registry,
    monkeypatch: pytest.MonkeyPatch,
    setup: str,
    code: int,
    text: str,
) -> None:
    name = NAME
    if setup == "frozen":
        stored.server.freeze("dinosaur", "avocado", "delicious")
    elif setup == "missing":
        name = "dinosaur/avocado:absent"
    else:
        for key, value in stored.env("alice").items():
            monkeypatch.setenv(key, value)
    result = cli("delete", name, "-f")
    assert result.exit_code == code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert text in errors[0]
    assert exists(stored)


def answer_prompt(registry: Registry, answer: str) -> tuple[int, str]:
    """Run ``sregistry delete`` on a real terminal and type ``answer`` at the prompt."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sregistry_executable(), "delete", NAME],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, **registry.env()},
        close_fds=True,
    )
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(controller, answer.encode() + b"\r")
            answered = True
        if process.poll() is not None and not ready:
            break
    code = process.wait(timeout=60)
    os.close(controller)
    return code, seen.decode(errors="replace")


@pytest.mark.parametrize(
    ("answer", "deleted"),
    [("y", True), ("YES", True), ("n", False), ("", False), ("e", False), ("sure", False)],
)
def test_cli_delete_asks_on_a_terminal(stored: Registry, answer: str, deleted: bool) -> None:
    code, output = answer_prompt(stored, answer)
    assert code == 0, output
    assert f"Delete {NAME} from {stored.url}? [y/N]" in output
    assert exists(stored) is not deleted
    assert ("not deleted" in output) is not deleted
