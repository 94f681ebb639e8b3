"""The in-order hash of a file written in parts: blocks in order are hashed as they
arrive, only bytes that arrived ahead of the prefix are read back from the file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sregistry.transfer.partfile import PartFile, PrefixHasher, Slot, layout

BLOCK = 64 << 10


@pytest.fixture
def fd(tmp_path: Path) -> Iterator[int]:
    descriptor = os.open(tmp_path / "file", os.O_RDWR | os.O_CREAT, 0o600)
    yield descriptor
    os.close(descriptor)


def write(state: PartFile, hasher: PrefixHasher, slot: Slot, data: bytes) -> list[bool]:
    """Write ``slot``'s bytes from ``data`` block by block as the receiver does."""
    taken = []
    released: list[int] = []
    while not slot.complete:
        offset = slot.part.offset + slot.written
        block = memoryview(data[offset : offset + min(BLOCK, slot.part.size - slot.written)])
        os.pwrite(state.fd, block, offset)
        with state.cond:
            slot.written += len(block)
            taken.append(hasher.offer(offset, block, lambda: released.append(1)))
            state.cond.notify_all()
    return taken


def test_one_stream_in_order_is_never_read_back(fd: int) -> None:
    data = os.urandom(3 << 20)
    slots = layout(len(data), [], head=len(data), part_size=len(data), single=True)
    state = PartFile(fd, len(data), slots)
    hasher = PrefixHasher(state)
    assert all(write(state, hasher, slots[0], data))
    assert hasher.result() == hashlib.sha256(data).hexdigest()
    assert hasher.read_back == 0


def test_parts_ahead_of_the_prefix_are_read_back_once(fd: int) -> None:
    data = os.urandom(4 << 20)
    part = 1 << 20
    slots = layout(len(data), [], head=part, part_size=part, single=False)
    assert len(slots) == 4
    state = PartFile(fd, len(data), slots)
    hasher = PrefixHasher(state)
    ahead = write(state, hasher, slots[2], data)  # arrives before parts 1 and 2
    assert not any(ahead)
    assert all(write(state, hasher, slots[0], data))
    write(state, hasher, slots[1], data)
    write(state, hasher, slots[3], data)
    assert hasher.result() == hashlib.sha256(data).hexdigest()
    # part 3 at least was read back; never more than the parts that were not first in line
    assert part <= hasher.read_back <= 3 * part


def test_hash_after_reads_the_file_once(fd: int) -> None:
    data = os.urandom(2 << 20)
    slots = layout(len(data), [], head=len(data), part_size=len(data), single=True)
    state = PartFile(fd, len(data), slots)
    hasher = PrefixHasher(state, after=True)
    assert not any(write(state, hasher, slots[0], data))
    assert hasher.result() == hashlib.sha256(data).hexdigest()
    assert hasher.read_back == len(data)


def test_stopping_releases_what_was_queued(fd: int) -> None:
    data = os.urandom(1 << 20)
    slots = layout(len(data), [], head=len(data), part_size=len(data), single=True)
    state = PartFile(fd, len(data), slots)
    hasher = PrefixHasher(state)
    released: list[int] = []
    with state.cond:  # the hasher cannot take the block before stop()
        slots[0].written = BLOCK
        os.pwrite(fd, data[:BLOCK], 0)
        assert hasher.offer(0, memoryview(data[:BLOCK]), lambda: released.append(1))
    hasher.stop()
    assert released == [1]
    with state.cond:
        assert not hasher.offer(BLOCK, memoryview(data[BLOCK : 2 * BLOCK]), lambda: None)
