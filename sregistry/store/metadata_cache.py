"""Inspect metadata read from remote images, kept by image sha256 beside the store.

``<root>/metadata/sha256/<hex>.json`` holds ``{"attributes": {...}, "arch":
..., "size": ...}`` of the image with that digest, so listing a server's
images a second time reads nothing from the images. The bytes an sha256
names never change, so entries never go stale; each is written to a
temporary file and renamed into place, so readers never see half of one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["MetadataCache"]

_HEX = re.compile(r"^[0-9a-f]{64}$")


class MetadataCache:
    """The cache under a store root (``ImageStore(env=...).root``)."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "metadata" / "sha256"

    def _path(self, sha256: str) -> Path | None:
        return self.folder / f"{sha256}.json" if _HEX.match(sha256) else None

    def get(self, sha256: str) -> dict[str, Any] | None:
        """The entry of ``sha256`` (lowercase hex), ``None`` when absent or unreadable."""
        path = self._path(sha256)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, sha256: str, entry: Mapping[str, Any]) -> None:
        """Record ``entry`` for ``sha256``; a failure to write is ignored (it is a cache)."""
        path = self._path(sha256)
        if path is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix="tmp.", dir=self.folder)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle)
            os.replace(temp, path)
        except OSError:
            return
