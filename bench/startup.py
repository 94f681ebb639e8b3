"""Start-up time of ``sregistry --version`` and ``--help``, next to Python baselines.

    .venv/bin/python bench/startup.py [--runs 20] [--warmup 3]

Runs each command as a fresh process (``subprocess``), N times, interleaved so
that machine load hits every command alike, and prints the median and minimum
wall time in milliseconds. Baselines measured in the same run: ``python -c pass``
(interpreter start-up) and ``python -c "import click"`` (the CLI framework).
The target for ``--version`` and ``--help`` is under 60 ms. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_MS = 60.0


def _sregistry() -> str:
    found = Path(sys.executable).parent / "sregistry"
    if not found.exists():
        raise SystemExit(f"no sregistry console script beside {sys.executable}")
    return str(found)


def commands() -> dict[str, list[str]]:
    exe = _sregistry()
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "sregistry --version": [exe, "--version"],
        "sregistry --help": [exe, "--help"],
    }


def time_once(argv: list[str]) -> float:
    """Milliseconds from spawning ``argv`` to its exit (output discarded)."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    args = parser.parse_args(argv)
    table = commands()
    for _ in range(args.warmup):
        for command in table.values():
            time_once(command)
    samples: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(args.runs):
        for name, command in table.items():
            samples[name].append(time_once(command))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}  Python {platform.python_version()}  "
        f"{os.cpu_count()} CPUs  load {load:.2f}  {args.runs} runs each"
    )
    print(f"{'command':<28} {'median ms':>10} {'min ms':>8}")
    for name, values in samples.items():
        print(f"{name:<28} {statistics.median(values):>10.1f} {min(values):>8.1f}")
    base = statistics.median(samples["python -c pass"])
    for name in ("sregistry --version", "sregistry --help"):
        median = statistics.median(samples[name])
        verdict = "under" if median < TARGET_MS else "OVER"
        print(
            f"{name}: {median:.1f} ms median, {median - base:.1f} ms above bare Python, "
            f"{verdict} the {TARGET_MS:.0f} ms target"
        )


if __name__ == "__main__":
    main()
