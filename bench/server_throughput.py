"""Reference server throughput on loopback, measured with curl, next to cp/cat baselines.

    .venv/bin/python bench/server_throughput.py [--size MIB] [--keep]

Writes a SIZE MiB file (default 256), starts ``python -m tests.server`` on a free
port and times with curl: the registry push upload (multipart ``/upload``), the
library single-part PUT (the presigned-style ``/_upload`` URL), the registry
download route and the library ``/_blob`` download (whole, and as 4 parallel
Range requests as Apptainer does). Baselines: ``cp`` of the file and ``cat`` of
it to /dev/null (both from the page cache). Prints MB/s and the ratio to ``cp``.
Nothing is asserted: the figures go into notes, not into tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MiB = 1024 * 1024
TOKEN = "0123456789abcdef0123456789abcdef01234567"


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return done.stdout


def make_file(path: Path, size: int) -> str:
    block, digest = os.urandom(MiB), hashlib.sha256()
    with path.open("wb") as handle:
        for number in range(size // MiB):
            chunk = number.to_bytes(4, "big") + block[4:]
            handle.write(chunk)
            digest.update(chunk)
    return "sha256." + digest.hexdigest()


def start_server(data: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.server", "--data", str(data), "--user", f"bench:{TOKEN}"],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def curl(*args: str) -> str:
    return run("curl", "-sS", "--fail-with-body", "-o", "/dev/null", "-w", "%{http_code}", *args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="file size in MiB (default 256)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        print("curl is not installed", file=sys.stderr)
        return 1

    import requests

    from sregistry.main.registry.auth import authorization_header

    work = Path(tempfile.mkdtemp(prefix="server-bench-"))
    size = args.size * MiB
    image = work / "image.sif"
    digest = make_file(image, size)
    results: list[tuple[str, float]] = []
    results.append(("cp (baseline)", timed(lambda: shutil.copyfile(image, work / "copy.sif"))))
    (work / "copy.sif").unlink()
    results.append(
        ("cat > /dev/null (baseline)", timed(lambda: run("sh", "-c", f"cat '{image}' > /dev/null")))
    )

    process, url = start_server(work / "data")
    try:
        # registry push: step 1 with requests, step 2 (the bytes) with curl -F
        def sign(kind: str) -> str:
            return authorization_header(kind, "bench", TOKEN, "bench", "image", "latest")

        cid = requests.post(
            f"{url}/api/upload/chunked_upload",
            json={"collection": "bench", "name": "image", "tag": "latest"},
            headers={"Authorization": sign("push")},
            timeout=60,
        ).json()["cid"]
        event = sign("upload")
        form = [
            "-H", f"Authorization: {event}", "-F", f"SREGISTRY_EVENT={event}", "-F", "name=image",
            "-F", f"collection={cid}", "-F", "tag=latest", "-F", f"file1=@{image};type=text/plain",
        ]  # fmt: skip
        results.append(
            ("registry push (curl -F /upload)", timed(lambda: curl(*form, f"{url}/upload")))
        )

        # library single part: holder + upload URL with requests, the PUT with curl -T
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        session.post(
            f"{url}/v1/collections", data=json.dumps({"entity": 1, "name": "lib"}), timeout=60
        )
        holder = session.get(f"{url}/v1/images/bench/lib/image:{digest}?arch=amd64", timeout=60)
        image_id = holder.json()["data"]["id"]
        upload_url = session.post(f"{url}/v2/imagefile/{image_id}", data="{}", timeout=60).json()[
            "data"
        ]["uploadURL"]
        results.append(
            ("library PUT (curl -T /_upload)", timed(lambda: curl("-T", str(image), upload_url)))
        )

        manifest = requests.get(f"{url}/api/container/bench/image:latest", timeout=60).json()
        results.append(("registry download (curl)", timed(lambda: curl(manifest["image"]))))
        blob = requests.get(
            f"{url}/v1/imagefile/bench/image:latest", allow_redirects=False, timeout=60
        ).headers["Location"]
        results.append(("library /_blob download (curl)", timed(lambda: curl(blob))))

        quarter = size // 4
        ranges = [f"{n * quarter}-{(n + 1) * quarter - 1}" for n in range(4)]

        def parallel() -> None:
            workers = [
                subprocess.Popen(["curl", "-sS", "-o", "/dev/null", "-r", span, blob])
                for span in ranges
            ]
            assert all(worker.wait() == 0 for worker in workers)

        results.append(("library /_blob, 4 Range GETs (curl -r)", timed(parallel)))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    baseline = results[0][1]
    print(f"{args.size} MiB on loopback ({os.cpu_count()} CPUs); MB = 10^6 bytes")
    print(f"{'operation':42} {'seconds':>8} {'MB/s':>8} {'time vs cp':>11}")
    for name, seconds in results:
        print(f"{name:42} {seconds:8.2f} {size / seconds / 1e6:8.0f} {seconds / baseline:10.1f}x")
    if args.keep:
        print(f"kept {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
