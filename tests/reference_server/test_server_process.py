"""The server process: command line, first-line URL, signals, restart, throttle, request log."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.reference_server.helpers import Account
from tests.server.pytest_plugin import REPO, RegistryServer

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def start(data: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.server", "--data", str(data), *args],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_command_line_prints_url_then_exits_cleanly(tmp_path: Path, stop_signal: int) -> None:
    process = start(tmp_path / "data", "--port", "0", "--user", f"Alice:{TOKEN}:staff")
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        alice = Account(url, "alice", TOKEN)
        assert alice.push("dino", "busybox", "latest", b"x").json()["message"] == "Upload Complete"
    finally:
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    assert stdout == ""
    assert "POST /upload" in stderr


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    for args in (["--user", "nocolon"], ["--user", "a:b:admin"], ["--throttle", "5/fortnight"], []):
        process = (
            start(tmp_path / "data", *args)
            if args
            else subprocess.Popen(
                [sys.executable, "-m", "tests.server"], cwd=REPO, stderr=subprocess.PIPE, text=True
            )
        )
        _, stderr = process.communicate(timeout=15)
        assert process.returncode == 2, stderr
        assert "usage:" in stderr


def test_restart_keeps_data_and_applies_flags(
    registry_server: RegistryServer, alice: Account
) -> None:
    for number in range(3):
        registry_server.add_image(f"c{number}", "img", "latest", b"x", owner="alice")
    old_pid = registry_server.pid
    registry_server.restart(page_size=2)
    assert registry_server.pid != old_pid
    page = requests.get(f"{registry_server.url}/api/collections/", timeout=30).json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert registry_server.flags == {"profile": "fixed", "page_size": 2}


def test_unknown_flag_is_a_type_error(make_registry_server: Callable[..., RegistryServer]) -> None:
    with pytest.raises(TypeError, match="colour"):
        make_registry_server(colour="red")


def test_throttle(make_registry_server: Callable[..., RegistryServer]) -> None:
    server = make_registry_server(throttle="3/min")
    alice = Account(server.url, "alice", server.add_user("alice"))
    server.add_image("dino", "busybox", "latest", b"x", owner="alice")
    for _ in range(2):
        assert requests.get(f"{server.url}/api/collections/", timeout=30).status_code == 200
    manifest = alice.pull_manifest("dino", "busybox")
    assert manifest.status_code == 200
    throttled = requests.get(f"{server.url}/api/collections/", timeout=30)
    assert throttled.status_code == 429
    assert re.fullmatch(
        r"Request was throttled\. Expected available in \d+ seconds\.", throttled.json()["detail"]
    )
    assert 0 < int(throttled.headers["Retry-After"]) <= 60
    # the download route is not a DRF view and is not throttled
    assert requests.get(manifest.json()["image"], timeout=30).status_code == 200


def test_request_log(registry_server: RegistryServer, alice: Account) -> None:
    alice.push("dino", "busybox", "latest", b"x")
    entries = registry_server.requests()
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/api/upload/chunked_upload", 200),
        ("POST", "/upload", 200),
    ]
    assert entries[1]["headers"]["Authorization"].startswith("SREGISTRY-HMAC-SHA256 ")
    assert entries[1]["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert registry_server.requests("chunked") == entries[:1]
    registry_server.clear_requests()
    assert registry_server.requests() == []


def _stalled_upload(url: str, data: Path) -> socket.socket:
    """A registry upload whose body stops halfway: its temporary file stays open."""
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)))
    head = (
        "POST /upload HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000000\r\n\r\n"
    )
    conn.sendall(head.encode() + b'--b\r\nContent-Disposition: form-data; name="file1"; '
                 b'filename="x"\r\n\r\n' + b"x" * 300_000)  # fmt: skip
    deadline = time.monotonic() + 10
    while not list((data / "tmp").glob("upload-*.part")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list((data / "tmp").glob("upload-*.part")), "the server did not start storing"
    return conn


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL])
def test_no_upload_part_survives_a_stop_and_a_start(tmp_path: Path, stop_signal: int) -> None:
    data = tmp_path / "data"
    process = start(data, "--port", "0", "--user", f"alice:{TOKEN}")
    assert process.stdout is not None
    conn = _stalled_upload(process.stdout.readline().strip(), data)
    process.send_signal(stop_signal)
    process.communicate(timeout=15)
    conn.close()
    if stop_signal == signal.SIGTERM:
        assert process.returncode == 0
        assert list((data / "tmp").glob("upload-*.part")) == []
    again = start(data, "--port", "0")
    try:
        assert again.stdout is not None
        assert again.stdout.readline().startswith("http://")
        assert list((data / "tmp").glob("upload-*.part")) == []
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=15)
