"""The rule of tests/unit/conftest.py: no sockets but a marked test's own loopback server.

The conftest is run as it is, in a pytest subprocess over a small test file, so
the outcome of each inner test is what a unit test would get.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")
REPO = Path(__file__).resolve().parents[2]

INNER = """
import contextlib
import socket
import tempfile
from pathlib import Path

import pytest


def test_loopback_is_refused():
    with socket.create_server(("127.0.0.1", 0)) as server:
        socket.create_connection(server.getsockname()[:2], timeout=5).close()


def test_ipv6_connect_ex_is_refused():
    with socket.socket(socket.AF_INET6) as sock:
        sock.connect_ex(("::1", 9))


def test_a_swallowed_refusal_still_fails():
    with socket.create_server(("127.0.0.1", 0)) as server, contextlib.suppress(Exception):
        socket.create_connection(server.getsockname()[:2], timeout=5).close()


def test_a_name_lookup_is_refused():
    socket.getaddrinfo("sregistry.example.org", 443)


@pytest.mark.network
def test_a_marked_test_reaches_its_loopback_server():
    with socket.create_server(("127.0.0.1", 0)) as server:
        socket.create_connection(server.getsockname()[:2], timeout=5).close()


def test_unix_sockets_and_address_literals_are_not_the_network():
    assert socket.getaddrinfo("127.0.0.1", 80)
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "s")
        with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
            server.bind(path)
            server.listen()
            client.connect(path)
"""

INI = """[pytest]
addopts = --strict-markers -p no:cacheprovider
markers =
    network: a test that starts its own loopback server
"""


def test_the_conftest_refuses_the_network_unless_marked(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_inner.py").write_text(INNER)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", str(tmp_path)],
        cwd=tmp_path,
        # the conftest imports tests.unit.local_http; no plugin is needed (faster)
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    failed = sorted(set(re.findall(r"^(?:FAILED|ERROR) test_inner.py::(\w+)", done.stdout, re.M)))
    assert failed == [
        "test_a_name_lookup_is_refused",
        "test_a_swallowed_refusal_still_fails",
        "test_ipv6_connect_ex_is_refused",
        "test_loopback_is_refused",
    ], done.stdout + done.stderr
    assert "4 failed, 2 passed in" in done.stdout, done.stdout
    assert "unit tests cannot reach the network (connect to ('127.0.0.1'," in done.stdout
    assert "unit tests cannot reach the network (look up 'sregistry.example.org')" in done.stdout
    # the swallowed refusal: the test body passed, its report says why it failed
    assert "the test tried to reach the network: connect to ('127.0.0.1'," in done.stdout
