"""Benchmark: metadata of images on a registry, read in HTTP ranges.

    .venv/bin/python bench/remote_inspect.py [--size-gib G] [--images N] [--no-range]

Starts the reference server (``tests/server``) on loopback and measures, each
as a whole process:

* ``sregistry inspect --json REF`` of the real busybox image (792 KB) and of
  two 1 GiB images: one with the stored ``inspect-metadata.json`` (busybox's
  objects, then 1 GiB of data, then the squashfs) and one squashfs-only (its
  root file system 1 GiB into the file). Bytes received and range requests come
  from a separate process that opens the same image with
  ``client.open_image`` and prints the remote file's counters (and the time
  of the inspect alone, without the interpreter's start-up);
* ``sregistry list COLLECTION --runscript --json`` over N images (default
  100, distinct bytes) stored without metadata, as the real server stores
  them: cold (empty local store) and warm (the metadata cache filled).

With ``--no-range`` the server's download route ignores Range, as the real
Singularity Registry Server's does. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from inspect_speed import real_parts, write_sif  # noqa: E402

from sregistry.metadata.sif import DataType  # noqa: E402
from tests.server.pytest_plugin import RegistryServer  # noqa: E402

REAL = REPO.parent / "shared" / "fixtures" / "sif" / "real" / "busybox_amd64.sif"
SREGISTRY = str(Path(sys.executable).parent / "sregistry")

MEASURE = """
import json, sys, time
from sregistry.main.registry.client import RegistryClient
from sregistry.metadata import inspect_native
with RegistryClient(env=dict(__import__("os").environ), cache=False) as client:
    start = time.perf_counter()
    with client.open_image(sys.argv[1]) as image:
        result = inspect_native(image)
    elapsed = time.perf_counter() - start
    print(json.dumps({"requests": image.requests, "bytes": image.bytes_received,
                      "seconds": elapsed, "sections": sorted(result.attributes)}))
"""


def timed_run(
    command: list[str], env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def big_images(workdir: Path, size: int) -> dict[str, Path]:
    """A 1 GiB image with stored metadata, and a squashfs-only one (sparse holes)."""
    parts = real_parts()
    extra = struct.pack("<ii3s", 1, 2, b"02\0")
    with_metadata = workdir / "big-metadata.sif"
    write_sif(
        with_metadata,
        [
            (DataType.DEFFILE, parts["Def.FILE"], b".", b""),
            (DataType.GENERIC_JSON, parts["inspect-metadata.json"], b"inspect-metadata.json", b""),
            (DataType.GENERIC_JSON, parts["oci-config.json"], b"oci-config.json", b""),
            (DataType.GENERIC, size, b"data", b""),
            (DataType.PARTITION, parts["FS"], b"squashfs", extra),
        ],
    )
    squashfs_only = workdir / "big-squashfs.sif"
    write_sif(
        squashfs_only,
        [
            (DataType.GENERIC, size, b"data", b""),
            (DataType.PARTITION, parts["FS"], b"squashfs", extra),
        ],
    )
    return {"big-metadata": with_metadata, "big-squashfs": squashfs_only}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gib", type=float, default=1.0, help="large image size (1)")
    parser.add_argument("--images", type=int, default=100, help="images to list (100)")
    parser.add_argument("--no-range", action="store_true", help="the server ignores Range")
    args = parser.parse_args()
    size = int(args.size_gib * (1 << 30))
    with tempfile.TemporaryDirectory(prefix="sregistry-bench-") as tmp:
        workdir = Path(tmp)
        server = RegistryServer(workdir / "server", {"registry_range": not args.no_range})
        try:
            run(server, workdir, size, args.images, ranges=not args.no_range)
        finally:
            server.stop()
            server.remove_files()
        shutil.rmtree(workdir, ignore_errors=True)


def run(server: RegistryServer, workdir: Path, size: int, count: int, *, ranges: bool) -> None:
    token = server.add_user("bench")
    print(
        f"building the images ({size / (1 << 30):g} GiB each for the big ones) ...", file=sys.stderr
    )
    images = {"busybox": REAL, **big_images(workdir, size)}
    for name, path in images.items():
        server.add_image("bench", name, "v1", path, owner="bench")
    variants = workdir / "variants"
    variants.mkdir()
    body = REAL.read_bytes()
    for number in range(count):
        variant = variants / f"image{number:03d}.sif"
        variant.write_bytes(body + number.to_bytes(4, "little"))  # distinct sha256 each
        server.add_image("many", f"image{number:03d}", "latest", variant, owner="bench")
    env = {
        **os.environ,
        "SREGISTRY_CLIENT": "registry",
        "SREGISTRY_REGISTRY_BASE": server.url,
        "SREGISTRY_REGISTRY_USERNAME": "bench",
        "SREGISTRY_REGISTRY_TOKEN": token,
        "SREGISTRY_STORAGE": str(workdir / "store"),
        "PYTHONPATH": str(REPO),
    }
    host = server.url.split("://", 1)[1]
    print(f"server: reference server on loopback, Range {'honoured' if ranges else 'ignored'}\n")
    header = ("image", "size", "ranges", "all reqs", "received", "inspect s", "process s")
    print("{:14} {:>13} {:>6} {:>8} {:>10} {:>9} {:>9}".format(*header))
    for name, path in images.items():
        ref = f"bench/{name}:v1"
        server.clear_requests()
        _, measured = timed_run([sys.executable, "-c", MEASURE, ref], env)
        every = len(server.requests())
        wall, done = timed_run([SREGISTRY, "inspect", "--json", f"registry://{host}/{ref}"], env)
        if measured.returncode or done.returncode:
            last = (measured.stderr or done.stderr).strip().splitlines()[-1:]
            print(f"{name:14} failed: {last[0] if last else measured.returncode}")
            continue
        figures = json.loads(measured.stdout)
        print(
            f"{name:14} {path.stat().st_size:>13,} {figures['requests']:>6} {every:>8} "
            f"{figures['bytes'] / 1024:>8.0f} K {figures['seconds']:>9.3f} {wall:>9.3f}"
        )
    print(f"\nlist many --runscript --json over {count} images stored without metadata:")
    server.clear_requests()
    wall, done = timed_run([SREGISTRY, "list", "many", "--json"], env)
    print(f"  baseline, list many --json: {wall:.2f} s, {len(server.requests())} requests")
    for label in ("cold", "warm"):
        server.clear_requests()
        wall, done = timed_run([SREGISTRY, "list", "many", "--runscript", "--json"], env)
        items = json.loads(done.stdout) if done.returncode == 0 else []
        sources = {item["metadata_source"] for item in items}
        hits = len(server.requests())
        print(
            f"  {label}: {wall:.2f} s, {len(items)} images, sources {sorted(map(str, sources))}, "
            f"{hits} requests to the server (rc {done.returncode})"
        )


if __name__ == "__main__":
    main()
