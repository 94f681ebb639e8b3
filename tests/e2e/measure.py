"""Peak RSS of a command, measured without the caller's own memory leaking in.

Linux records the old address space's high-water RSS when a process calls
``exec``; a child that ``subprocess`` starts with ``vfork`` shares the parent's
address space until then, so its ``ru_maxrss`` is at least the parent's RSS (a
pytest or benchmark process of 60+ MB). A small launcher process, itself
started that way, forks (copy of its own ~10 MB) and execs the command: the
command's ``ru_maxrss`` then reflects the command (with a floor of about 10 MB).
GNU ``time`` (``/usr/bin/time``), where installed, is that launcher with a floor
of about 1 MB (curl's own 11 MB would otherwise read as the launcher's).
"""

from __future__ import annotations

import os
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
    report.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""
_GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float
    peak_rss: int
    """Bytes."""
    stdout: str
    stderr: str
    cpu: float = 0.0
    """User + system CPU seconds of the command."""


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
            launcher = [sys.executable, "-c", _LAUNCHER, str(report)]
            if os.access(_GNU_TIME, os.X_OK):
                launcher = [_GNU_TIME, "-q", "-f", "%M %U %S", "-o", str(report)]
            started = time.perf_counter()
            done = subprocess.run(
                [*launcher, *args],
                env=env,
                stdout=out_handle if stdout is None else stdout,
                stderr=err_handle,
                check=False,
            )
            seconds = time.perf_counter() - started
        rss, cpu = _report(report)
        return Measured(
            done.returncode, seconds, rss, out.read_text(errors="replace"), err.read_text(), cpu
        )


def _report(path: Path) -> tuple[int, float]:
    """``(peak RSS in bytes, CPU seconds)`` from the launcher's report (``KiB cpu...``)."""
    if not path.exists():
        return 0, 0.0
    lines = path.read_text().split("\n")
    fields = [line for line in lines if line.strip()][-1].split() if any(lines) else []
    if not fields:
        return 0, 0.0
    return int(fields[0]) * 1024, sum(float(item) for item in fields[1:])
