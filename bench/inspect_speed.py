"""Benchmark: native inspect on the real image and on a 2 GiB SIF.

    .venv/bin/python bench/inspect_speed.py [--repeat N] [--size-gib G] [--sparse]

Times ``inspect_native`` through both routes (the stored inspect-metadata.json
descriptor, and the squashfs root file system) and, when ``unsquashfs`` is
installed, ``unsquashfs -o OFF -cat`` of the same files (plus ``-l`` of the
directories inspect lists), in the same run. Prints figures; asserts nothing.

The 2 GiB image: with ``mksquashfs`` installed (and without ``--sparse``), its
primary partition is a real 2 GiB squashfs: the busybox root file system plus
20 000 small files and a file of incompressible bytes, so the inode, directory
and fragment tables sit at the end of 2 GiB as in a real multi-GB image.
Otherwise (or with ``--sparse``) a sparse 2 GiB data object precedes the
real busybox squashfs, which then lies past the 2 GiB offset.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sregistry.metadata import inspect_native, read_sif
from sregistry.metadata.sif import DataType

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

REAL = REPO.parent / "shared" / "fixtures" / "sif" / "real" / "busybox_amd64.sif"
# What the squashfs route reads: these files, and listings of two directories.
FILES = [
    ".singularity.d/labels.json",
    ".singularity.d/runscript",
    ".singularity.d/test",
    ".singularity.d/runscript.help",
    ".singularity.d/Singularity",
    ".singularity.d/startscript",
    ".singularity.d/env/10-docker2singularity.sh",
    ".singularity.d/env/90-environment.sh",
]
LISTED = [".singularity.d/env", "scif/apps"]


def rchar() -> int | None:
    """Bytes this process has read through read()/pread() so far (Linux)."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def timed(func: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and minimum milliseconds per call."""
    func()  # warm the page cache and imports
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def bytes_read(func: Callable[[], object]) -> str:
    before = rchar()
    func()
    after = rchar()
    if before is None or after is None:
        return "?"
    return f"{(after - before) / 1024:.0f} KiB"


def unsquashfs_set(image: Path, offset: int) -> None:
    for name in FILES:
        subprocess.run(
            ["unsquashfs", "-o", str(offset), "-cat", str(image), name],
            capture_output=True,
            check=False,
        )
    for name in LISTED:
        subprocess.run(
            ["unsquashfs", "-o", str(offset), "-l", str(image), name],
            capture_output=True,
            check=False,
        )


def _descriptor(ident: int, obj: tuple[int, bytes, bytes], offset: int, size: int) -> bytes:
    data_type, name, extra = obj
    times = (1700000000, 1700000000, 0, 0)
    group = 1 | 0xF0000000
    return struct.pack(
        "<i?IIIqqqqqqq128s384s",
        data_type,
        True,
        ident,
        group,
        0,
        offset,
        size,
        size,
        *times,
        name,
        extra,
    )


