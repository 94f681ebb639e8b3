"""library:// push and pull against the reference server: small and multi-part images,
by tag and by hash, retried and aborted parts, and what crossed the wire."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sregistry.errors import DestinationExists, NotFound, PermissionDenied, TransferError
from sregistry.main.library.push import push_image
from sregistry.main.library.refs import parse_library_ref
from tests.e2e.library.conftest import Library, MiB, two_tags

pytestmark = pytest.mark.e2e

REF = "library://alice/demo/hello"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".incomplete"))


def test_small_image_push_then_pull_by_tag_and_by_hash(
    library: Library, make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    image = make_sif(3 * MiB)
    digest = sha256(image)
    with library.client() as client:
        pushed = client.push(image, f"{REF}:{two_tags(library)}")
        assert pushed.sha256 == digest
        assert pushed.version == f"sha256.{digest}"
        assert pushed.created_collection is True

        out = tmp_path / "out"
        out.mkdir()
        latest = [] if library.server.quirks.one_tag_per_image else [REF]
        for ref in (f"{REF}:v1", *latest, f"{REF}:sha256.{digest}"):
            pulled = client.pull(ref, out, force=True)
            assert pulled.sha256 == digest
            assert pulled.version == f"sha256.{digest}"
            assert sha256(pulled.path) == digest
        assert leftovers(out) == []

    # the Go client's v2 single-part upload, and v2 tags carrying the arch
    assert [e["status"] for e in library.requests(r"^/v2/imagefile/\d+$", "POST")] == [200]
    (put,) = library.requests(r"^/_upload/", "PUT")
    assert "Authorization" not in put["headers"]
    assert put["headers"]["Content-Type"] == "application/octet-stream"
    if library.server.quirks.no_v2_tags:  # sregistry 2.1.2 says alpha.1: v1 tags
        tag_posts = library.requests(r"^/v1/tags/", "POST")
        assert library.requests(r"^/v2/tags/") == []
    else:
        tag_posts = library.requests(r"^/v2/tags/", "POST")
    assert [e["status"] for e in tag_posts] == [200] * len(two_tags(library).split(","))
    for entry in library.requests(r"^/v1/|^/v2/|^/version"):
        assert entry["headers"].get("Authorization") == f"Bearer {library.token}"
    row = library.server.container("demo", "hello", "v1")
    assert row is not None
    assert row["arch"] == "amd64"
    assert row["version"] == f"sha256.{digest}"


def test_multipart_push_in_parallel_and_ranged_pull(
    make_library: Callable[..., Library], make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    library = make_library(part_size=8 * MiB)
    image = make_sif(70 * MiB)
    digest = sha256(image)
    seen: list[tuple[int, int | None]] = []
    with library.client(connections=4, part_size=4 * MiB) as client:
        client.push(image, f"{REF}:big", progress=lambda done, total: seen.append((done, total)))
        pulled = client.pull(f"{REF}:big", tmp_path / "big.sif")
    assert sha256(pulled.path) == digest
    assert seen[-1] == (70 * MiB, 70 * MiB)

    parts = library.requests(r"^/_part/", "PUT")
    assert sorted(int(e["path"].rsplit("/", 1)[1]) for e in parts) == list(range(1, 10))
    for entry in parts:
        assert "Authorization" not in entry["headers"]
        assert len(entry["headers"]["X-Amz-Content-Sha256"]) == 64
    (complete,) = library.requests(r"_multipart_complete$", "PUT")
    assert complete["status"] == 200

    blob = library.requests(r"^/_blob/", "GET")
    assert len(blob) == 70 // 4 + 1  # 4 MiB parts, the first one asked for by the probe
    assert all(e["status"] == 206 for e in blob)
    assert all("Authorization" not in e["headers"] for e in blob)  # the 303 target gets none


def test_the_automatic_connection_count_pushes_and_pulls_every_part(
    make_library: Callable[..., Library], make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    """No connection count given: parts go over one connection, then more while the
    throughput grows; every part arrives once and the file verifies."""
    library = make_library(part_size=8 * MiB)
    image = make_sif(70 * MiB)
    with library.client(part_size=2 * MiB) as client:
        assert client.connections is None
        client.push(image, f"{REF}:auto")
        pulled = client.pull(f"{REF}:auto", tmp_path / "auto.sif")
    assert sha256(pulled.path) == sha256(image)
    parts = library.requests(r"^/_part/", "PUT")
    assert sorted(int(e["path"].rsplit("/", 1)[1]) for e in parts) == list(range(1, 10))
    blob = library.requests(r"^/_blob/", "GET")
    assert len(blob) == 35
    assert all(e["status"] == 206 for e in blob)


class CountingOpener:
    """Opens files for the push and counts the bytes read through them (an
    injected opener: what the push reads, without patching it)."""

    def __init__(self, on_close: Callable[[int], None] | None = None) -> None:
        self.read = 0
        self.opened = 0
        self.closed = 0
        self.on_close = on_close
        opener = self

        class Counting(io.BufferedReader):
            def read(self, size: int | None = -1, /) -> bytes:
                block = super().read(size)
                opener.read += len(block)
                return block

            def readinto(self, buffer: Any, /) -> int:
                count = super().readinto(buffer)
                opener.read += count
                return count

            def close(self) -> None:
                if not self.closed:
                    opener.closed += 1
                    if opener.on_close is not None:
                        opener.on_close(opener.closed)
                super().close()

        self.kind = Counting

    def __call__(self, path: Path) -> io.BufferedIOBase:
        self.opened += 1
        return self.kind(io.FileIO(path))


def push_counted(
    library: Library, image: Path, ref: str, opener: CountingOpener, connections: int = 2
) -> None:
    with library.client() as client:
        push_image(
            client.endpoint(),
            image,
            parse_library_ref(ref),
            arch="amd64",
            connections=connections,
            opener=opener,
        )


@pytest.mark.parametrize(
    ("flags", "size", "reads"),
    [
        ({}, 3 * MiB, 2),  # v2 single-part: the hash pass (SHA-256 and MD5), the upload
        ({"api_version": None}, 3 * MiB, 2),  # legacy v1
        ({"part_size": 128 * MiB}, 70 * MiB, 2),  # one part: the file's digest is the part's
        ({"part_size": 24 * MiB}, 70 * MiB, 3),  # + the part digests, computed ahead
        ({"multipart": False}, 70 * MiB, 3),  # + MD5, once the server declines multipart
    ],
    ids=["single-part", "legacy-v1", "one-part", "multipart", "no-multipart"],
)
def test_a_push_reads_the_file_once_to_hash_it_and_once_to_send_it(
    make_library: Callable[..., Library],
    make_sif: Callable[[int], Path],
    flags: dict[str, Any],
    size: int,
    reads: int,
) -> None:
    library = make_library(**flags)
    image = make_sif(size)
    opener = CountingOpener()
    push_counted(library, image, f"{REF}:counted", opener)
    assert opener.read == reads * size
    assert opener.closed == opener.opened
    row = library.server.container("demo", "hello", "counted")
    assert row is not None
    assert row["version"] == f"sha256.{sha256(image)}"
    parts = library.requests(r"^/_part/", "PUT")
    for part in parts:
        number = int(part["path"].rsplit("/", 1)[1])
        offset = (number - 1) * 24 * MiB
        with image.open("rb") as handle:
            handle.seek(offset)
            expected = hashlib.sha256(handle.read(24 * MiB)).hexdigest()
        if size <= 24 * MiB or flags.get("part_size") != 24 * MiB:
            expected = sha256(image)
        assert part["headers"]["X-Amz-Content-Sha256"] == expected


@pytest.mark.parametrize("size", [3 * MiB, 70 * MiB], ids=["single-part", "multipart"])
def test_an_image_changed_after_hashing_is_not_uploaded(
    make_library: Callable[..., Library], make_sif: Callable[[int], Path], size: int
) -> None:
    """Same size, other bytes, between the hash pass and the upload: stopped before
    the first byte is sent, with the hint to leave the image alone."""
    library = make_library(part_size=24 * MiB)
    image = make_sif(size)

    def rewrite(closed: int) -> None:
        if closed == 1:  # the hash pass is over
            with image.open("r+b") as handle:
                handle.seek(-4, os.SEEK_END)
                handle.write(b"edit")
            stat = image.stat()
            os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    opener = CountingOpener(on_close=rewrite)
    with pytest.raises(TransferError, match="changed after it was hashed") as info:
        push_counted(library, image, REF, opener)
    assert "do not change or move the image" in (info.value.hint or "")
    assert opener.opened == 1
    assert library.requests(r"^/_upload/|^/_part/|^/v1/imagefile/|/_multipart") == []


def test_a_part_failing_once_is_retried(
    make_library: Callable[..., Library], make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    library = make_library(part_size=24 * MiB)
    image = make_sif(70 * MiB)
    library.server.inject_fault("PUT", r"^/_part/[^/]+/2$", status=500)
    library.server.inject_fault("PUT", r"^/_part/[^/]+/3$", cut_after=MiB)
    with library.client(connections=3) as client:
        client.push(image, REF)
        pulled = client.pull(REF, tmp_path / "x.sif")
    assert sha256(pulled.path) == sha256(image)
    numbers = [int(e["path"].rsplit("/", 1)[1]) for e in library.requests(r"^/_part/", "PUT")]
    # part 2 answered 500 once; part 3's first connection was dropped
    assert sorted(numbers) == [1, 2, 2, 3, 3]
    assert library.server.pending_faults() == 0


def test_an_aborted_multipart_push_leaves_no_image_behind(
    make_library: Callable[..., Library], make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    library = make_library(part_size=24 * MiB)
    small = make_sif(MiB)
    with library.client() as client:
        client.push(small, f"{REF}:keep")
        library.server.inject_fault("PUT", r"^/_part/[^/]+/2$", status=403, times=10)
        with pytest.raises(PermissionDenied, match="upload part 2"):
            client.push(make_sif(70 * MiB), f"{REF}:new")
        (abort,) = library.requests(r"_multipart_abort$", "PUT")
        assert abort["status"] == 200
        assert library.requests(r"_multipart_complete$") == []
        with pytest.raises(NotFound):
            client.pull(f"{REF}:new", tmp_path / "new.sif")
        names = {(image.name, image.tag) for image in client.search(REF)}
        assert names == {("hello", "keep")}
    uploaded = [row for row in library.server.containers("demo") if row["uploaded"]]
    assert [row["tag"] for row in uploaded] == ["keep"]
    assert leftovers(tmp_path) == []


def test_a_download_cut_off_resumes_its_part(
    library: Library, make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    image = make_sif(20 * MiB)
    with library.client(part_size=2 * MiB, connections=4) as client:
        client.push(image, REF)
        library.server.inject_fault("GET", r"^/_blob/", cut_after=MiB + 17, times=2)
        pulled = client.pull(REF, tmp_path / "x.sif")
    assert sha256(pulled.path) == sha256(image)
    spans = [
        tuple(int(n) for n in e["headers"]["Range"].removeprefix("bytes=").split("-"))
        for e in library.requests(r"^/_blob/", "GET")
    ]
    assert len(spans) == 10 + 2  # ten 2 MiB parts, two of them asked for again
    resumed = [(start, end) for start, end in spans if start % (2 * MiB)]
    assert len(resumed) == 2
    for start, end in resumed:  # from the part's first missing byte to its own end
        assert 0 < start % (2 * MiB) <= MiB + 17
        assert (end + 1) % (2 * MiB) == 0


def test_pull_refuses_to_overwrite_and_leaves_the_file(
    library: Library, make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    image = make_sif(MiB)
    target = tmp_path / "x.sif"
    target.write_bytes(b"precious")
    with library.client() as client:
        client.push(image, REF)
        with pytest.raises(DestinationExists):
            client.pull(REF, target)
        assert target.read_bytes() == b"precious"
        assert library.requests(r"^/v1/imagefile/") == []
        client.pull(REF, target, force=True)
    assert sha256(target) == sha256(image)


def test_pull_of_a_missing_tag_or_arch_is_not_found(
    library: Library, make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    with library.client() as client:
        client.push(make_sif(MiB), REF)
        with pytest.raises(NotFound, match="does not exist"):
            client.pull(f"{REF}:nope", tmp_path)
    with library.client(arch="arm64") as client, pytest.raises(NotFound, match="arm64"):
        client.pull(REF, tmp_path)


class Interrupted(Exception):
    """Stands for Ctrl-C in the middle of a download."""


def _interrupted_pull(library: Library, target: Path, after: int) -> None:
    def stop(done: int, total: int | None) -> None:
        if done >= after:
            raise Interrupted

    with library.client(part_size=2 * MiB, connections=2) as client, pytest.raises(Interrupted):
        client.pull(REF, target, progress=stop)


def _requested(library: Library) -> int:
    total = 0
    for entry in library.requests(r"^/_blob/", "GET"):
        start, end = entry["headers"]["Range"].removeprefix("bytes=").split("-")
        total += int(end) - int(start) + 1
    return total


def test_an_interrupted_pull_resumes_where_it_stopped(
    library: Library, make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    image = make_sif(20 * MiB)
    digest = sha256(image)
    target = tmp_path / "x.sif"
    with library.client() as client:
        client.push(image, REF)
    _interrupted_pull(library, target, 9 * MiB)
    assert not target.exists()
    kept = tmp_path / f"x.sif.{digest[:16]}.incomplete"
    journal = json.loads(kept.with_name(kept.name + ".json").read_text())
    assert journal["sha256"] == digest
    assert journal["size"] == 20 * MiB
    on_disk = sum(end - start for start, end in journal["spans"])
    assert on_disk >= 8 * MiB

    library.server.clear_requests()
    with library.client(part_size=2 * MiB, connections=2) as client:
        pulled = client.pull(REF, target)
    assert pulled.resumed_from == on_disk
    assert sha256(target) == digest
    assert _requested(library) == 20 * MiB - on_disk + 1  # + a one-byte probe
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("x.sif")) == ["x.sif"]


def test_a_resumed_file_that_does_not_verify_is_fetched_again(
    library: Library, make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    image = make_sif(20 * MiB)
    target = tmp_path / "x.sif"
    with library.client() as client:
        client.push(image, REF)
    _interrupted_pull(library, target, 9 * MiB)
    (kept,) = [p for p in tmp_path.iterdir() if p.name.endswith(".incomplete")]
    with kept.open("r+b") as handle:  # damage bytes the journal says are there
        handle.seek(100)
        handle.write(b"damaged")
    library.server.clear_requests()
    with library.client(part_size=2 * MiB, connections=2) as client:
        pulled = client.pull(REF, target)
    assert sha256(target) == sha256(image)
    assert pulled.resumed_from == 0
    assert _requested(library) > 20 * MiB  # the missing parts, then everything again
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("size", [3 * MiB, 70 * MiB], ids=["single-part", "multipart"])
def test_an_image_that_shrinks_while_pushed_stops_the_push(
    make_library: Callable[..., Library], make_sif: Callable[[int], Path], size: int
) -> None:
    library = make_library(part_size=24 * MiB)
    image = make_sif(size)

    def shrink(done: int, total: int | None) -> None:
        if done >= MiB:
            with image.open("r+b") as handle:
                handle.truncate(MiB)

    with library.client(connections=1) as client, pytest.raises(TransferError) as info:
        client.push(image, REF, progress=shrink)
    assert "do not change or move the image" in (info.value.hint or "")
    assert library.requests(r"^/v2/tags/", "POST") == []
    assert [row for row in library.server.containers("demo") if row["uploaded"]] == []
    if size > 64 * MiB:
        assert len(library.requests(r"_multipart_abort$", "PUT")) == 1
