"""library:// pull and push throughput against the reference server, next to curl
and to the registry backend, all in one run.

    python bench/library_transfer.py                    # 256 MiB, quick
    python bench/library_transfer.py --size 2G          # the figures in the report
    python bench/library_transfer.py --size 2G --connections 1,4 --no-registry
    python bench/library_transfer.py --size 512M --connections auto,1,4 --push-only
    sudo python bench/library_transfer.py --size 1G --netns 50ms,1gbit --pull-only

What is measured (each transfer a whole process, start-up included, as a user
runs it: the ``sregistry`` command or curl; its peak RSS and CPU time through
GNU ``time`` or a small launcher, see ``tests/e2e/measure.py``):

* pull, library backend, with the count it chooses (auto) and 1, 2, 4, 8
  connections: GET /v1/images, the 303,
  ranged parts written in place, sha256 verified, renamed into place;
* pull, curl: ``curl -o FILE <303 target>`` (no verification);
* push, library backend: hashing pass + multipart upload (server part size
  ``--server-part-size``) with 1, 2, 4, 8 connections; "single" is the v2
  single-part PUT of a server started with ``--no-multipart``;
* push, curl: ``curl -T FILE <presigned upload URL>`` for a prepared image;
* registry backend (HMAC /api): pull and push of the same size;
* the transport alone (``download_ranged`` on the 303 target) with the
  largest connection count, hashing in order while parts arrive or in one
  read-back pass after the last part.

``--netns RTT,RATE`` runs the clients and the servers in two network
namespaces of their own, joined by a veth pair with that round-trip time and
rate (``tc netem``; where the kernel lacks netem, the rate alone with ``tbf``,
and the output says so): what parallel connections buy on a real link.

MB/s are 10^6 bytes per second of the whole process, for sregistry and curl
alike. Each figure is the median of ``--repeat`` runs (RSS: the largest).
Ratios compare with curl in the same run. Before each run the pages of the
files involved are evicted (``bench/settle.py``), never the whole machine's
page cache. Nothing is asserted: figures vary with the machine and its load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import parse_size, write_random
from settle import default_fast_dir, settle

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.e2e.measure import Measured, run_measured  # noqa: E402

SREGISTRY = str(Path(sys.executable).parent / "sregistry")
AUTO = 0
"""A connection count left to the command (it adds connections while they help)."""


def label(connections: int) -> str:
    return "sregistry auto" if connections == AUTO else f"sregistry x{connections}"


USER = "alice"
MiB = 1 << 20


# -- child: one transfer, timed -------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    """The transport alone (``--child ranged``), run as its own process."""
    sys.path.insert(0, str(REPO))
    ranged(args)


def ranged(args: argparse.Namespace) -> None:
    """The transport alone on the redirect target: hash in order, or after the last part."""
    from sregistry.transfer import Download, Expected, Transport
    from sregistry.transfer.ranged import Ranges, download_ranged

    transport = Transport(env={})
    try:
        job = Download(
            url=args.ref, target=Path(args.file), expected=Expected(sha256=args.sha), overwrite=True
        )
        ranges = Ranges(
            connections=args.connections,
            part_size=args.part_size,
            threshold=2 * args.part_size,
            hash_after=args.hash_after,
        )
        download_ranged(transport, job, ranges)
    finally:
        transport.close()


# -- parent -------------------------------------------------------------------------------


@dataclass
class Row:
    op: str
    how: str
    runs: list[Measured]
    size: int

    @property
    def seconds(self) -> float:
        """Median wall time of the whole process."""
        return statistics.median(run.seconds for run in self.runs)

    @property
    def cpu(self) -> float:
        """Median user + system CPU seconds of the process (start-up included)."""
        return statistics.median(run.cpu for run in self.runs)

    @property
    def rss_mib(self) -> float:
        """The largest peak RSS of the process itself (not this script's)."""
        return max(run.peak_rss for run in self.runs) / MiB

    @property
    def mbps(self) -> float:
        return self.size / self.seconds / 1e6


def run_checked(argv: Sequence[str], *, env: dict[str, str] | None = None) -> Measured:
    """Run a whole process: its wall time, peak RSS and CPU time; it must succeed."""
    run = run_measured(list(argv), env=env)
    if run.returncode != 0:
        raise RuntimeError(f"{argv[0]} ... failed ({run.returncode}): {run.stderr[-2000:]}")
    return run


class Server:
    """A reference server subprocess (in the server's network namespace in ``--netns`` mode)."""

    def __init__(self, data: Path, token: str, *flags: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.log = (data / "server.log").open("ab")
        where: list[str] = []
        namespace = os.environ.get(SERVER_NETNS_ENV)
        if namespace:
            where = ["ip", "netns", "exec", namespace]
            flags = ("--host", SERVER_ADDRESS, *flags)
        self.process = subprocess.Popen(
            [*where, sys.executable, "-m", "tests.server", "--data", str(data), "--port", "0",
             "--user", f"{USER}:{token}", "--get-limit", "0", *flags],
            stdout=subprocess.PIPE, stderr=self.log, cwd=REPO, env=env,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().decode().strip()
        if not self.url.startswith("http"):
            raise RuntimeError(f"the reference server did not start; see {data}/server.log")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


# -- a real link: two network namespaces and a veth pair -------------------------------------

SERVER_NETNS_ENV = "SREGISTRY_BENCH_SERVER_NETNS"
CLIENT_ADDRESS = "10.231.0.1"
SERVER_ADDRESS = "10.231.0.2"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _shape(namespace: str, device: str, delay_ms: float, rate: str) -> str:
    """Delay and rate on one end of the link: netem where the kernel has it, else
    only the rate (tbf); says which."""
    netem = ["tc", "qdisc", "add", "dev", device, "root", "netem", "delay", f"{delay_ms}ms"]
    tried = subprocess.run(
        ["ip", "netns", "exec", namespace, *netem, "rate", rate],
        check=False,
        capture_output=True,
        text=True,
    )
    if tried.returncode == 0:
        return f"netem delay {delay_ms} ms, rate {rate}"
    tbf = ["tc", "qdisc", "add", "dev", device, "root", "tbf", "rate", rate]
    subprocess.run(
        ["ip", "netns", "exec", namespace, *tbf, "burst", "1mb", "latency", "100ms"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return f"no netem in this kernel ({tried.stderr.strip()}): rate {rate} only, no delay"


def in_namespaces(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run this benchmark again with its clients in one new network namespace and its
    servers in another, joined by a veth pair shaped to ``--netns RTT,RATE``; both
    namespaces are removed afterwards. Needs root (``ip netns``)."""
    rtt_text, _, rate = args.netns.partition(",")
    delay_ms = float(rtt_text.lower().removesuffix("ms")) / 2
    rate = rate or "1gbit"
    tag = f"sregistry-bench-{os.getpid()}"
    client, server_ns = f"{tag}-client", f"{tag}-server"
    try:
        _ip("netns", "add", client)
        _ip("netns", "add", server_ns)
        _ip("link", "add", "sbench-c", "netns", client, "type", "veth",
            "peer", "name", "sbench-s", "netns", server_ns)  # fmt: skip
        for namespace, device, address in (
            (client, "sbench-c", CLIENT_ADDRESS),
            (server_ns, "sbench-s", SERVER_ADDRESS),
        ):
            _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", device)
            _ip("-n", namespace, "link", "set", device, "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
        shaped = {
            _shape(client, "sbench-c", delay_ms, rate),
            _shape(server_ns, "sbench-s", delay_ms, rate),
        }
        print(f"network namespaces {client} / {server_ns}: {'; '.join(sorted(shaped))}")
        inner = [arg for arg in argv if not arg.startswith("--netns=")]
        if "--netns" in inner:
            index = inner.index("--netns")
            inner = [*inner[:index], *inner[index + 2 :]]
        done = subprocess.run(
            ["ip", "netns", "exec", client, sys.executable, __file__, *inner],
            env=dict(os.environ, **{SERVER_NETNS_ENV: server_ns}),
            check=False,
        )
        return done.returncode
    finally:
        for namespace in (client, server_ns):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)


def vary(path: Path, number: int) -> None:
    """Change the last 8 bytes so each push sends bytes the server has not seen."""
    with path.open("r+b") as handle:
        handle.seek(-8, os.SEEK_END)
        handle.write(number.to_bytes(8, "big"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


def sregistry_env(
    work: Path, server: Server, token: str, connections: int, part_size: int
) -> dict[str, str]:
    """The command's settings for ``server``; no secrets file, keyring or store of the user's."""
    env = {
        **os.environ,
        "HOME": str(work / "home"),
        "SREGISTRY_CLIENT_SECRETS": str(work / "no-secrets.json"),
        "SREGISTRY_STORAGE": str(work / "store"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "SREGISTRY_LIBRARY_BASE": server.url,
        "SREGISTRY_LIBRARY_TOKEN": token,
        "SREGISTRY_LIBRARY_CONNECTIONS": str(connections),
        "SREGISTRY_LIBRARY_PART_SIZE": str(part_size),
        "SREGISTRY_REGISTRY_BASE": server.url,
        "SREGISTRY_REGISTRY_USERNAME": USER,
        "SREGISTRY_REGISTRY_TOKEN": token,
    }
    if connections == AUTO:
        del env["SREGISTRY_LIBRARY_CONNECTIONS"]  # the command chooses
    return env


def ours(
    op: str,
    server: Server,
    *,
    work: Path,
    token: str,
    file: Path,
    ref: str,
    connections: int,
    part_size: int,
    extra: Sequence[str] = (),
) -> Measured:
    """One ``sregistry`` command (or, for ``ranged``, the transport alone) as a whole process."""
    env = sregistry_env(work, server, token, connections, part_size)
    if op == "ranged":
        argv = [
            sys.executable, __file__, "--child", op, "--file", str(file), "--ref", ref,
            "--connections-one", str(connections), "--part-size", str(part_size), *extra,
        ]  # fmt: skip
    elif op.endswith("push"):
        argv = [SREGISTRY, "push", str(file), "--name", ref, "--allow-non-sif"]
    else:
        argv = [SREGISTRY, "pull", ref, "-o", str(file), "--force", "--no-cache"]
    if op == "registry-push":  # random bytes: no SIF header to read metadata or the arch from
        argv.append("--no-metadata")
    elif op in {"push", "pull"}:
        argv += ["--arch", "amd64"]
    return run_checked(argv, env=env)


def curl(*args: str) -> Measured:
    return run_checked(["curl", "-sS", "-f", *args])


def _api(token: str) -> Any:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def redirect_target(server: Server, token: str, ref: str) -> str:
    answer = _api(token).get(
        f"{server.url}/v1/imagefile/{ref}?arch=amd64", allow_redirects=False, timeout=60
    )
    if answer.status_code not in {302, 303}:
        raise RuntimeError(f"no redirect for {ref}: HTTP {answer.status_code}")
    return str(answer.headers["Location"])


def presigned_upload(server: Server, token: str, digest: str) -> str:
    """A holder image for ``digest`` in alice/bench/curl and its upload URL."""
    session = _api(token)
    entity = session.get(f"{server.url}/v1/entities/{USER}", timeout=60).json()["data"]["id"]
    made = session.post(
        f"{server.url}/v1/collections",
        data=json.dumps({"entity": entity, "name": "bench"}),
        timeout=60,
    )
    if made.status_code != 200 and "exists already" not in made.text:
        made.raise_for_status()
    holder = session.get(
        f"{server.url}/v1/images/{USER}/bench/curl:sha256.{digest}?arch=amd64", timeout=60
    )
    holder.raise_for_status()
    image_id = holder.json()["data"]["id"]
    started = session.post(f"{server.url}/v2/imagefile/{image_id}", data=b"{}", timeout=60)
    started.raise_for_status()
    return str(started.json()["data"]["uploadURL"])


@contextmanager
def workdir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    path = Path(tempfile.mkdtemp(prefix="sregistry-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def server(work: Path, token: str, *flags: str) -> Iterator[Server]:
    """A fresh reference server whose data is deleted afterwards (pushes fill disks)."""
    data = Path(tempfile.mkdtemp(prefix="sregistry-bench-server-", dir=work))
    started = Server(data, token, *flags)
    try:
        yield started
    finally:
        started.stop()
        shutil.rmtree(data, ignore_errors=True)


class Bench:
    """One run: the image, every measurement so far (medians are reported)."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.server_dir = args.server_dir or default_fast_dir() or work
        self.token = secrets.token_hex(20)
        self.image = work / "image.sif"
        self.target = work / "pulled.sif"
        self.variant = 0
        self.rows: dict[tuple[str, str], Row] = {}
        write_random(self.image, args.size)

    def record(self, op: str, how: str, run: Measured) -> None:
        row = self.rows.setdefault((op, how), Row(op, how, [], self.args.size))
        row.runs.append(run)

    def fresh_bytes(self) -> None:
        self.variant += 1
        vary(self.image, self.variant)

    def measure(
        self, op: str, at: Server, how: str, *, file: Path, ref: str, connections: int = 1,
        extra: Sequence[str] = (),
    ) -> None:  # fmt: skip
        """One whole-process transfer, recorded as ``how`` under push or pull."""
        run = ours(
            op, at, work=self.work, token=self.token, file=file, ref=ref,
            connections=connections, part_size=self.args.part_size, extra=extra,
        )  # fmt: skip
        self.record("push" if op.endswith("push") else "pull", how, run)

    def push_jobs(self) -> list[Callable[[], None]]:
        """One job per push measurement, each on a fresh server with bytes it has not seen."""
        multipart = ("--part-size", str(self.args.server_part_size))
        ref = f"library://{USER}/bench/img"

        def library(connections: int | None) -> Callable[[], None]:
            def job() -> None:
                self.fresh_bytes()
                flags = multipart if connections is not None else ("--no-multipart",)
                how = label(connections) if connections is not None else "sregistry single-part"
                with server(self.server_dir, self.token, *flags) as at:
                    self.measure(
                        "push",
                        at,
                        how,
                        file=self.image,
                        ref=ref,
                        connections=1 if connections is None else connections,
                    )

            return job

        def with_curl() -> None:
            self.fresh_bytes()
            with server(self.server_dir, self.token, *multipart) as at:
                upload = presigned_upload(at, self.token, sha256_of(self.image))
                self.record(
                    "push", "curl -T", curl("-o", os.devnull, "-T", str(self.image), upload)
                )

        def registry() -> None:
            self.fresh_bytes()
            with server(self.server_dir, self.token) as at:
                self.measure(
                    "registry-push", at, "registry backend", file=self.image,
                    ref="bench/reg:latest",
                )  # fmt: skip

        jobs = [library(c) for c in self.args.connections] + [library(None), with_curl]
        return jobs if self.args.no_registry else [*jobs, registry]

    def pull_jobs(self, at: Server, digest: str) -> list[Callable[[], None]]:
        """One job per pull measurement, all from the image already on ``at``."""
        ref = f"library://{USER}/bench/img"
        location = redirect_target(at, self.token, f"{USER}/bench/img:latest")
        best = max(*self.args.connections, 1)

        def library(connections: int) -> Callable[[], None]:
            return lambda: self.measure(
                "pull", at, label(connections), file=self.target, ref=ref,
                connections=connections,
            )  # fmt: skip

        def transport(mode: tuple[str, ...], label: str) -> Callable[[], None]:
            return lambda: self.measure(
                "ranged", at, f"transport x{best} {label}", file=self.target, ref=location,
                connections=best, extra=("--sha", digest, *mode),
            )  # fmt: skip

        def with_curl() -> None:
            self.record("pull", "curl -o", curl("-o", str(self.target), location))

        jobs = [library(c) for c in self.args.connections]
        jobs += [with_curl, transport((), "hash in order")]
        jobs += [transport(("--hash-after",), "hash after")]
        if not self.args.no_registry:
            jobs.append(self.registry_pull(at))
        return jobs

    def registry_pull(self, at: Server) -> Callable[[], None]:
        return lambda: self.measure(
            "registry-pull", at, "registry backend", file=self.target, ref="bench/reg:latest"
        )

    def run_jobs(self, jobs: list[Callable[[], None]], round_number: int) -> None:
        """Run the jobs starting at a different one each round, after a sync each time,
        so that no tool regularly pays for another's dirty pages or warm caches."""
        shift = round_number % len(jobs)
        for job in jobs[shift:] + jobs[:shift]:
            settle([self.image, self.target])
            job()
            self.target.unlink(missing_ok=True)

    def run(self) -> list[Row]:
        if self.args.push_only:
            jobs = self.push_jobs()
            for number in range(self.args.repeat):
                self.run_jobs(jobs, number)
            return list(self.rows.values())
        with server(self.server_dir, self.token) as at:
            self.fresh_bytes()
            digest = sha256_of(self.image)
            ours("push", at, work=self.work, token=self.token, file=self.image,
                 ref=f"library://{USER}/bench/img", connections=4,
                 part_size=self.args.part_size)  # fmt: skip
            if not self.args.no_registry:
                ours("registry-push", at, work=self.work, token=self.token, file=self.image,
                     ref="bench/reg:latest", connections=1,
                     part_size=self.args.part_size)  # fmt: skip
            jobs = self.pull_jobs(at, digest)
            for number in range(self.args.repeat):
                self.run_jobs(jobs, number)
        if not self.args.pull_only:
            jobs = self.push_jobs()
            for number in range(self.args.repeat):
                self.run_jobs(jobs, number)
        return list(self.rows.values())


def bench(args: argparse.Namespace) -> list[Row]:
    with workdir(args.dir) as work:
        return Bench(args, work).run()


def report(rows: list[Row], args: argparse.Namespace) -> None:
    curl_rate = {row.op: row.mbps for row in rows if row.how.startswith("curl")}
    print(
        f"size {args.size / MiB:.0f} MiB, client part size {args.part_size / MiB:.0f} MiB, "
        f"server part size {args.server_part_size / MiB:.0f} MiB, median of {args.repeat}, "
        f"server data in {args.server_dir or default_fast_dir() or 'the work directory'}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'op':5} {'how':28} {'seconds':>8} {'MB/s':>8} {'x curl':>7} {'CPU s':>6} {'RSS MiB':>8}"
    )
    for row in sorted(rows, key=lambda r: (r.op != "pull", r.how)):
        ratio = row.mbps / curl_rate[row.op] if row.op in curl_rate else float("nan")
        print(
            f"{row.op:5} {row.how:28} {row.seconds:8.2f} {row.mbps:8.0f} {ratio:7.2f} "
            f"{row.cpu:6.1f} {row.rss_mib:8.0f}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=256 * MiB, help="image size (256M)")
    parser.add_argument(
        "--connections",
        type=lambda text: [AUTO if n == "auto" else int(n) for n in text.split(",")],
        default=[AUTO, 1, 2, 4, 8],
        help="connection counts to try; auto: the command chooses (auto,1,2,4,8)",
    )
    parser.add_argument("--part-size", type=parse_size, default=32 * MiB, help="pull part size")
    parser.add_argument(
        "--server-part-size", type=parse_size, default=64 * MiB, help="multipart part size"
    )
    parser.add_argument("--no-registry", action="store_true", help="skip the registry backend")
    parser.add_argument("--pull-only", action="store_true", help="measure pulls only")
    parser.add_argument("--push-only", action="store_true", help="measure pushes only")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each measurement; the median is shown"
    )
    parser.add_argument("--dir", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument(
        "--netns",
        metavar="RTT,RATE",
        help="clients and servers in two new network namespaces joined by a veth pair "
        "with this round-trip time and rate (e.g. 50ms,1gbit; netem where the kernel has "
        "it, else the rate only); needs root",
    )
    parser.add_argument(
        "--server-dir",
        type=Path,
        help="where the servers keep their data (default /dev/shm, which takes the "
        "server's disk writes out of the figures; else the work directory)",
    )
    # child mode
    parser.add_argument("--child", dest="op", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ref", help=argparse.SUPPRESS)
    parser.add_argument("--connections-one", dest="connections_one", type=int, default=1,
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--sha", help=argparse.SUPPRESS)
    parser.add_argument("--hash-after", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.netns:
        raise SystemExit(in_namespaces(args, sys.argv[1:] if argv is None else argv))
    if args.op:
        args.connections = args.connections_one
        child(args)
        return
    if shutil.which("curl") is None:
        parser.error("curl is needed for the comparison")
    report(bench(args), args)


if __name__ == "__main__":
    main()
