"""Peak RSS of a command, measured without the caller's own memory leaking in.

Linux records the old address space's high-water RSS when a process calls
``exec``; a child that ``subprocess`` starts with ``vfork`` shares the parent's
address space until then, so its ``ru_maxrss`` is at least the parent's RSS (a
pytest or benchmark process of 60+ MB). A small launcher process, itself
started that way, forks (copy of its own ~10 MB) and execs the command: the
command's ``ru_maxrss`` then reflects the command (with a floor of about 10 MB).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["Measured", "run_measured"]

_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float
    peak_rss: int
    """Bytes."""
    stdout: str
    stderr: str


def run_measured(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    stdout: IO[bytes] | int | None = None,
) -> Measured:
    """Run ``args``; wall time (launcher overhead included) and the command's peak RSS."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "rss"
        out, err = Path(scratch) / "out", Path(scratch) / "err"
        with out.open("wb") as out_handle, err.open("wb") as err_handle:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _LAUNCHER, str(report), *args],
                env=env,
                stdout=out_handle if stdout is None else stdout,
                stderr=err_handle,
                check=False,
            )
            seconds = time.perf_counter() - started
        rss = int(report.read_text()) * 1024 if report.exists() else 0
        return Measured(
            done.returncode, seconds, rss, out.read_text(errors="replace"), err.read_text()
        )
