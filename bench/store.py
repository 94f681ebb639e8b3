"""Local store throughput and command latency, next to plain tools in the same run.

    .venv/bin/python bench/store.py [--size-mib 512] [--images 1000] [--dir DIR]

Prints figures and ratios; asserts nothing. ``DIR`` (default: a temporary
folder) should be on the disk you care about; the file is random bytes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sregistry.store import ImageStore


def timed(func: Callable[[], object], repeat: int = 3) -> float:
    """Median wall time of ``func`` in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        left = size
        while left:
            count = min(left, 16 << 20)
            handle.write(os.urandom(count))
            left -= count
        handle.flush()
        os.fsync(handle.fileno())


def cp_and_hash(source: Path, target: Path) -> None:
    """What a careful user does by hand: copy, flush, checksum."""
    subprocess.run(["cp", str(source), str(target)], check=True)
    subprocess.run(["sync", str(target)], check=True)
    subprocess.run(["openssl", "dgst", "-sha256", str(target)], check=True, capture_output=True)
    target.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sregistry-bench-", dir=args.dir))
    try:
        run(base, args.size_mib << 20, args.images)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run(base: Path, size: int, images: int) -> None:
    mib = size / (1 << 20)
    source = base / "image.sif"
    write_random(source, size)
    print(f"file: {mib:.0f} MiB of random bytes in {base}")

    def plain_cp() -> None:
        subprocess.run(["cp", str(source), str(base / "copy.sif")], check=True)
        (base / "copy.sif").unlink()

    cp = timed(plain_cp)
    print(f"cp (page cache, no flush)      {cp:7.3f} s  {mib / cp:7.0f} MiB/s")
    baseline = timed(lambda: cp_and_hash(source, base / "copy.sif"))
    print(f"cp + sync + openssl sha256      {baseline:7.3f} s  {mib / baseline:7.0f} MiB/s")

    def add_copy() -> None:
        root = base / "store-copy"
        with ImageStore(root) as store:
            store.add(source, "bench/image")
        shutil.rmtree(root)

    added = timed(add_copy)
    print(
        f"ImageStore.add (copy+hash+fsync) {added:5.3f} s  {mib / added:7.0f} MiB/s"
        f"  ratio {added / baseline:.2f}x"
    )

    store = ImageStore(base / "store")
    store.add(source, "bench/image")
    again = timed(lambda: store.add(source, "bench/image"))
    print(f"add of bytes already stored    {again:7.3f} s  (copies, hashes, drops the copy)")
    known = timed(lambda: store.add(source, "bench/known", sha256=store.get("bench/image").sha256))
    print(f"record_pull of stored bytes    {known:7.3f} s  (digest known: nothing copied)")

    def move_in() -> None:
        moved = base / "to-move.sif"
        shutil.copyfile(source, moved)
        start = time.perf_counter()
        store.add(moved, "bench/moved", copy=False)
        move_times.append(time.perf_counter() - start)

    move_times: list[float] = []
    timed(move_in)
    move = statistics.median(move_times)
    print(f"add without --copy (link+hash) {move:7.3f} s  {mib / move:7.0f} MiB/s")

    out = base / "out.sif"

    def export() -> None:
        store.export("bench/image", out, force=True)

    exported = timed(export)
    print(
        f"export (copy+hash+fsync)       {exported:7.3f} s  {mib / exported:7.0f} MiB/s"
        f"  ratio {exported / baseline:.2f}x"
    )
    store.close()

    small = base / "small.sif"
    small.write_bytes(os.urandom(4096))
    many = ImageStore(base / "many")
    start = time.perf_counter()
    for index in range(images):
        many.add(small, f"bench/image{index}")
    fill = time.perf_counter() - start
    many.close()
    print(f"{images} adds of a 4 KiB image      {fill:7.3f} s  {fill / images * 1000:.2f} ms each")

    script = Path(sys.executable).with_name("sregistry")
    env = {**os.environ, "SREGISTRY_STORAGE": str(base / "many")}

    def command(*argv: str) -> Callable[[], object]:
        return lambda: subprocess.run(
            [str(script), *argv], env=env, check=True, capture_output=True
        )

    version = timed(command("--version"), repeat=5)
    listing = timed(command("images"), repeat=5)
    get = timed(command("get", "bench/image7"), repeat=5)
    print(f"sregistry --version            {version * 1000:7.0f} ms")
    print(
        f"sregistry images ({images} rows)    {listing * 1000:7.0f} ms"
        f"  ratio {listing / version:.2f}x"
    )
    print(f"sregistry get NAME             {get * 1000:7.0f} ms  ratio {get / version:.2f}x")


if __name__ == "__main__":
    main()
