"""File helpers Singularity Registry Server imports: ``get_file_hash`` and ``read_json``."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

__all__ = ["CHUNK_SIZE", "get_file_hash", "read_json"]

CHUNK_SIZE = 1024 * 1024


def get_file_hash(image_path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Lowercase hex digest of a file, read in chunks (memory stays flat).

    ``algorithm`` is any name :func:`hashlib.new` knows; an unknown one raises
    ``ValueError``.
    """
    try:
        hasher = hashlib.new(algorithm)
    except (ValueError, TypeError) as exc:
        known = ", ".join(sorted(hashlib.algorithms_guaranteed))
        raise ValueError(f"{algorithm!r} is not a known hash algorithm (known: {known})") from exc
    with open(image_path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            hasher.update(chunk)
    return hasher.hexdigest()


def read_json(filename: str | os.PathLike[str], mode: str = "r") -> Any:
    """``json.load`` of a file."""
    with open(filename, mode) as handle:
        return json.load(handle)
