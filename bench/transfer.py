"""Benchmark: registry push and pull with sregistry, next to curl (and sregistry-cli 0.2.39).

    .venv/bin/python bench/transfer.py [--sizes 256M,2G] [--repeat 3] [--dir DIR]
                                       [--legacy PATH | --no-legacy] [--no-hash-modes]

Starts the reference server (``tests/server``) on loopback and, for each size,
in the same run and interleaved (so machine load hits every tool alike):

* **push**: ``sregistry push FILE --name ... --no-metadata`` (the whole command:
  start-up, both signed requests, the streamed upload, the manifest check),
  next to ``curl -F`` sending the identical multipart upload to ``/upload``
  (step 1 and the signature are made by this script, untimed);
* **pull**: ``sregistry pull NAME -o FILE --force --no-cache`` (manifest, download with
  sha256 verification, rename), next to ``curl -o FILE`` of the same download
  URL (no verification) and ``curl -o FILE`` followed by ``openssl dgst -sha256``
  (coreutils ``sha256sum`` hashes at a quarter of OpenSSL's speed here);
* the same with sregistry-cli 0.2.39 when its registry backend can run:
  ``--legacy`` names its ``sregistry`` script (default: the venv that
  ``tests/reference_server/test_legacy_client.py`` installs, else
  ``/tmp/legacy/bin/sregistry``; it needs the registry extra:
  ``python3 -m venv V && V/bin/pip install 'sregistry[registry]==0.2.39'``).

Before every timed command the page cache is settled (``bench/settle.py``:
``sync``, then the pages of the source and output files are evicted, never the
whole machine's page cache; ``--no-drop-caches`` keeps them), and the server's
data and the push source live in ``--server-dir`` (default ``/dev/shm``), so no
tool pays for the writes of the one before.

Each figure is the median of ``--repeat`` runs: wall time, throughput (MiB/s),
the ratio to curl's time (higher is better; the targets are >= 0.8 for push and
for pull with verification) and the peak RSS of the client process (measured
through a small launcher, see ``tests/e2e/measure.py``). With
``--hash-modes``, the library's pull and push are also timed in-process with
hashing in a worker thread and inline. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from common import parse_size, write_random  # noqa: E402
from settle import default_fast_dir, settle  # noqa: E402

from sregistry.main.registry.auth import authorization_header  # noqa: E402
from sregistry.main.registry.client import RegistryClient  # noqa: E402
from tests.e2e.measure import Measured, run_measured  # noqa: E402
from tests.server.pytest_plugin import RegistryServer  # noqa: E402

MiB = 1 << 20
USER = "bench"
LEGACY_CANDIDATES = (
    # where tests/reference_server/test_legacy_client.py installs it (with its registry extra)
    REPO / ".pytest_cache" / "d" / "legacy-sregistry-0.2.39" / "venv" / "bin" / "sregistry",
    Path("/tmp/legacy/bin/sregistry"),
)


def label(size: int) -> str:
    return f"{size >> 30} GiB" if size >= 1 << 30 and size % (1 << 30) == 0 else f"{size >> 20} MiB"


@dataclass
class Row:
    size: int
    operation: str
    tool: str
    runs: list[Measured] = field(default_factory=list)
    note: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def rss(self) -> int:
        return max(run.peak_rss for run in self.runs)


@dataclass
class Bench:
    server: RegistryServer
    token: str
    scratch: Path
    legacy: str | None
    repeat: int
    source_dir: Path
    drop_caches: bool = True
    rows: list[Row] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SREGISTRY_REGISTRY_BASE": self.server.url,
            "SREGISTRY_REGISTRY_USERNAME": USER,
            "SREGISTRY_REGISTRY_TOKEN": self.token,
            "SREGISTRY_CLIENT_SECRETS": str(self.scratch / "no-secrets.json"),
        }

    def legacy_env(self) -> dict[str, str]:
        home = self.scratch / "legacy-home"
        home.mkdir(exist_ok=True)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "SREGISTRY_CLIENT": "registry",
            "SREGISTRY_REGISTRY_BASE": self.server.url,
            "SREGISTRY_REGISTRY_USERNAME": USER,
            "SREGISTRY_REGISTRY_TOKEN": self.token,
            "SREGISTRY_CLIENT_SECRETS": str(self.scratch / "legacy-secrets.json"),
            "SREGISTRY_DISABLE": "1",
            "SREGISTRY_TMPDIR": str(self.scratch),
        }

    def row(self, size: int, operation: str, tool: str) -> Row:
        for row in self.rows:
            if (row.size, row.operation, row.tool) == (size, operation, tool):
                return row
        row = Row(size, operation, tool)
        self.rows.append(row)
        return row

    def record(self, size: int, operation: str, tool: str, run: Measured) -> None:
        if run.returncode != 0:
            raise RuntimeError(
                f"{tool} {operation} failed ({run.returncode}):\n{run.stderr[-2000:]}"
            )
        self.row(size, operation, tool).runs.append(run)

    # -- push ---------------------------------------------------------------------
    def push_sregistry(self, path: Path, name: str) -> Measured:
        sregistry = str(Path(sys.executable).parent / "sregistry")
        args = [sregistry, "push", str(path), "--name", name, "--no-metadata", "--allow-non-sif"]
        return run_measured(args, env=self.env())

    def push_curl(self, path: Path, collection: str, name: str, tag: str) -> Measured:
        start = requests.post(
            f"{self.server.url}/api/upload/chunked_upload",
            json={"collection": collection, "name": name, "tag": tag},
            headers={
                "Authorization": authorization_header(
                    "push", USER, self.token, collection, name, tag
                )
            },
            timeout=60,
        )
        start.raise_for_status()
        cid = start.json()["cid"]
        header = authorization_header("upload", USER, self.token, collection, name, tag)
        args = [
            "curl", "-sS", "--fail", "-o", "/dev/null", "-H", f"Authorization: {header}",
            "-F", f"SREGISTRY_EVENT={header}", "-F", f"name={name}", "-F", f"collection={cid}",
            "-F", f"tag={tag}", "-F", "metadata={}",
            "-F", f"file1=@{path};filename={name}:{tag}.sif;type=application/octet-stream",
            f"{self.server.url}/upload",
        ]  # fmt: skip
        return run_measured(args)

    def push_legacy(self, path: Path, name: str) -> Measured:
        assert self.legacy is not None
        return run_measured([self.legacy, "push", "--name", name, str(path)], env=self.legacy_env())

    # -- pull ---------------------------------------------------------------------
    def image_url(self, name: str) -> str:
        collection, rest = name.split("/", 1)
        image, tag = rest.split(":", 1)
        manifest = requests.get(
            f"{self.server.url}/api/container/{collection}/{image}:{tag}", timeout=60
        )
        manifest.raise_for_status()
        return str(manifest.json()["image"])

    def pull_sregistry(self, name: str, target: Path) -> Measured:
        sregistry = str(Path(sys.executable).parent / "sregistry")
        args = [sregistry, "pull", name, "-o", str(target), "--force", "--no-cache"]
        return run_measured(args, env=self.env())

    def pull_curl(self, url: str, target: Path) -> Measured:
        return run_measured(["curl", "-sS", "--fail", "-o", str(target), url])

    def pull_curl_sha256(self, url: str, target: Path) -> Measured:
        script = f'curl -sS --fail -o "{target}" "{url}" && openssl dgst -sha256 "{target}"'
        return run_measured(["sh", "-c", script])

    def pull_legacy(self, name: str, directory: Path) -> Measured:
        assert self.legacy is not None
        directory.mkdir(exist_ok=True)
        env = self.legacy_env()
        launcher_env = {**env, "PWD": str(directory)}
        return run_measured(
            ["sh", "-c", f'cd "{directory}" && exec "{self.legacy}" pull {name}'],
            env=launcher_env,
        )

    # -- one size -----------------------------------------------------------------
    def run_size(self, size: int) -> None:
        """``repeat`` rounds; each round starts with another tool (no tool always follows the
        same one) and every timed command starts after ``sync`` (no tool pays for another's
        dirty pages)."""
        source = self.source_dir / f"source-{size}.sif"
        write_random(source, size)
        base = f"bench/s{size >> 20}m"
        out = self.scratch / "pulled.sif"
        legacy_dir = self.scratch / "legacy-pull"

        def legacy_pull() -> Measured:
            run = self.pull_legacy(f"{base}:legacy", legacy_dir)
            (pulled,) = legacy_dir.iterdir()
            take(pulled, size)
            shutil.rmtree(legacy_dir)
            return run

        def pulled(run: Measured) -> Measured:
            take(out, size)
            return run

        for attempt in range(self.repeat):
            # A tag of its own each round: a push of bytes the tag already holds
            # uploads nothing ("already there"), which would time no transfer.
            tag = f"r{attempt}"
            pushes: list[tuple[str, Callable[[], Measured]]] = [
                ("curl", lambda: self.push_curl(source, "bench", base.split("/")[1], "curl")),
                ("sregistry", partial(self.push_sregistry, source, f"{base}:sregistry-{tag}")),
            ]
            if self.legacy:
                pushes.append(
                    (
                        "sregistry-cli 0.2.39",
                        partial(self.push_legacy, source, f"{base}:legacy-{tag}"),
                    )
                )
            print(f"  {label(size)}: round {attempt + 1}/{self.repeat}", file=sys.stderr)
            for tool, action in rotate(pushes, attempt):
                settle([source, out] if self.drop_caches else [])
                self.record(size, "push", tool, action())
        url = self.image_url(f"{base}:curl")  # the same for every round
        for attempt in range(self.repeat):
            pulls: list[tuple[str, Callable[[], Measured]]] = [
                ("curl", lambda: pulled(self.pull_curl(url, out))),
                ("curl + openssl sha256", lambda: pulled(self.pull_curl_sha256(url, out))),
                ("sregistry", lambda: pulled(self.pull_sregistry(f"{base}:curl", out))),
            ]
            if self.legacy:
                pulls.append(("sregistry-cli 0.2.39", legacy_pull))
            for tool, action in rotate(pulls, attempt):
                settle([source, out] if self.drop_caches else [])
                self.record(size, "pull", tool, action())
        source.unlink()

    def hash_modes(self, size: int) -> list[tuple[str, float, float]]:
        """In-process library push and pull with the hash in a worker thread and inline."""
        source = self.scratch / "hash-modes.sif"
        write_random(source, size)
        results: dict[str, dict[str, list[float]]] = {}
        for _ in range(self.repeat):
            for threaded in (True, False):
                mode = "worker thread" if threaded else "inline"
                timings = results.setdefault(mode, {"push": [], "pull": []})
                with RegistryClient(
                    base=self.server.url,
                    username=USER,
                    token=self.token,
                    env={},
                    hash_in_thread=threaded,
                    cache=False,
                ) as client:
                    timings["push"].append(
                        timed(partial(client.push, source, "bench/hash:modes", inspect=False))
                    )
                    target = self.scratch / "hash-modes-pulled.sif"
                    timings["pull"].append(
                        timed(partial(client.pull, "bench/hash:modes", target, force=True))
                    )
                    target.unlink()
        source.unlink()
        return [
            (
                mode,
                size / statistics.median(t["push"]) / MiB,
                size / statistics.median(t["pull"]) / MiB,
            )
            for mode, t in results.items()
        ]


def rotate(
    items: list[tuple[str, Callable[[], Measured]]], by: int
) -> list[tuple[str, Callable[[], Measured]]]:
    """``items`` starting at position ``by`` (modulo its length)."""
    shift = by % len(items)
    return items[shift:] + items[:shift]


def take(path: Path, size: int) -> None:
    """Check a pulled file is complete, then remove it."""
    got = path.stat().st_size
    path.unlink()
    if got != size:
        raise RuntimeError(f"{path} has {got} bytes, expected {size}")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def find_legacy(path: str | None) -> tuple[str | None, str]:
    """The given legacy script, or the first usable candidate; else why none is."""
    if path is not None:
        return legacy_usable(path)
    reasons = []
    for candidate in LEGACY_CANDIDATES:
        found, why = legacy_usable(str(candidate))
        if found:
            return found, ""
        reasons.append(why)
    return None, "; ".join(reasons)


def legacy_usable(path: str) -> tuple[str | None, str]:
    """The legacy script when its registry backend imports, else why not."""
    script = Path(path)
    if not script.exists():
        return None, f"{path} not found"
    python = script.parent / "python"
    check = subprocess.run(
        [str(python), "-c", "import sregistry.main.registry"],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        reason = (check.stderr.strip().splitlines() or ["import failed"])[-1]
        return None, f"{path}: its registry backend does not load ({reason})"
    return path, ""


def print_table(bench: Bench) -> None:
    curl = {(row.size, row.operation): row.seconds for row in bench.rows if row.tool == "curl"}
    header = (
        f"{'size':>8}  {'op':4}  {'tool':22} {'median s':>9} {'MiB/s':>8} {'vs curl':>8} "
        f"{'peak RSS':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in bench.rows:
        ratio = curl[(row.size, row.operation)] / row.seconds
        print(
            f"{label(row.size):>8}  {row.operation:4}  {row.tool:22} {row.seconds:9.2f} "
            f"{row.size / row.seconds / MiB:8.0f} {ratio:7.2f}x {row.rss / 1e6:7.1f} MB"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="256M,2G", help="comma-separated sizes (256M,2G)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory (default /tmp)")
    parser.add_argument(
        "--legacy",
        default=None,
        help="sregistry-cli 0.2.39 script (default: the venv the legacy e2e tests install, "
        "else /tmp/legacy/bin/sregistry)",
    )
    parser.add_argument("--no-legacy", action="store_true", help="skip sregistry-cli 0.2.39")
    parser.add_argument(
        "--server-dir",
        type=Path,
        default=None,
        help="where the server keeps its data and the push source lives (default /dev/shm)",
    )
    parser.add_argument(
        "--no-drop-caches",
        action="store_true",
        help="only sync before each timed command (keep the files' pages cached)",
    )
    parser.add_argument(
        "--hash-modes", action="store_true", help="also time worker-thread vs inline hashing"
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if shutil.which("curl") is None:
        print("curl is required", file=sys.stderr)
        return 2
    sizes = [parse_size(item) for item in args.sizes.split(",") if item.strip()]
    legacy, why = (None, "not requested") if args.no_legacy else find_legacy(args.legacy)
    scratch = Path(tempfile.mkdtemp(prefix="sregistry-bench-", dir=args.dir))
    fast = Path(
        tempfile.mkdtemp(prefix="sregistry-bench-", dir=args.server_dir or default_fast_dir())
    )
    server = RegistryServer(fast / "server", {})
    drop = not args.no_drop_caches
    try:
        bench = Bench(server, server.add_user(USER), scratch, legacy, args.repeat, fast, drop)
        print(
            f"reference server {server.url}, data in {fast}; outputs in {scratch}; "
            f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}; curl {curl_version()}; "
            f"the files' pages {'evicted' if drop else 'kept'} before each timed command",
            file=sys.stderr,
        )
        for size in sizes:
            bench.run_size(size)
        modes = bench.hash_modes(min(sizes)) if args.hash_modes else []
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(fast, ignore_errors=True)
    print(
        f"\nTransfer benchmark ({args.repeat} runs each, median; load now {os.getloadavg()[0]:.2f})"
    )
    print_table(bench)
    if not legacy:
        print(f"\nsregistry-cli 0.2.39: skipped ({why})")
    if modes:
        print(f"\nHashing while transferring {label(min(sizes))}, library in-process (MiB/s):")
        for mode, push, pull in modes:
            print(f"  {mode:14} push {push:6.0f}   pull {pull:6.0f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "size": row.size,
                        "operation": row.operation,
                        "tool": row.tool,
                        "seconds": [run.seconds for run in row.runs],
                        "peak_rss": row.rss,
                    }
                    for row in bench.rows
                ],
                indent=2,
            )
        )
    return 0


def curl_version() -> str:
    done = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.split()[1] if done.stdout else "?"


if __name__ == "__main__":
    sys.exit(main())
