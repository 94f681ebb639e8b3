"""The fixed cost of a network command: ``sregistry pull`` of a small image, as a whole process.

    .venv/bin/python bench/fixed_cost.py [--runs 15] [--warmup 3] [--size 36K] [--instructions]

Starts the reference server (``tests/server``) on loopback, pushes one image
of ``--size`` random bytes (untimed), then runs each command as a fresh
process, interleaved round after round (so machine load hits every command
alike), and prints the median and minimum wall time in milliseconds:

* ``python -c pass``: interpreter start-up (this venv's Python);
* ``python -c "import requests"``, ``python -c "import click"`` and both
  together: the import floor of a network command (requests stays: proxies, CA
  bundles, netrc and redirects come with it);
* ``sregistry pull NAME -o FILE --force --no-cache``: the whole command (the
  manifest GET, the download with sha256 verification, the rename);
* ``curl`` fetching the same two URLs (manifest, then image file) in one process.

The summary line is the figure of issue 16, "fixed cost of a network command
(36 KiB image)", with the part of it that is the import floor. With
``--instructions`` the commands also run once under ``valgrind --tool=callgrind``
and their instruction counts are printed: a figure that machine load does not
move. Children run without ``PYTHONDONTWRITEBYTECODE`` (stale bytecode would
otherwise be compiled on every run). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from common import parse_size, write_random  # noqa: E402

from sregistry.main.registry.client import RegistryClient  # noqa: E402
from tests.server.pytest_plugin import RegistryServer  # noqa: E402

USER = "bench"
NAME = "bench/fixed:cost"
PULL = "sregistry pull --no-cache"
FLOOR = "python -c 'import requests, click'"


def commands(url: str, image_url: str, target: Path) -> dict[str, list[str]]:
    python = sys.executable
    sregistry = str(Path(python).parent / "sregistry")
    curl = [
        "curl", "-sS", "--fail", "-o", os.devnull, f"{url}/api/container/{NAME}",
        "-o", str(target), image_url,
    ]  # fmt: skip
    return {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import requests'": [python, "-c", "import requests"],
        "python -c 'import click'": [python, "-c", "import click"],
        FLOOR: [python, "-c", "import requests, click"],
        PULL: [sregistry, "pull", NAME, "-o", str(target), "--force", "--no-cache"],
        "curl (manifest + image)": curl,
    }


def child_env(server: RegistryServer, token: str, scratch: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "HOME": str(scratch / "home"),
        "SREGISTRY_REGISTRY_BASE": server.url,
        "SREGISTRY_REGISTRY_USERNAME": USER,
        "SREGISTRY_REGISTRY_TOKEN": token,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def time_once(argv: list[str], env: dict[str, str]) -> float:
    """Milliseconds from spawning ``argv`` to its exit (output discarded)."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return (time.perf_counter() - start) * 1000


def instructions(argv: list[str], env: dict[str, str]) -> int | None:
    """Instructions ``argv`` executes (callgrind, one run), or None when it cannot tell."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    return int(found.group(1)) if found and done.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    parser.add_argument("--size", type=parse_size, default="36K", help="image size (36K)")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions with callgrind"
    )
    args = parser.parse_args(argv)
    if shutil.which("curl") is None:
        print("curl is required", file=sys.stderr)
        return 2
    if args.instructions and shutil.which("valgrind") is None:
        print("--instructions needs valgrind", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="sregistry-fixed-"))
    (scratch / "home").mkdir()
    server = RegistryServer(scratch / "server", {})
    try:
        token = server.add_user(USER)
        source = scratch / "image.sif"
        write_random(source, args.size)
        with RegistryClient(base=server.url, username=USER, token=token, env={}) as client:
            client.push(source, NAME, inspect=False)
            image_url = client.urls.rebase_download(
                str(
                    client.transport.request("GET", f"{server.url}/api/container/{NAME}").json()[
                        "image"
                    ]
                )
            )
        env = child_env(server, token, scratch)
        table = commands(server.url, image_url, scratch / "pulled.sif")
        for _ in range(args.warmup):
            for command in table.values():
                time_once(command, env)
        samples: dict[str, list[float]] = {name: [] for name in table}
        for round_ in range(args.runs):
            names = list(table)
            shift = round_ % len(names)  # no command always follows the same one
            for name in names[shift:] + names[:shift]:
                samples[name].append(time_once(table[name], env))
        counts = {name: instructions(command, env) for name, command in table.items()}
        counts = counts if args.instructions else {}
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    load = os.getloadavg()[0]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}  Python {platform.python_version()}  "
        f"{os.cpu_count()} CPUs  load {load:.2f}  {args.runs} runs each, interleaved  "
        f"image {args.size} bytes"
    )
    header = f"{'command':36} {'median ms':>10} {'min ms':>8}"
    header += f" {'instructions':>14}" if counts else ""
    print(header)
    print("-" * len(header))
    for name, values in samples.items():
        line = f"{name:36} {statistics.median(values):10.1f} {min(values):8.1f}"
        if counts:
            count = counts.get(name)
            line += f" {count / 1e6:12.1f} M" if count else f" {'?':>14}"
        print(line)
    pull = statistics.median(samples[PULL])
    floor = statistics.median(samples[FLOOR])
    bare = statistics.median(samples["python -c pass"])
    print(
        f"\nfixed cost of a network command ({args.size >> 10} KiB image): {pull:.0f} ms median; "
        f"import floor (Python + requests + click) {floor:.0f} ms of it "
        f"(bare Python {bare:.0f} ms); sregistry's own share {pull - floor:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
