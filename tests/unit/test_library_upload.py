"""``LocalFile``: the push's one hash pass, and a file that changes after it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sregistry.main.library.upload import LocalFile
from sregistry.transfer import SourceError

MiB = 1 << 20


def test_the_hash_pass_gives_sha256_and_md5_when_asked(tmp_path: Path) -> None:
    data = os.urandom(5 * MiB + 3)
    (tmp_path / "image").write_bytes(data)
    plain = LocalFile.hashed(tmp_path / "image", md5=False)
    assert (plain.size, plain.sha256, plain.md5) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
        None,
    )
    assert plain.with_md5().md5 == hashlib.md5(data).hexdigest()
    both = LocalFile.hashed(tmp_path / "image", md5=True)
    assert both.md5 == hashlib.md5(data).hexdigest()
    assert both.with_md5() is both


def rewrite_same_size(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.write(b"other")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_a_file_changed_after_its_hash_pass_is_refused(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.write_bytes(os.urandom(MiB))
    local = LocalFile.hashed(image, md5=False)
    local.check_unchanged()
    rewrite_same_size(image)
    with pytest.raises(SourceError, match="changed after it was hashed"):
        local.check_unchanged()
    with pytest.raises(SourceError, match="changed after it was hashed"):
        local.with_md5()


def test_a_file_grown_after_its_hash_pass_is_refused(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.write_bytes(os.urandom(MiB))
    local = LocalFile.hashed(image, md5=False)
    with image.open("ab") as handle:
        handle.write(b"more")
    with pytest.raises(SourceError, match=f"{MiB} bytes then, {MiB + 4} now"):
        local.check_unchanged()


def test_an_unreadable_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        LocalFile.hashed(tmp_path / "missing", md5=False)
