"""Hashed temporary uploads and content-addressed placement."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.server.blobs import BlobStore, FileBody


def test_upload_is_hashed_and_placed_by_sha256(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    data = b"x" * 3_000_001
    with blobs.temp() as temp:
        for start in range(0, len(data), 65536):
            temp.write(data[start : start + 65536])
        digest = blobs.place(temp)
    assert digest == hashlib.sha256(data).hexdigest()
    assert temp.md5 == hashlib.md5(data).hexdigest()
    assert blobs.path(digest).read_bytes() == data
    assert list(blobs.tmp.iterdir()) == []


def test_discarded_upload_leaves_nothing(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    with blobs.temp() as temp:
        temp.write(b"partial")
    assert list(blobs.tmp.iterdir()) == []
    assert list(blobs.blobs.iterdir()) == []


def test_placing_existing_content_keeps_one_file(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    for _ in range(2):
        with blobs.temp() as temp:
            temp.write(b"same")
            blobs.place(temp)
    assert len(list(blobs.blobs.iterdir())) == 1
    assert list(blobs.tmp.iterdir()) == []


def test_file_body_yields_a_slice(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 10_000)
    body = FileBody(path, 1000, 2_000_000)
    try:
        assert b"".join(body) == path.read_bytes()[1000:2_001_000]
    finally:
        body.close()
