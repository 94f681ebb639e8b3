"""Downloads over real loopback HTTP: verification, resume, restart, atomicity, cleanup."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from sregistry.errors import DestinationExists, IntegrityError, NotFound, TransferError
from sregistry.transfer import Download, Downloaded, Expected, Transport, download, place
from sregistry.transfer.hashing import InlineHasher, ThreadedHasher
from tests.unit.local_http import Handler, Request, Serve

DATA = bytes(range(256)) * 12_000  # ~3 MiB: several blocks
SHA256 = hashlib.sha256(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()


def fetch(transport: Transport, url: str, target: Path, **options: Any) -> Downloaded:
    """One :func:`download` of ``url`` to ``target`` with ``options`` as the job's fields."""
    return download(transport, Download(url=url, target=target, **options))


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".incomplete"))


def plain(request: Request) -> None:
    request.send(200, DATA, {"Content-Type": "application/img"})


def ranged(cuts: list[int]) -> Handler:
    """Honours Range; cuts the connection after each offset in ``cuts`` (consumed)."""

    def handler(request: Request) -> None:
        start = 0
        match = re.match(r"bytes=(\d+)-$", request.header("Range") or "")
        if match:
            start = int(match.group(1))
        body = DATA[start:]
        headers = {}
        status = 200
        if match:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"
        cut = cuts.pop(0) - start if cuts else None
        request.send(status, body, headers, cut_after=cut)

    return handler


@pytest.mark.network
def test_download_verified_and_placed(serve: Serve, transport: Transport, tmp_path: Path) -> None:
    server = serve(plain)
    seen: list[tuple[int, int | None]] = []
    target = tmp_path / "image.sif"
    result = fetch(
        transport,
        server.url + "/f",
        target,
        expected=Expected(size=len(DATA), sha256=SHA256),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert target.read_bytes() == DATA
    assert result.digests.sha256 == SHA256
    assert result.size == len(DATA)
    assert (result.resumed_from, result.restarts) == (0, 0)
    assert seen[-1] == (len(DATA), len(DATA))
    assert leftovers(tmp_path) == []
    assert server.requests[0].headers["Accept-Encoding"] == "identity"


@pytest.mark.network
@pytest.mark.parametrize("threaded", [True, False])
def test_md5_checked_when_asked(
    serve: Serve, transport: Transport, tmp_path: Path, threaded: bool
) -> None:
    server = serve(plain)
    result = fetch(
        transport,
        server.url + "/f",
        tmp_path / "x",
        expected=Expected(md5=MD5),
        threaded_hash=threaded,
    )
    assert result.digests.md5 == MD5
    assert result.digests.sha256 == SHA256


@pytest.mark.network
@pytest.mark.parametrize(
    ("expected", "message"),
    [
        (Expected(sha256="0" * 64), "sha256"),
        (Expected(md5="0" * 32), "md5"),
        (Expected(size=5), "bytes, expected 5"),
    ],
)
def test_mismatch_keeps_the_old_file(
    serve: Serve, transport: Transport, tmp_path: Path, expected: Expected, message: str
) -> None:
    server = serve(plain)
    target = tmp_path / "image.sif"
    target.write_bytes(b"precious")
    with pytest.raises(IntegrityError, match=message):
        fetch(transport, server.url + "/f", target, expected=expected, overwrite=True)
    assert target.read_bytes() == b"precious"
    assert leftovers(tmp_path) == []


def test_existing_file_is_refused_before_any_request(
    serve: Serve, transport: Transport, tmp_path: Path
) -> None:
    server = serve(plain)
    target = tmp_path / "image.sif"
    target.write_bytes(b"precious")
    with pytest.raises(DestinationExists, match="exists") as caught:
        fetch(transport, server.url + "/f", target)
    assert "force=True" in (caught.value.hint or "")
    assert server.requests == []
    assert target.read_bytes() == b"precious"


@pytest.mark.network
def test_overwrite_replaces(serve: Serve, transport: Transport, tmp_path: Path) -> None:
    server = serve(plain)
    target = tmp_path / "image.sif"
    target.write_bytes(b"old")
    fetch(transport, server.url + "/f", target, overwrite=True)
    assert target.read_bytes() == DATA


@pytest.mark.network
def test_resume_with_range_after_a_cut(serve: Serve, transport: Transport, tmp_path: Path) -> None:
    # every byte that arrived before a cut is kept
    server = serve(ranged([1_500_000, 2_600_000]))
    target = tmp_path / "image.sif"
    result = fetch(transport, server.url + "/f", target, expected=Expected(sha256=SHA256))
    assert target.read_bytes() == DATA
    assert [r.headers.get("Range") for r in server.requests] == [
        None,
        "bytes=1500000-",
        "bytes=2600000-",
    ]
    assert result.resumed_from == 2_600_000
    assert result.restarts == 0


@pytest.mark.network
def test_restart_from_zero_when_range_is_ignored(
    serve: Serve, transport: Transport, tmp_path: Path
) -> None:
    cuts = [1_500_000]

    def ignores_range(request: Request) -> None:
        request.send(200, DATA, cut_after=cuts.pop(0) if cuts else None)

    server = serve(ignores_range)
    target = tmp_path / "image.sif"
    result = fetch(transport, server.url + "/f", target, expected=Expected(sha256=SHA256))
    assert target.read_bytes() == DATA  # not the first 1.5 MB twice
    assert result.restarts == 1
    assert result.resumed_from == 0
    assert server.requests[1].headers.get("Range") == "bytes=1500000-"


@pytest.mark.network
def test_wrong_content_range_restarts(serve: Serve, transport: Transport, tmp_path: Path) -> None:
    answers = iter(["cut", "lie", "full"])

    def handler(request: Request) -> None:
        answer = next(answers)
        if answer == "cut":
            request.send(200, DATA, cut_after=1_500_000)
        elif answer == "lie":
            request.send(206, DATA[10:], {"Content-Range": f"bytes 10-{len(DATA) - 1}/{len(DATA)}"})
        else:
            request.send(200, DATA)

    server = serve(handler)
    result = fetch(transport, server.url + "/f", tmp_path / "x", expected=Expected(sha256=SHA256))
    assert (tmp_path / "x").read_bytes() == DATA
    assert result.restarts == 1
    assert server.requests[2].headers.get("Range") is None


@pytest.mark.network
def test_gives_up_after_bounded_attempts(
    serve: Serve, transport: Transport, tmp_path: Path
) -> None:
    server = serve(lambda request: request.send(200, DATA, cut_after=100))
    with pytest.raises(TransferError, match="after 5 tries"):
        fetch(transport, server.url + "/f", tmp_path / "x", attempts=5)
    assert len(server.requests) == 5
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "x").exists()


