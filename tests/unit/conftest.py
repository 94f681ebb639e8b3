"""Fixtures shared by the unit tests, and the rule that they stay off the network.

A unit test cannot open a network connection or look a host name up: the
``no_network`` fixture below makes ``socket.connect`` (IPv4 and IPv6, loopback
included) and name lookups fail, and the test fails even if the code under
test swallowed the error. A test that talks to a server it starts itself on
loopback (``tests/unit/local_http.py``, the reference server) says so with
``@pytest.mark.network``. Unix sockets stay allowed: they never leave the machine.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from sregistry.transfer import Timeout, Transport
from tests.unit.local_http import Handler, LocalServer, Serve

__all__ = ["NetworkBlocked"]

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", ""})


class NetworkBlocked(RuntimeError):
    """A unit test tried to reach the network (not an ``OSError``: nothing retries it)."""


def _is_literal(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip("[]").split("%", 1)[0]
    if name.lower() in _LOCAL_NAMES:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


_ATTEMPTS = pytest.StashKey[list[str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test that passed although it tried to reach the network (the code under
    test swallowed the refusal) fails."""
    report: pytest.TestReport = yield
    attempts = item.stash.get(_ATTEMPTS, [])
    if report.when == "call" and report.passed and attempts:
        report.outcome = "failed"
        report.longrepr = f"the test tried to reach the network: {'; '.join(attempts)}"
    return report


@pytest.fixture(autouse=True)
def no_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse connections and host-name lookups unless the test is marked ``network``."""
    if request.node.get_closest_marker("network") is not None:
        yield
        return
    attempts: list[str] = []
    request.node.stash[_ATTEMPTS] = attempts
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(what: str) -> NetworkBlocked:
        attempts.append(what)
        return NetworkBlocked(
            f"unit tests cannot reach the network ({what}); a test that starts its own "
            "loopback server is marked @pytest.mark.network"
        )

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return real_connect(sock, address)
        raise refuse(f"connect to {address!r}")

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return real_connect_ex(sock, address)
        raise refuse(f"connect to {address!r}")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_literal(host):
            raise refuse(f"look up {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a :class:`LocalServer` on loopback for a handler; all are closed after the test
    (which is marked ``network``)."""
    servers: list[LocalServer] = []

    def start(handler: Handler) -> LocalServer:
        servers.append(LocalServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the ``transport`` fixture was asked to wait (it never waits)."""
    return []


@pytest.fixture
def transport(sleeps: list[float]) -> Iterator[Transport]:
    """A :class:`Transport` with 2 s timeouts that records its waits in ``sleeps``."""
    made = Transport(sleep=sleeps.append, timeout=Timeout(2.0, 2.0))
    yield made
    made.close()


@pytest.fixture
def store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty local store (``$SREGISTRY_STORAGE``) under ``tmp_path``."""
    root = tmp_path / "store"
    monkeypatch.setenv("SREGISTRY_STORAGE", str(root))
    return root


@pytest.fixture
def image(tmp_path: Path, fixtures_dir: Path) -> Path:
    """A writable copy of the busybox-like SIF fixture."""
    path = tmp_path / "busybox.sif"
    shutil.copyfile(fixtures_dir / "busybox-like.sif", path)
    return path


@pytest.fixture
def secrets(isolated_env: Path) -> Path:
    """Where the secrets file (``~/.sregistry``) of the test's HOME is."""
    return isolated_env / ".sregistry"


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A keyring that really stores (a JSON file, ``tests/keyring_backend.py``)."""
    path = tmp_path / "keyring.json"
    monkeypatch.setenv("TEST_KEYRING_FILE", str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.keyring_backend.FileKeyring")
    return path


@pytest.fixture
def sregistry_exe() -> str:
    """The installed ``sregistry`` console script of this virtualenv."""
    exe = shutil.which("sregistry", path=str(Path(sys.executable).parent))
    assert exe, "the sregistry console script is not installed next to this python"
    return exe
