"""Defect 6: kept partials of library pulls are reported, and removed once the target is done."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sregistry.errors import TransferError
from tests.e2e.conftest import sregistry_executable
from tests.e2e.library.conftest import Library, MiB, library, make_library, make_sif

__all__ = ["library", "make_library", "make_sif"]

REF = "library://alice/demo/hello"


def partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".incomplete" in p.name)


def test_a_later_pull_of_other_bytes_removes_the_stale_partial(
    library: Library, make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    old, new = make_sif(6 * MiB), make_sif(6 * MiB)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "x.sif"
    with library.client() as client:
        client.push(old, REF)
    library.server.inject_fault("GET", r"^/_blob/", cut_after=MiB, times=1)
    library.server.inject_fault("GET", r"^/_blob/", status=500, times=50)
    with (
        library.client(part_size=2 * MiB, connections=1) as client,
        pytest.raises(TransferError) as caught,
    ):
        client.pull(REF, target)
    kept = partials(out)
    stem = f"x.sif.{hashlib.sha256(old.read_bytes()).hexdigest()[:16]}.incomplete"
    assert kept == [stem, f"{stem}.json"]
    hint = caught.value.hint or ""
    assert f"the partial download is kept at {out / kept[0]}" in hint
    assert "run the same pull again to resume it" in hint
    assert "to discard it" in hint

    library.server.clear_faults()
    with library.client() as client:
        client.push(new, REF)  # the tag moves to other bytes
        client.pull(REF, target, force=True)
    assert target.read_bytes() == new.read_bytes()
    assert partials(out) == []


def test_ctrl_c_says_where_the_partial_is(
    library: Library, make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    image = make_sif(8 * MiB)
    with library.client() as client:
        client.push(image, REF)
    library.server.inject_fault("GET", r"^/_blob/", delay=0.01, times=1)  # the probe: part 1
    library.server.inject_fault("GET", r"^/_blob/", delay=5.0, times=10)  # the rest stalls
    env = {
        **os.environ,
        "SREGISTRY_LIBRARY_BASE": library.url,
        "SREGISTRY_LIBRARY_TOKEN": library.token,
    }
    args = ["pull", REF, "-o", str(tmp_path / "x.sif"), "--part-size", "2M", "--connections", "1"]
    process = subprocess.Popen(
        [sregistry_executable(), *args],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(library.requests(r"^/_blob/", "GET")) < 1:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    kept = [p for p in tmp_path.iterdir() if p.name.endswith(".incomplete")]
    assert len(kept) == 1, stderr
    assert f"the partial download is kept at {kept[0]}" in stderr
