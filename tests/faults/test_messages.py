"""Defect 8: messages that sent users the wrong way."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import socket
import subprocess
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli as sregistry_cli
from sregistry.errors import PermissionDenied, RateLimited
from sregistry.main.registry.client import RegistryClient
from sregistry.transfer.download import Expected, verify
from sregistry.transfer.hashing import Digests
from tests.e2e.conftest import Registry, sregistry_executable
from tests.faults.capture import CaptureServer, canned


def run(*args: str) -> Result:
    return CliRunner().invoke(sregistry_cli, list(args), catch_exceptions=False)


def error_line(result: Result) -> str:
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    return line


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[bytes], bytes | None]], CaptureServer]]:
    servers: list[CaptureServer] = []

    def start(answer: Callable[[bytes], bytes | None]) -> CaptureServer:
        servers.append(CaptureServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_dead_library_server_names_no_registry_flags(tmp_path: Path) -> None:
    result = run("pull", "--library", dead_url(), "library://a/b/c:1", "-o", str(tmp_path / "x"))
    assert result.exit_code == 1
    line = error_line(result)
    assert "cannot connect to" in line
    assert "--registry" not in line
    assert "SREGISTRY_REGISTRY_BASE" not in line


def test_a_checksum_mismatch_does_not_blame_the_registry() -> None:
    with pytest.raises(Exception, match=r"has sha256 a+, expected b+$") as caught:
        verify(3, Digests("a" * 64), Expected(sha256="b" * 64), "the.server/x")
    assert "registry" not in str(caught.value)


def test_library_429_says_it_is_throttled(
    serve: Callable[[Callable[[bytes], bytes | None]], CaptureServer], tmp_path: Path
) -> None:
    server = serve(lambda head: canned(429, b"", {"Retry-After": "1"}))
    result = run("pull", "--library", server.url, "library://a/b/c:1", "-o", str(tmp_path / "x"))
    line = error_line(result)
    assert "throttling requests (HTTP 429)" in line
    assert "no details" not in line
    assert line.endswith("try again in 1 second")


def test_one_second_is_singular() -> None:
    assert RateLimited("x", retry_after=1).hint == "try again in 1 second"
    assert RateLimited("x", retry_after=42).hint == "try again in 42 seconds"
    assert RateLimited("x").hint == "try again later"


def test_a_url_that_is_not_a_registry(
    serve: Callable[[Callable[[bytes], bytes | None]], CaptureServer],
) -> None:
    server = serve(lambda head: canned(404))
    result = CliRunner().invoke(
        sregistry_cli, ["list", "vsoch"], env={"SREGISTRY_REGISTRY_BASE": server.url}
    )
    assert result.exit_code == 1, result.stderr
    line = error_line(result)
    assert "does not look like a Singularity Registry Server" in line
    assert "was not found" not in line


def test_a_token_given_as_an_argument_is_not_blamed_on_the_variable(
    serve: Callable[[Callable[[bytes], bytes | None]], CaptureServer], tmp_path: Path
) -> None:
    def answer(head: bytes) -> bytes:
        return canned(404) if b" /v1/" in head.split(b"\r\n")[0] else canned(500)

    server = serve(answer)
    image = tmp_path / "image.sif"
    image.write_bytes(b"bytes")
    client = RegistryClient(base=server.url, username="vsoch", token="f" * 40, env={})
    with client, pytest.raises(PermissionDenied) as caught:
        client.push(image, "vsoch/x", inspect=False)
    assert "SREGISTRY_REGISTRY_TOKEN" not in (caught.value.hint or "")


def _own_terminal() -> None:
    """In the child: make stdin its controlling terminal and restore SIGINT."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_at_the_delete_prompt_exits_130(registry: Registry) -> None:
    registry.server.add_image("vsoch", "hello", "latest", b"bytes", owner="vsoch")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(  # a terminal of its own, so ^C is a SIGINT from the tty
        [sregistry_executable(), "delete", "vsoch/hello:latest"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, **registry.env()},
        start_new_session=True,
        close_fds=True,
        preexec_fn=_own_terminal,  # noqa: PLW1509 - nothing else runs threads here
    )
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + 30
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            seen += os.read(controller, 4096)
    assert b"[y/N]" in seen, seen
    for _ in range(15):  # ^C, again if the first one came before the prompt read
        os.write(controller, b"\x03")
        try:
            code = process.wait(timeout=2)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        process.kill()
        code = process.wait()
    os.close(controller)
    assert code == 130, seen
    assert registry.server.container("vsoch", "hello", "latest") is not None
