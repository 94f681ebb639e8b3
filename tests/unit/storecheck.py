"""An integrity check of a store that trusts nothing of sregistry.store: it
reads the SQLite file and the blob directory itself."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def rows(root: Path) -> list[tuple[str, str, str, str, int]]:
    database = root / "sregistry.db"
    if not database.exists():
        return []
    conn = sqlite3.connect(database)
    try:
        return conn.execute(
            "SELECT collection, name, tag, sha256, size FROM images ORDER BY 1, 2, 3"
        ).fetchall()
    finally:
        conn.close()


def problems(root: Path, *, allow_garbage: bool = False) -> list[str]:
    """Everything wrong with the store at ``root`` (empty when consistent):
    a row whose file is missing, has another size or hash, or is writable;
    a file no row uses or a temporary file, unless ``allow_garbage`` (what a
    killed writer may leave for the sweep, never a broken row)."""
    blobs = root / "blobs" / "sha256"
    found: list[str] = []
    names = set(os.listdir(blobs)) if blobs.is_dir() else set()
    used: set[str] = set()
    for collection, name, tag, digest, size in rows(root):
        uri = f"{collection}/{name}:{tag}"
        filename = f"{digest}.sif"
        used.add(filename)
        path = blobs / filename
        if filename not in names:
            found.append(f"{uri}: file missing")
            continue
        if path.stat().st_size != size:
            found.append(f"{uri}: size {path.stat().st_size} != {size}")
        if sha256_of(path) != digest:
            found.append(f"{uri}: content does not hash to {digest}")
        if path.stat().st_mode & 0o222:
            found.append(f"{uri}: file is writable")
    for filename in sorted(names - used):
        if allow_garbage:
            continue
        if filename.startswith("tmp."):
            found.append(f"temporary file left: {filename}")
        else:
            found.append(f"file without a row: {filename}")
    return found
