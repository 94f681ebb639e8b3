"""The click group's context: an injected ``AppContext`` reaches every client a command opens."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from sregistry.cli import cli
from sregistry.cli.context import AppContext
from sregistry.main import get_client
from sregistry.main.local.client import LocalClient

DEAD = "http://127.0.0.1:9"
"""Nothing listens on the discard port: every connection is refused at once."""


@pytest.mark.network
@pytest.mark.parametrize("option", ["--registry", "--library"])
def test_an_injected_sleep_is_what_retries_wait_with(store_root: Path, option: str) -> None:
    waits: list[float] = []
    started = time.monotonic()
    done = CliRunner().invoke(
        cli, ["list", "busybox", option, DEAD], obj=AppContext(sleep=waits.append)
    )
    assert time.monotonic() - started < 3  # the real backoff alone is 0.5 + 1 + 2 s
    assert done.exit_code == 1, done.output
    assert f"cannot connect to {DEAD}" in done.stderr
    assert waits == [0.5, 1.0, 2.0]  # 4 tries, the default policy's backoff between them


@pytest.mark.network
def test_the_group_keeps_an_injected_context_and_takes_the_flags(store_root: Path) -> None:
    waits: list[float] = []
    given = AppContext(sleep=waits.append)
    done = CliRunner().invoke(cli, ["-q", "labels", "--registry", DEAD], obj=given)
    assert done.exit_code == 1
    assert "registry: " not in done.stderr  # -q reached the context the command used
    assert waits == [0.5, 1.0, 2.0]
    assert not given.quiet  # the injected object is a template, not changed


@pytest.mark.network
def test_library_login_waits_with_the_injected_sleep(store_root: Path) -> None:
    waits: list[float] = []
    done = CliRunner().invoke(
        cli,
        ["login", "--library", DEAD, "--token-stdin"],
        input="0123456789abcdef0123456789abcdef01234567\n",
        obj=AppContext(sleep=waits.append),
    )
    assert done.exit_code == 1, done.output
    assert f"cannot connect to {DEAD}/v1/token-status" in done.stderr
    assert waits == [0.5, 1.0, 2.0]


def test_every_backend_takes_a_sleep() -> None:
    waits: list[float] = []
    with get_client("local", sleep=waits.append) as client:
        assert isinstance(client, LocalClient)
    remotes = {"registry": {"base": DEAD}, "library": {"base": DEAD}, "oras": {"uri": "oras://h"}}
    for name, options in remotes.items():
        with get_client(name, sleep=waits.append, **options) as remote:
            assert remote.kind == name
    with get_client("oras", uri="oras://h", sleep=waits.append) as oras:
        assert oras.transport.sleep == waits.append  # the CLI tests show the others waiting