def write_sif(path: Path, objects: list[tuple[int, bytes | Path | int, bytes, bytes]]) -> None:
    """A SIF from (type, bytes | file to copy | hole size, name, extra) objects."""
    data_offset = 32176
    position = data_offset
    layout = []
    for data_type, payload, _, _ in objects:
        if data_type == DataType.PARTITION:
            position = -(-position // 4096) * 4096
        size = (
            payload
            if isinstance(payload, int)
            else payload.stat().st_size
            if isinstance(payload, Path)
            else len(payload)
        )
        layout.append((position, size))
        position += size
    header = struct.pack(
        "<32s10s3s3s16sqqqqqqqq",
        b"#!/usr/bin/env run-singularity\n",
        b"SIF_MAGIC\0",
        b"01\0",
        b"02\0",
        bytes(16),
        1700000000,
        1700000000,
        48 - len(objects),
        48,
        4096,
        48 * 585,
        data_offset,
        position - data_offset,
    )
    with open(path, "wb") as out:
        out.write(header.ljust(4096, b"\0"))
        for index, ((data_type, _, name, extra), (offset, size)) in enumerate(
            zip(objects, layout, strict=True)
        ):
            out.write(_descriptor(index + 1, (data_type, name, extra), offset, size))
        out.truncate(position)
        for (_, payload, _, _), (offset, _) in zip(objects, layout, strict=True):
            if isinstance(payload, int):
                continue  # a hole
            out.seek(offset)
            if isinstance(payload, Path):
                with open(payload, "rb") as source:
                    shutil.copyfileobj(source, out, 8 << 20)
            else:
                out.write(payload)


def real_parts() -> dict[str, bytes]:
    sif = read_sif(REAL)
    return {
        (d.name if d.name.endswith(".json") else d.type_name): sif.read_object(d, limit=1 << 30)
        for d in sif.descriptors
        if d.data_type != DataType.SIGNATURE
    }


def build_squashfs(workdir: Path, fs_bytes: bytes, target: int) -> Path:
    """A real squashfs of ``target`` bytes: busybox's rootfs plus bulk and many small files."""
    image = workdir / "busybox.sqfs"
    image.write_bytes(fs_bytes)
    root = workdir / "root"
    subprocess.run(["unsquashfs", "-q", "-n", "-d", str(root), str(image)], check=True)
    small = root / "usr" / "share" / "bench"
    small.mkdir(parents=True)
    for index in range(20000):
        (small / f"file{index:05d}.txt").write_text(f"small file {index}\n" * (index % 7 + 1))
    with open(root / "usr" / "share" / "bulk.bin", "wb") as bulk:
        remaining = target
        while remaining > 0:
            chunk = os.urandom(min(remaining, 16 << 20))
            bulk.write(chunk)
            remaining -= len(chunk)
    output = workdir / "big.sqfs"
    subprocess.run(
        [
            "mksquashfs",
            str(root),
            str(output),
            "-noappend",
            "-comp",
            "gzip",
            "-noD",
            "-quiet",
            "-no-progress",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(root)
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per case (default 50)")
    parser.add_argument("--size-gib", type=float, default=2.0, help="large image size (default 2)")
    parser.add_argument("--sparse", action="store_true", help="sparse padding, no mksquashfs")
    args = parser.parse_args()
    have_unsquashfs = shutil.which("unsquashfs") is not None
    real_mksquashfs = shutil.which("mksquashfs") is not None and have_unsquashfs and not args.sparse
    parts = real_parts()
    target = int(args.size_gib * (1 << 30))
    extra = struct.pack("<ii3s", 1, 2, b"02\0")

    with tempfile.TemporaryDirectory(prefix="sregistry-bench-") as tmp:
        workdir = Path(tmp)
        big = workdir / "big.sif"
        if real_mksquashfs:
            print(f"building a {args.size_gib:g} GiB squashfs with mksquashfs ...", file=sys.stderr)
            partition: bytes | Path = build_squashfs(workdir, parts["FS"], target)
            padding = 0
        else:
            partition = parts["FS"]
            padding = target
        head: list[tuple[int, bytes | Path | int, bytes, bytes]] = [
            (DataType.DEFFILE, parts["Def.FILE"], b".", b""),
            (DataType.GENERIC_JSON, parts["inspect-metadata.json"], b"inspect-metadata.json", b""),
            (DataType.GENERIC_JSON, parts["oci-config.json"], b"oci-config.json", b""),
        ]
        if padding:
            head.append((DataType.GENERIC, padding, b"padding", b""))
        write_sif(big, [*head, (DataType.PARTITION, partition, b"squashfs", extra)])
        if isinstance(partition, Path):
            partition.unlink()
        big_kind = "real squashfs" if real_mksquashfs else "sparse padding + busybox squashfs"

        print(f"native inspect, {args.repeat} runs each: median [min] ms per inspect\n")
        print(f"{'image':44} {'route':11} {'ms/inspect':>16}  {'read/inspect':>12}")
        cases = [
            (f"busybox_amd64.sif ({REAL.stat().st_size:,} B)", REAL),
            (f"big.sif ({big.stat().st_size / (1 << 30):.2f} GiB, {big_kind})", big),
        ]
        for name, path in cases:
            label = name
            for route, from_rootfs in (("descriptor", False), ("squashfs", True)):

                def run(path: Path = path, from_rootfs: bool = from_rootfs) -> object:
                    return inspect_native(path, from_rootfs=from_rootfs)

                assert inspect_native(path, from_rootfs=from_rootfs).labels  # real metadata
                median, best = timed(run, args.repeat)
                print(f"{label:44} {route:11} {median:9.2f} [{best:5.2f}]  {bytes_read(run):>12}")
                label = ""

        command = Path(sys.executable).parent / "sregistry"
        if command.exists():
            argv = [str(command), "inspect", "--native", "--json", str(big)]
            median, best = timed(lambda: subprocess.run(argv, capture_output=True, check=True), 5)
            print(
                f"\n`sregistry inspect --native --json big.sif` (a whole process): "
                f"{median:.0f} [{best:.0f}] ms"
            )

        print()
        if not have_unsquashfs:
            print("unsquashfs -o OFF -cat: not installed (apt-get install squashfs-tools)")
            return
        version = subprocess.run(
            ["unsquashfs", "-version"], capture_output=True, text=True, check=False
        )
        first = (version.stdout or version.stderr).splitlines()[0]
        calls = len(FILES) + len(LISTED)
        print(
            f"{first}: -cat of the same {len(FILES)} files + -l of {len(LISTED)} directories "
            f"({calls} processes)"
        )
        repeat = max(3, args.repeat // 10)
        for label, path in cases:
            primary = read_sif(path).primary_partition
            assert primary is not None
            median, best = timed(partial(unsquashfs_set, path, primary.offset), repeat)
            native, _ = timed(partial(inspect_native, path, from_rootfs=True), repeat)
            print(
                f"  {label:44} {median:9.2f} [{best:5.2f}] ms   "
                f"(native squashfs route: {native:.2f} ms, {median / native:.0f}x faster)"
            )


if __name__ == "__main__":
    main()
