"""oras:// blob pull and push throughput against a real docker-registry, next to
curl, in one run.

    python bench/oras_transfer.py                  # 256 MiB, quick
    python bench/oras_transfer.py --size 1G        # the figures of the report

Measured (each transfer in a child process; peak RSS and CPU from wait4):

* pull, ours: ``download_blob`` (GET, sha256 and size verified in the same
  pass, renamed into place);
* pull, curl: ``curl -o FILE`` of the same blob (no verification);
* pull, two passes: curl's download, then the file read again to hash it (what
  Apptainer does after copying the blob out of its OCI layout);
* push, ours: ``push_blob`` in one PUT and in PATCH chunks (``--chunk``);
* push, curl: ``curl -T FILE`` to an upload URL (``PUT ?digest=``).

Peak RSS is the child's ``VmHWM`` (curl's is not taken: ``ru_maxrss`` would
count this script's pages from before ``exec``). CPU is user + system seconds.

The registry (anonymous, plain HTTP on loopback) keeps its storage, and the
sources and targets live, on tmpfs when there is one. MB/s are 10^6 bytes per
second of the transfer (curl's start-up included, the Python child's not).
Ratios compare with curl in the same run. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import requests
from common import MiB, parse_size, write_random

REPO = Path(__file__).resolve().parent.parent
REPOSITORY = "bench/blob"


def child(args: argparse.Namespace) -> None:
    """One transfer through the protocol layer; prints ``{"seconds": ...}``."""
    sys.path.insert(0, str(REPO))
    from sregistry.main.oras.blobs import BlobSource, download_blob, push_blob
    from sregistry.main.oras.manifest import Descriptor
    from sregistry.main.oras.session import RegistrySession
    from sregistry.transfer.http import Transport

    transport = Transport(env={})
    session = RegistrySession(transport, args.host, base_url=f"http://{args.host}")
    path = Path(args.file)
    try:
        start = time.perf_counter()
        if args.op == "pull":
            descriptor = Descriptor("application/octet-stream", args.digest, args.size)
            download_blob(session, args.repository, descriptor, path, overwrite=True)
        else:
            source = BlobSource(args.digest, path.stat().st_size, path=path)
            push_blob(session, args.repository, source, chunk_size=args.chunk)
        seconds = time.perf_counter() - start
    finally:
        transport.close()
    print(json.dumps({"seconds": seconds, "hwm_kib": peak_kib()}))


def peak_kib() -> int:
    """This process's peak RSS (``VmHWM``: of its own image, unlike ``ru_maxrss``,
    which also counts the parent's pages before ``exec``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class Row:
    op: str
    how: str
    seconds: float
    rss_mib: float
    cpu: float
    size: int

    @property
    def mbps(self) -> float:
        return self.size / self.seconds / 1e6


