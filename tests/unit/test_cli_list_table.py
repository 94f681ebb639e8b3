"""``list`` on a terminal fits its width; piped and ``--json`` output stays complete.

The terminal is a real pseudo-terminal of the given size, the command the
installed console script.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sregistry.cli.list import local_time, short_version

SCRIPT = Path(sys.executable).parent / "sregistry"
SHA = "f53422b89ea3002d63da44d7c593f38752b8c350e3709445b2acce69137eb026"
TAGS = ("1.0", "2.0-rc1", "latest")
ZONE = "IST-5:30"  # POSIX TZ: five and a half hours ahead of UTC, no tz database needed
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_terminal(args: list[str], *, columns: int, env: dict[str, str]) -> str:
    """What ``sregistry ARGS`` draws on a ``columns``-wide terminal (escapes removed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        [str(SCRIPT), *args], stdin=slave, stdout=slave, stderr=subprocess.DEVNULL, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError as exc:  # EIO: the child closed the terminal
            if exc.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=60) == 0
    return _ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")


@pytest.fixture
def env(tmp_path: Path, fixtures_dir: Path) -> dict[str, str]:
    """A store holding three tags of one image, and the environment to reach it."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("SREGISTRY_")
    }
    environment.pop("COLUMNS", None)
    environment.pop("LINES", None)
    environment.update(SREGISTRY_STORAGE=str(tmp_path / "store"), TZ=ZONE, NO_COLOR="1")
    image = tmp_path / "busybox.sif"
    shutil.copyfile(fixtures_dir / "busybox-like.sif", image)
    for tag in TAGS:
        subprocess.run(
            [str(SCRIPT), "-q", "push", str(image), "--name", f"vsoch/hello-world:{tag}"],
            env=environment, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    return environment


def created_times(env: dict[str, str]) -> dict[str, str]:
    listed = subprocess.run(
        [str(SCRIPT), "-q", "list", "vsoch/hello-world", "--json"],
        env=env, check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    return {item["uri"]: item["created"] for item in json.loads(listed)}


@pytest.mark.parametrize("columns", [80, 120])
def test_terminal_table_fits_and_is_short(env: dict[str, str], columns: int) -> None:
    drawn = on_terminal(["-q", "list", "vsoch/hello-world"], columns=columns, env=env)
    lines = [line for line in drawn.splitlines() if line.strip()]
    assert all(len(line) <= columns for line in lines), drawn
    created = created_times(env)
    for tag in TAGS:
        uri = f"vsoch/hello-world:{tag}"
        (row,) = [line for line in lines if uri in line]  # one line per image
        # the store's UTC time, shown five and a half hours later, to the second
        utc = datetime.strptime(created[uri], "%Y-%m-%dT%H:%M:%SZ")
        local = (utc + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
        assert local in row, drawn
        assert f"sha256.{SHA[:12]}" in row, drawn
        assert SHA[:13] not in row, drawn
    assert created[f"vsoch/hello-world:{TAGS[0]}"] not in drawn


def test_piped_and_json_output_stay_complete(env: dict[str, str]) -> None:
    piped = subprocess.run(
        [str(SCRIPT), "-q", "list", "vsoch/hello-world"],
        env=env, check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    created = created_times(env)
    rows = [line.split("\t") for line in piped.splitlines()]
    assert rows[0] == ["image", "version", "frozen", "created"]
    assert rows[1:] == [
        [f"vsoch/hello-world:{tag}", f"sha256.{SHA}", "", created[f"vsoch/hello-world:{tag}"]]
        for tag in TAGS
    ]


def test_short_forms() -> None:
    assert short_version(f"sha256.{SHA}") == "sha256.f53422b89ea3"
    assert short_version("d41d8cd98f00b204e9800998ecf8427e") == "d41d8cd98f00"
    assert short_version("v1") == "v1"
    assert short_version(None) == ""
    assert local_time("not a time") == "not a time"
    assert local_time("2026-11-27T00:04:26.123456") == "2026-11-27 00:04:26"
    assert local_time(None) == ""


def test_times_become_local(monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(__import__("time"), "tzset"):
        pytest.skip("no time.tzset")
    import time

    monkeypatch.setenv("TZ", ZONE)
    time.tzset()
    try:
        for text in (
            "2026-11-27T00:04:26Z",
            "2026-11-27T00:04:26.1Z",
            "2026-11-27T00:04:26.123456789+00:00",
            "2026-11-26T19:04:26-05:00",
        ):
            assert local_time(text) == "2026-11-27 05:34:26", text
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