@pytest.mark.network
def test_interrupt_removes_the_temporary_file(
    serve: Serve, transport: Transport, tmp_path: Path
) -> None:
    server = serve(plain)

    def interrupt(done: int, total: int | None) -> None:
        if done > 1_000_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(transport, server.url + "/f", tmp_path / "x", progress=interrupt)
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "x").exists()


@pytest.mark.network
def test_error_status_goes_through_check(
    serve: Serve, transport: Transport, tmp_path: Path
) -> None:
    server = serve(lambda request: request.send(404, b'{"detail": "Not found."}'))
    with pytest.raises(NotFound):
        fetch(transport, server.url + "/f", tmp_path / "x")

    class Refused(Exception):
        pass

    def check(response: requests.Response) -> None:
        if response.status_code == 404:
            raise Refused(response.text)

    with pytest.raises(Refused, match="Not found"):
        fetch(transport, server.url + "/f", tmp_path / "x", check=check)
    assert leftovers(tmp_path) == []


def test_missing_directory_is_not_found(transport: Transport, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        fetch(transport, "http://127.0.0.1:9/", tmp_path / "no" / "x")


@pytest.mark.network
def test_temporary_file_sits_beside_the_target(
    serve: Serve, transport: Transport, tmp_path: Path
) -> None:
    names: list[str] = []

    def look(done: int, total: int | None) -> None:
        names.extend(leftovers(tmp_path))

    server = serve(plain)
    fetch(transport, server.url + "/f", tmp_path / "image.sif", progress=look)
    assert names
    assert all(re.fullmatch(r"image\.sif\.[0-9a-f]{8}\.incomplete", name) for name in names)


def test_place_never_clobbers_without_overwrite(tmp_path: Path) -> None:
    source = tmp_path / "new"
    source.write_bytes(b"new")
    target = tmp_path / "target"
    target.write_bytes(b"old")
    with pytest.raises(DestinationExists):
        place(source, target, overwrite=False)
    assert target.read_bytes() == b"old"
    assert source.exists()
    place(source, target, overwrite=True)
    assert target.read_bytes() == b"new"
    assert not source.exists()


@pytest.mark.parametrize("hasher_type", [InlineHasher, ThreadedHasher])
def test_hashers_agree_and_reset(hasher_type: type[InlineHasher] | type[ThreadedHasher]) -> None:
    hasher = hasher_type(md5=True)
    hasher.update(b"garbage")
    hasher.reset()
    for block in (DATA[:1000], DATA[1000:]):
        hasher.update(block)
    digests = hasher.result()
    assert (digests.sha256, digests.md5) == (SHA256, MD5)
    hasher.close()


_FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from sregistry.errors import TransferError
from sregistry.transfer import Download, Transport, download
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
try:
    download(Transport(), Download(url=sys.argv[1], target=Path(sys.argv[2])))
except TransferError as exc:
    print(exc.message, "|", exc.hint)
"""


@pytest.mark.network  # the server is in this process, the client a subprocess
def test_a_full_disk_is_reported_and_cleaned_up(serve: Serve, tmp_path: Path) -> None:
    import subprocess
    import sys

    server = serve(plain)
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, server.url + "/f", str(tmp_path / "x.sif")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "cannot write" in done.stdout
    assert "free some space" in done.stdout
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "x.sif").exists()


def test_a_directory_in_the_way_is_a_transfer_error(tmp_path: Path) -> None:
    source = tmp_path / "new"
    source.write_bytes(b"new")
    target = tmp_path / "target"
    (target / "inside").mkdir(parents=True)
    with pytest.raises(TransferError, match="cannot move the download"):
        place(source, target, overwrite=True)
    assert source.exists()
