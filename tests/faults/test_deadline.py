"""Defect 4: a server that accepts and never answers ends the command within its deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sregistry.errors import ConfigError
from sregistry.transfer.http import DEFAULT_DEADLINE, Transport
from tests.e2e.conftest import run_sregistry
from tests.faults.capture import CaptureServer

DEADLINE = 2.0
SLACK = 3.0
"""Seconds for the interpreter to start and the process to end."""


@pytest.fixture
def stalling() -> Iterator[CaptureServer]:
    server = CaptureServer(lambda head: None)  # reads the request, never answers
    try:
        yield server
    finally:
        server.close()


def timed(*args: str, env: dict[str, str]) -> tuple[float, str, int]:
    started = time.monotonic()
    done = run_sregistry(*args, env=env)
    return time.monotonic() - started, done.stderr, done.returncode


def check(elapsed: float, stderr: str, code: int, stalling: CaptureServer) -> None:
    assert code == 1, stderr
    assert elapsed < DEADLINE + SLACK, (elapsed, stderr)
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert "gave up after waiting 2 seconds over" in errors[0]
    assert "tries" in errors[0] or "1 try" in errors[0]
    assert "deadline" in errors[0]
    assert stalling.heads, "the server saw no request"


def test_registry_pull_option(stalling: CaptureServer, tmp_path: Path) -> None:
    env = {"SREGISTRY_REGISTRY_BASE": stalling.url}
    out = tmp_path / "out"
    out.mkdir()
    check(
        *timed("--deadline", str(DEADLINE), "pull", "vsoch/x", "-o", str(out / "x.sif"), env=env),
        stalling,
    )
    assert list(out.iterdir()) == []


def test_library_pull_variable(stalling: CaptureServer, tmp_path: Path) -> None:
    env = {"SREGISTRY_LIBRARY_BASE": stalling.url, "SREGISTRY_DEADLINE": str(DEADLINE)}
    out = str(tmp_path / "x.sif")
    check(*timed("pull", "library://alice/c/x:1", "-o", out, env=env), stalling)


def test_registry_list_variable(stalling: CaptureServer) -> None:
    env = {"SREGISTRY_REGISTRY_BASE": stalling.url, "SREGISTRY_DEADLINE": str(DEADLINE)}
    check(*timed("list", env=env), stalling)


def test_deadline_settings() -> None:
    assert Transport(env={}).deadline == DEFAULT_DEADLINE == 300.0
    assert Transport(env={"SREGISTRY_DEADLINE": "7.5"}).deadline == 7.5
    assert Transport(env={"SREGISTRY_DEADLINE": "7.5"}, deadline=3).deadline == 3.0
    for bad in ("0", "-1", "soon", "inf"):
        with pytest.raises(ConfigError, match="SREGISTRY_DEADLINE"):
            Transport(env={"SREGISTRY_DEADLINE": bad})
