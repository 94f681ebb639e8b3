"""What the local store costs and saves a registry pull, next to curl, in one run.

    .venv/bin/python bench/pull_cache.py [--size 256M] [--repeat 3] [--dir DIR]

Starts the reference server (``tests/server``) on loopback, stores one image
of ``--size`` random bytes on it, then times whole commands (start-up
included), interleaved and rotated each round so machine load hits all alike:

* ``curl -o FILE`` of the download URL (no verification): the network floor;
* ``sregistry pull --no-cache``: manifest, verified download, rename;
* ``sregistry pull`` into an empty store: the same plus recording the image
  (one SQLite transaction; the stored file shares the pulled file's bytes: a
  reflink clone, else a hard link, a copy only across filesystems; the line
  after the table says which it was);
* ``sregistry pull`` served from the store: manifest, then a checked copy out
  (the stored file is hashed while copied); no download request.

Each figure is the median of ``--repeat`` runs: wall time, MiB/s, the ratio
to curl's time, and the peak RSS of the client process. The server's data
lives on tmpfs (``/dev/shm``) and each command starts after ``bench/settle.py``
(sync, and the pages of the files in the scratch folder evicted). Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from common import parse_size, write_random  # noqa: E402
from settle import default_fast_dir, settle  # noqa: E402

from tests.e2e.measure import Measured, run_measured  # noqa: E402
from tests.server.pytest_plugin import RegistryServer  # noqa: E402

MiB = 1 << 20
USER = "bench"
NAME = "bench/cache:latest"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=parse_size, default=256 * MiB)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sregistry-bench-cache-", dir=args.dir))
    served = Path(tempfile.mkdtemp(prefix="sregistry-bench-cache-", dir=default_fast_dir()))
    server = RegistryServer(served / "server", {})
    try:
        run(server, scratch, args.size, args.repeat)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(served, ignore_errors=True)


def run(server: RegistryServer, scratch: Path, size: int, repeat: int) -> None:
    token = server.add_user(USER)
    source = scratch / "image.sif"
    write_random(source, size)
    collection, rest = NAME.split("/")
    name, tag = rest.split(":")
    row = server.add_image(collection, name, tag, source, owner=USER)
    source.unlink()
    sregistry = str(Path(sys.executable).parent / "sregistry")
    store = scratch / "store"
    env = {
        **os.environ,
        "SREGISTRY_REGISTRY_BASE": server.url,
        "SREGISTRY_REGISTRY_USERNAME": USER,
        "SREGISTRY_REGISTRY_TOKEN": token,
        "SREGISTRY_CLIENT_SECRETS": str(scratch / "no-secrets.json"),
        "SREGISTRY_STORAGE": str(store),
    }
    env.pop("SREGISTRY_DISABLE", None)
    env.pop("SINGULARITY_DISABLE_CACHE", None)
    target = scratch / "pulled.sif"
    url = f"{server.url}/containers/{row['id']}/download/"
    secret = server.collection(collection)
    assert secret is not None
    url += str(secret["secret"])

    def pull(*extra: str) -> Measured:
        return run_measured(
            [sregistry, "pull", NAME, "-o", str(target), "--force", *extra], env=env
        )

    shares: list[str] = []

    def empty_store_then_pull() -> Measured:
        shutil.rmtree(store, ignore_errors=True)  # untimed
        result = pull()
        blobs = list((store / "blobs" / "sha256").glob("*.sif"))
        if len(blobs) == 1 and target.exists():
            same = os.stat(blobs[0]).st_ino == os.stat(target).st_ino
            shares.append("one inode (hard link)" if same else "two files (reflink or copy)")
        return result

    def served() -> Measured:
        if not store.exists():
            pull()  # untimed: fill the store
        result = pull()
        if "served from the local store" not in result.stderr:
            raise SystemExit(f"expected a pull served from the store:\n{result.stderr}")
        return result

    tools: list[tuple[str, Callable[[], Measured]]] = [
        (
            "curl -o (no verification)",
            lambda: run_measured(["curl", "-sf", "-o", str(target), url]),
        ),
        ("sregistry pull --no-cache", lambda: pull("--no-cache")),
        ("sregistry pull, recorded", empty_store_then_pull),
        ("sregistry pull, from store", served),
    ]
    timings: dict[str, list[Measured]] = {name: [] for name, _ in tools}
    for attempt in range(repeat):
        order = tools[attempt % len(tools) :] + tools[: attempt % len(tools)]
        for name, action in order:
            settle([scratch])
            result = action()
            if result.returncode != 0:
                raise SystemExit(f"{name} failed:\n{result.stderr}")
            if target.stat().st_size != size:
                raise SystemExit(f"{name} wrote {target.stat().st_size} bytes, not {size}")
            target.unlink()
            timings[name].append(result)
    curl = statistics.median(m.seconds for m in timings[tools[0][0]])
    print(f"{size / MiB:.0f} MiB image, median of {repeat}, loopback, page cache settled")
    print(f"{'':28} {'seconds':>8} {'MiB/s':>8} {'vs curl':>8} {'peak RSS':>9}")
    for name, _ in tools:
        seconds = statistics.median(m.seconds for m in timings[name])
        rss = max(m.peak_rss for m in timings[name]) / 1e6
        print(
            f"{name:28} {seconds:8.2f} {size / MiB / seconds:8.0f} {curl / seconds:8.2f} "
            f"{rss:7.0f} MB"
        )
    print(f"recorded pull: the pulled and the stored file are {', '.join(sorted(set(shares)))}")


if __name__ == "__main__":
    main()
