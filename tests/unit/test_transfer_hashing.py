"""The one-pass file digests (``hash_stream``) and the part digests computed ahead
(``PartHasher``), checked against hashlib over real files of random bytes."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sregistry.transfer import SourceError
from sregistry.transfer.hashing import (
    Cancelled,
    PartHasher,
    _read_pass,
    hash_stream,
    md5_stream,
)

KiB = 1 << 10
MiB = 1 << 20


def random_file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def slices(data: bytes, size: int) -> tuple[str, ...]:
    return tuple(
        hashlib.sha256(data[at : at + size]).hexdigest() for at in range(0, len(data), size)
    )


@pytest.mark.parametrize(
    ("size", "part_size", "block_size"),
    [
        (10 * MiB + 12345, 3 * MiB, MiB),  # a trailing partial part
        (12 * MiB, 3 * MiB, MiB),  # exactly four parts
        (12 * MiB, 4 * MiB, 4 * MiB),  # parts and blocks of one size
        (5 * MiB + 7, 1536 * KiB, MiB),  # parts ending inside blocks
        (3 * MiB, 700 * KiB, 4 * MiB),  # several parts per block
        (2 * MiB, 64 * MiB, MiB),  # one part, shorter than the part size
        (1, 5, MiB),  # one byte
    ],
)
def test_one_pass_gives_every_digest(
    tmp_path: Path, size: int, part_size: int, block_size: int
) -> None:
    data = random_file(tmp_path / "image", size)
    with (tmp_path / "image").open("rb") as handle:
        found = hash_stream(handle, md5=True, part_size=part_size, block_size=block_size, buffers=3)
    assert found.size == size
    assert found.sha256 == hashlib.sha256(data).hexdigest()
    assert found.md5 == hashlib.md5(data).hexdigest()
    assert found.parts == slices(data, part_size)
    assert len(found.parts) == -(-size // part_size)


def test_only_what_is_asked_for(tmp_path: Path) -> None:
    data = random_file(tmp_path / "image", 3 * MiB + 1)
    with (tmp_path / "image").open("rb") as handle:
        found = hash_stream(handle, block_size=MiB)
    assert (found.size, found.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert found.md5 is None
    assert found.parts == ()


def test_md5_alone(tmp_path: Path) -> None:
    data = random_file(tmp_path / "image", 3 * MiB + 1)
    with (tmp_path / "image").open("rb") as handle:
        assert md5_stream(handle, block_size=MiB) == (len(data), hashlib.md5(data).hexdigest())


def test_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    with (tmp_path / "empty").open("rb") as handle:
        found = hash_stream(handle, md5=True, part_size=MiB)
    assert found.size == 0
    assert found.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert found.md5 == "d41d8cd98f00b204e9800998ecf8427e"
    assert found.parts == ()


def test_a_read_error_stops_the_pass_and_its_threads(tmp_path: Path) -> None:
    class Failing:
        def __init__(self) -> None:
            self.calls = 0

        def readinto(self, buffer: memoryview, /) -> int:
            self.calls += 1
            if self.calls > 2:
                raise OSError(5, "Input/output error")
            buffer[:] = b"x" * len(buffer)
            return len(buffer)

    before = threading.active_count()
    with pytest.raises(OSError, match="Input/output"):
        hash_stream(Failing(), md5=True, block_size=KiB, buffers=2)
    assert threading.active_count() == before


def test_a_failing_digest_is_raised_not_waited_for(tmp_path: Path) -> None:
    def broken(view: memoryview) -> None:
        raise ValueError("digest failed")

    random_file(tmp_path / "image", 64 * KiB)
    with (tmp_path / "image").open("rb") as handle, pytest.raises(ValueError, match="digest"):
        _read_pass(handle, [hashlib.sha256().update, broken], KiB, 2)


def part_ranges(size: int, part_size: int) -> list[tuple[int, int]]:
    return [(at, min(part_size, size - at)) for at in range(0, size, part_size)]


def short(done: int, end: int) -> SourceError:
    return SourceError(f"short at {done} of {end}")


@pytest.mark.parametrize("size", [9 * MiB, 9 * MiB + 5], ids=["exact", "partial"])
def test_part_digests_ahead_of_use(tmp_path: Path, size: int) -> None:
    data = random_file(tmp_path / "image", size)
    ranges = part_ranges(size, 3 * MiB)
    with PartHasher(
        lambda: (tmp_path / "image").open("rb"), ranges, short=short, block_size=MiB
    ) as hasher:
        found = [hasher.digest(index) for index in reversed(range(len(ranges)))]
    assert tuple(reversed(found)) == slices(data, 3 * MiB)


def test_a_file_shorter_than_its_parts_fails_from_that_part_on(tmp_path: Path) -> None:
    data = random_file(tmp_path / "image", 5 * MiB)
    ranges = part_ranges(8 * MiB, 2 * MiB)  # the plan of a file that has since shrunk
    with PartHasher(
        lambda: (tmp_path / "image").open("rb"), ranges, short=short, block_size=MiB
    ) as hasher:
        assert hasher.digest(1) == hashlib.sha256(data[2 * MiB : 4 * MiB]).hexdigest()
        with pytest.raises(SourceError, match=f"short at {5 * MiB} of {6 * MiB}"):
            hasher.digest(2)
        with pytest.raises(SourceError):
            hasher.digest(3)


def test_part_digests_stay_at_most_ahead_parts_in_front(tmp_path: Path) -> None:
    """The worker hashes one part beyond the last asked for, then waits."""
    image = tmp_path / "image"
    data = random_file(image, 8 * KiB)
    opened: list[int] = []

    class Counting(io.BytesIO):
        def readinto(self, buffer: Any, /) -> int:
            count = super().readinto(buffer)
            opened.append(count)
            return count

    def read_exactly(expected: int) -> None:
        deadline = time.monotonic() + 10
        while sum(opened) < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # time enough to run further, were it allowed to
        assert sum(opened) == expected

    ranges = part_ranges(8 * KiB, KiB)
    with PartHasher(lambda: Counting(data), ranges, short=short, block_size=KiB) as hasher:
        read_exactly(2 * KiB)  # part 0 and the one after it, before anything is asked
        assert hasher.digest(0) == hashlib.sha256(data[:KiB]).hexdigest()
        read_exactly(2 * KiB)
        assert hasher.digest(4) == hashlib.sha256(data[4 * KiB : 5 * KiB]).hexdigest()
        read_exactly(6 * KiB)


def test_a_closed_part_hasher_answers_no_more(tmp_path: Path) -> None:
    image = tmp_path / "image"
    random_file(image, 64 * KiB)
    hasher = PartHasher(
        lambda: image.open("rb"), part_ranges(64 * KiB, KiB), short=short, block_size=KiB
    )
    hasher.close()
    with pytest.raises(Cancelled):
        hasher.digest(63)
