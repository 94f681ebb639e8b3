"""The installed ``sregistry`` as a real process: round trip, Ctrl-C, progress, lazy imports."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Registry, leftovers, run_sregistry, sregistry_executable

pytestmark = pytest.mark.e2e


def test_push_list_pull_delete_as_processes(
    registry: Registry, image: Path, tmp_path: Path
) -> None:
    env = registry.env()
    pushed = run_sregistry(
        "push", str(image), "--allow-non-sif", "--name", "dinosaur/avocado:delicious", env=env
    )
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout == "dinosaur/avocado:delicious\n"
    assert "\r" not in pushed.stderr  # no progress bar when stderr is not a terminal
    listed = run_sregistry("list", "dinosaur", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "dinosaur/avocado:delicious" in listed.stdout
    target = tmp_path / "back.sif"
    pulled = run_sregistry("pull", "dinosaur/avocado:delicious", "-o", str(target), env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout == f"{target}\n"
    assert target.read_bytes() == image.read_bytes()
    deleted = run_sregistry("delete", "dinosaur/avocado:delicious", "--force", env=env)
    if registry.server.quirks.html_errors:  # sregistry 2.1.2 cannot delete (HTTP 500)
        assert deleted.returncode == 1, deleted.stderr
        assert "HTTP 500" in deleted.stderr
        return
    assert deleted.returncode == 0, deleted.stderr
    missing = run_sregistry(
        "pull", "dinosaur/avocado:delicious", "-o", str(tmp_path / "again.sif"), env=env
    )
    assert missing.returncode == 3
    assert missing.stderr.splitlines()[-1].startswith("error: ")


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def sigint_reaches_children() -> Iterator[None]:
    """Children get the default SIGINT action. A run started as a background job of a
    non-interactive shell (``bash .ci/run &``) has SIGINT ignored, which ``exec`` passes on
    (a handled signal is reset to the default instead): then Ctrl-C could not reach the
    client under test."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def interrupt(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


@pytest.mark.usefixtures("sigint_reaches_children")
def test_ctrl_c_during_a_pull(
    registry: Registry, make_image: Callable[..., Path], tmp_path: Path
) -> None:
    registry.server.add_image("dinosaur", "avocado", "latest", make_image(), owner="vsoch")
    registry.server.inject_fault("GET", r"/download/", delay=30)
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sregistry_executable(), "pull", "dinosaur/avocado", "-o", str(out)],
        env={**os.environ, **registry.env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: bool(leftovers(out)))  # the download has started
    code, stderr = interrupt(process)
    assert code == 130
    assert stderr.splitlines()[-1] == "interrupted"
    assert "Traceback" not in stderr
    assert list(out.iterdir()) == []  # nothing half-written


@pytest.mark.usefixtures("sigint_reaches_children")
def test_ctrl_c_during_a_push(registry: Registry, make_image: Callable[..., Path]) -> None:
    image = make_image(size=48 << 20)
    registry.server.inject_fault("POST", r"^/upload$", delay=30)
    process = subprocess.Popen(
        [sregistry_executable(), "push", "--allow-non-sif", str(image), "-n", "dinosaur/avocado"],
        env={**os.environ, **registry.env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: bool(registry.server.requests(r"chunked_upload")))
    time.sleep(0.5)  # into the upload, blocked on a server that does not read
    code, stderr = interrupt(process)
    assert code == 130
    assert "Traceback" not in stderr
    assert registry.server.container("dinosaur", "avocado", "latest") is None


def run_on_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdout/stderr on a pseudo-terminal; returns (exit code, what it drew)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env, close_fds=True
    )
    os.close(terminal)
    seen = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    code = process.wait(timeout=60)
    os.close(controller)
    return code, seen.decode(errors="replace")


def test_progress_bar_on_a_terminal_only(
    registry: Registry, make_image: Callable[..., Path]
) -> None:
    image = make_image(size=4 << 20)
    env = {**os.environ, **registry.env(), "COLUMNS": "120"}
    code, drawn = run_on_terminal(
        [sregistry_executable(), "push", "--allow-non-sif", str(image), "-n", "dinosaur/avocado"],
        env,
    )
    assert code == 0, drawn
    assert "4.0/4.0 MiB" in drawn  # bytes done / total, with a rate and ETA beside
    assert "/s" in drawn
    code, quiet = run_on_terminal(
        [
            sregistry_executable(),
            "--quiet",
            "push",
            str(image),
            "--allow-non-sif",
            "--name",
            "dinosaur/avocado",
            "--no-metadata",
        ],
        env,
    )
    assert code == 0, quiet
    assert "MiB" not in quiet
    assert quiet.strip() == "dinosaur/avocado:latest"


def test_no_color_is_honoured(registry: Registry, make_image: Callable[..., Path]) -> None:
    image = make_image(size=1 << 20)
    env = {**os.environ, **registry.env(), "COLUMNS": "120", "NO_COLOR": "1"}
    code, drawn = run_on_terminal(
        [sregistry_executable(), "push", "--allow-non-sif", str(image), "-n", "dinosaur/avocado"],
        env,
    )
    assert code == 0, drawn
    assert "1.0/1.0 MiB" in drawn
    assert "\x1b[3" not in drawn  # no foreground colours
    assert "\x1b[9" not in drawn


@pytest.mark.parametrize("command", ["push", "pull", "list", "delete", "labels"])
def test_help_does_not_import_heavy_modules(command: str) -> None:
    code = (
        "import sys\n"
        "from sregistry.cli import main\n"
        "try:\n"
        f"    main([{command!r}, '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('requests', 'rich', 'keyring', 'spython', 'urllib3') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "", done.stdout


@pytest.mark.parametrize(
    ("configured_base", "tag"),
    [
        # registry://host:port/... picks the registry for push and pull (sregistry-cli #187)
        (False, "delicious"),
        # on the configured registry's host it keeps that base's http:// scheme
        (True, "http"),
    ],
)
def test_a_registry_uri_names_the_server(
    registry: Registry, image: Path, tmp_path: Path, configured_base: bool, tag: str
) -> None:
    host = registry.url.removeprefix("http://")
    env = {
        "SREGISTRY_REGISTRY_USERNAME": "vsoch",
        "SREGISTRY_REGISTRY_TOKEN": registry.tokens["vsoch"],
        **(
            {"SREGISTRY_REGISTRY_BASE": registry.url}
            if configured_base
            else {"SREGISTRY_REGISTRY_NOHTTPS": "1"}
        ),
    }
    uri = f"registry://{host}/dinosaur/avocado:{tag}"
    pushed = run_sregistry(
        "push", str(image), "--allow-non-sif", "--name", uri, "--no-metadata", env=env
    )
    assert pushed.returncode == 0, pushed.stderr
    assert f"registry: {registry.url}" in pushed.stderr
    target = tmp_path / "back.sif"
    pulled = run_sregistry("pull", uri, "-o", str(target), env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert target.read_bytes() == image.read_bytes()