def run_measured(argv: Sequence[str]) -> tuple[str, float, float]:
    """stdout, peak RSS (MiB) and CPU seconds of a child run to completion."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, cwd=REPO)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    _pid, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{argv[0]} ... failed ({code}): {out}")
    return out, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Blob:
    host: str
    file: Path
    digest: str
    size: int


def ours(op: str, blob: Blob, chunk: int) -> Row:
    size = blob.size
    argv = [sys.executable, __file__, "--child", op, "--host", blob.host, "--file", str(blob.file)]
    argv += ["--digest", blob.digest, "--bytes", str(size), "--chunk", str(chunk)]
    argv += ["--repository", REPOSITORY if op == "pull" else f"bench/push{time.time_ns()}"]
    out, _rss, cpu = run_measured(argv)
    answer = json.loads(out)
    how = (
        "ours"
        if op == "pull"
        else ("ours, one PUT" if chunk >= size else f"ours, {chunk // MiB} MiB chunks")
    )
    return Row(op, how, answer["seconds"], answer["hwm_kib"] / 1024, cpu, size)


def timed(argv: Sequence[str]) -> tuple[float, float, float]:
    start = time.perf_counter()
    _out, rss, cpu = run_measured(argv)
    return time.perf_counter() - start, rss, cpu


def sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(4 * MiB):
            hasher.update(block)
    return hasher.hexdigest()


def upload_url(url: str, digest: str) -> str:
    answer = requests.post(f"{url}/v2/bench/curl{time.time_ns()}/blobs/uploads/", timeout=30)
    answer.raise_for_status()
    location = requests.compat.urljoin(url + "/", answer.headers["Location"])
    return f"{location}{'&' if '?' in location else '?'}digest={digest}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("256M"))
    parser.add_argument("--chunk", type=parse_size, default=parse_size("64M"))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", choices=["pull", "push"])
    parser.add_argument("--host")
    parser.add_argument("--file")
    parser.add_argument("--digest")
    parser.add_argument("--bytes", dest="size_bytes", type=int, default=0)
    parser.add_argument("--repository", default=REPOSITORY)
    args = parser.parse_args(argv)
    if args.child:
        args.op, args.size = args.child, args.size_bytes
        child(args)
        return
    sys.path.insert(0, str(REPO))
    from tests.oras.harness.distribution import Distribution

    fast = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else None
    work = Path(tempfile.mkdtemp(prefix="oras-bench-", dir=fast))
    registry = Distribution(work / "registry", executable=shutil.which("docker-registry") or "")
    rows: list[Row] = []
    try:
        registry.start()
        source = work / "blob"
        write_random(source, args.size)
        digest = "sha256:" + sha256_file(source)
        target = work / "pulled"
        pushed = Blob(registry.host, source, digest, args.size)
        pulled = Blob(registry.host, target, digest, args.size)
        rows.append(ours("push", pushed, args.size))
        subprocess.run(  # the blob to pull, stored once
            [sys.executable, __file__, "--child", "push", "--host", registry.host, "--file",
             str(source), "--digest", digest, "--bytes", str(args.size), "--chunk",
             str(args.size), "--repository", REPOSITORY],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        blob_url = f"{registry.url}/v2/{REPOSITORY}/blobs/{digest}"
        for _ in range(args.rounds):
            rows.append(ours("pull", pulled, args.chunk))
            seconds, _rss, cpu = timed(["curl", "-sS", "-o", str(target), blob_url])
            rows.append(Row("pull", "curl -o", seconds, float("nan"), cpu, args.size))
            start = time.perf_counter()
            assert sha256_file(target) == digest.removeprefix("sha256:")
            rows.append(
                Row(
                    "pull",
                    "curl -o, then hash",
                    seconds + time.perf_counter() - start,
                    float("nan"),
                    cpu,
                    args.size,
                )
            )
            rows.append(ours("push", pushed, args.chunk))
            rows.append(ours("push", pushed, args.size))
            url = upload_url(registry.url, digest)
            seconds, _rss, cpu = timed(["curl", "-sS", "-T", str(source), "-o", os.devnull, url])
            rows.append(Row("push", "curl -T", seconds, float("nan"), cpu, args.size))
    finally:
        registry.close()
        shutil.rmtree(work, ignore_errors=True)
    report(rows[1:], args.size)


def report(rows: list[Row], size: int) -> None:
    best: dict[tuple[str, str], Row] = {}
    for row in rows:
        key = (row.op, row.how)
        if key not in best or row.seconds < best[key].seconds:
            best[key] = row
    print(f"oras:// blob transfers of {size / MiB:.0f} MiB (best of the rounds)")
    print(f"{'op':5} {'how':22} {'MB/s':>8} {'x curl':>7} {'peak RSS MiB':>13} {'CPU s':>6}")
    for (op, how), row in best.items():
        curl = best.get((op, "curl -o" if op == "pull" else "curl -T"))
        ratio = f"{curl.seconds / row.seconds:.2f}" if curl else "-"
        print(f"{op:5} {how:22} {row.mbps:8.0f} {ratio:>7} {row.rss_mib:13.1f} {row.cpu:6.2f}")


if __name__ == "__main__":
    main()
