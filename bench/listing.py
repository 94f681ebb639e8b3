"""``sregistry list`` and ``sregistry list COLLECTION`` against a big reference registry.

    .venv/bin/python bench/listing.py [--sizes 1000,10000] [--runs 3]

For each size N, fills a fresh reference server's SQLite database directly
(through :mod:`tests.server.queries`, no HTTP): one collection ``big`` of N
containers (N distinct names) and a collection ``small`` of 10. Then runs, as
whole processes, ``sregistry list`` (every container) and ``sregistry list big``
(one collection), RUNS times each, and prints per command the median wall time,
the number of HTTP requests the server logged for one run, and the server's CPU
time for one run (from ``/proc/<pid>/stat``). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.server.store import Store, utcnow  # noqa: E402

TOKEN = "0123456789abcdef0123456789abcdef01234567"
BLOB = "0" * 64


def populate(data: Path, count: int) -> None:
    """``big`` with ``count`` containers and ``small`` with 10, owned by ``bench``."""
    store = Store(data)
    data.mkdir(parents=True, exist_ok=True)
    store.initialize()
    now = utcnow()
    with store.write() as db:
        db.execute(
            "INSERT INTO users (username, token, date_joined) VALUES ('bench', ?, ?)",
            (TOKEN, now),
        )
        for collection, size in (("big", count), ("small", 10)):
            cursor = db.execute(
                "INSERT INTO collections (name, secret, add_date, modify_date) VALUES (?, ?, ?, ?)",
                (collection, "secret", now, now),
            )
            cid = cursor.lastrowid
            db.execute("INSERT INTO members VALUES (?, 1, 'owner')", (cid,))
            db.executemany(
                "INSERT INTO containers (collection_id, name, tag, version, size, blob, "
                "metadata, add_date, modify_date) VALUES (?, ?, 'latest', ?, 1, ?, ?, ?, ?)",
                (
                    (cid, f"image{n:05d}", f"sha256.{n:064x}", BLOB, json.dumps({"n": n}), now, now)
                    for n in range(size)
                ),
            )
    store.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-listing-") as tmp:
        data = Path(tmp) / "data"
        populate(data, count)
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.server", "--data", str(data)],
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            env = dict(
                os.environ,
                SREGISTRY_CLIENT="registry",
                SREGISTRY_REGISTRY_BASE=url,
                SREGISTRY_REGISTRY_USERNAME="bench",
                SREGISTRY_REGISTRY_TOKEN=TOKEN,
                HOME=tmp,
            )
            exe = str(Path(sys.executable).parent / "sregistry")
            log = data / "requests.jsonl"
            for label, argv in (("list", [exe, "list"]), ("list big", [exe, "list", "big"])):
                times, requests, cpu = [], 0, 0.0
                for _ in range(runs):
                    log.unlink(missing_ok=True)
                    before = cpu_seconds(server.pid)
                    start = time.perf_counter()
                    done = subprocess.run(
                        argv, check=False, env=env, capture_output=True, text=True
                    )
                    times.append(time.perf_counter() - start)
                    cpu = cpu_seconds(server.pid) - before
                    requests = len(log.read_text().splitlines()) if log.exists() else 0
                    if done.returncode != 0:
                        raise SystemExit(f"{label} failed: {done.stderr}")
                print(
                    f"{count:>6} containers  {label:<9} median {statistics.median(times):6.2f} s"
                    f"  requests {requests:>5}  server CPU {cpu:5.2f} s"
                )
        finally:
            server.terminate()
            server.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="container counts (comma-separated)")
    parser.add_argument("--runs", type=int, default=3, help="runs per command (median printed)")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {os.cpu_count()} CPUs  load {load:.2f}")
    for count in (int(size) for size in args.sizes.split(",")):
        measure(count, args.runs)


if __name__ == "__main__":
    main()
