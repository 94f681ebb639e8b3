"""What the store records: :class:`StoredImage` rows, sweep and check
results, and the translation of names and queries into SQL conditions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sregistry.errors import InvalidName
from sregistry.names import ImageName, normalize_collection, parse, strip_image_suffix
from sregistry.results import ImageInfo
from sregistry.store.blobs import is_digest

__all__ = [
    "COLUMNS",
    "LOCAL_SCHEME",
    "StoreCheck",
    "StoredImage",
    "SweepResult",
    "digest_of",
    "from_row",
    "labels_of",
    "now",
    "parse_name",
    "query_condition",
    "tag_given",
]

COLUMNS = "collection, name, tag, sha256, size, arch, metadata, source, created"
"""The ``images`` columns a :class:`StoredImage` is built from, in order."""


@dataclass(frozen=True)
class StoredImage:
    """One tag in the store and the file holding its bytes."""

    collection: str
    name: str
    tag: str
    sha256: str
    """Lowercase hex SHA-256 of the file."""
    size: int
    path: Path
    """The content-addressed file (shared by every tag with the same bytes)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Inspect attributes (``labels``, ``runscript``, ...), empty when unknown."""
    source: str = "local"
    """Where the bytes came from: ``local`` or the registry they were pulled from."""
    created: str = ""
    """When this tag got these bytes, ISO 8601 UTC."""
    arch: str | None = None

    @property
    def uri(self) -> str:
        """``collection/name:tag``."""
        return f"{self.collection}/{self.name}:{self.tag}"

    @property
    def version(self) -> str:
        """``sha256.<hex>``, the registry's version form."""
        return f"sha256.{self.sha256}"

    @property
    def pinned_uri(self) -> str:
        """``collection/name:tag@sha256.<hex>``: this tag only while it holds these bytes."""
        return f"{self.uri}@{self.version}"

    def to_image_info(self) -> ImageInfo:
        """The backend-neutral description every backend's ``get`` returns."""
        return ImageInfo(
            collection=self.collection,
            name=self.name,
            tag=self.tag,
            version=self.version,
            size=self.size,
            created=self.created,
            arch=self.arch,
            location=str(self.path),
            metadata=self.metadata,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "uri": self.uri,
            "collection": self.collection,
            "name": self.name,
            "tag": self.tag,
            "version": self.version,
            "sha256": self.sha256,
            "size": self.size,
            "path": str(self.path),
            "source": self.source,
            "created": self.created,
            "arch": self.arch,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class SweepResult:
    """What a sweep removed."""

    temps: tuple[Path, ...] = ()
    """Abandoned temporary files."""
    orphans: tuple[str, ...] = ()
    """Digests of files no row used any more."""


@dataclass(frozen=True)
class StoreCheck:
    """The result of :meth:`ImageStore.check`: empty tuples mean a consistent store."""

    images: int = 0
    missing: tuple[str, ...] = ()
    """Tags whose file is missing."""
    corrupt: tuple[str, ...] = ()
    """Tags whose file does not hash to its digest (only with ``verify``)."""
    orphans: tuple[str, ...] = ()
    """Digests of files no tag uses."""
    temps: tuple[Path, ...] = ()
    """Temporary files present (someone's work in progress, or leftovers)."""

    @property
    def ok(self) -> bool:
        """No missing or corrupt file, no orphan, no temporary file."""
        return not (self.missing or self.corrupt or self.orphans or self.temps)


def from_row(row: tuple[Any, ...], path: Path) -> StoredImage:
    """A :data:`COLUMNS` row as a :class:`StoredImage` whose file is ``path``."""
    collection, name, tag, digest, size, arch, metadata, source, created = row
    try:
        parsed = json.loads(metadata)
    except ValueError:
        parsed = {}
    return StoredImage(
        collection=collection,
        name=name,
        tag=tag,
        sha256=digest,
        size=size,
        path=path,
        metadata=parsed if isinstance(parsed, dict) else {},
        source=source,
        created=created,
        arch=arch,
    )


LOCAL_SCHEME = "local://"


def parse_name(name: str, *, tag: str | None = None) -> ImageName:
    """:func:`sregistry.names.parse`, also accepting a ``local://`` prefix."""
    if name[: len(LOCAL_SCHEME)].lower() == LOCAL_SCHEME:
        name = name[len(LOCAL_SCHEME) :]
    return parse(name, tag=tag)


def now() -> str:
    """The current time, ISO 8601 UTC to the second."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest_of(version: str, text: str) -> str:
    """The hex digest in ``sha256.<hex>``, ``sha256:<hex>`` or ``<hex>``;
    :class:`InvalidName` (quoting ``text``) otherwise."""
    for prefix in ("sha256.", "sha256:"):
        if version.startswith(prefix):
            version = version[len(prefix) :]
            break
    if not is_digest(version):
        raise InvalidName(
            f"{text!r}: the local store identifies images by sha256 (sha256.<64 hex digits>)"
        )
    return version


def tag_given(text: str) -> bool:
    """Whether the reference ``text`` names a tag (``names.parse`` defaults one)."""
    last = text.split("@", 1)[0].rsplit("/", 1)[-1]
    return ":" in last


def labels_of(metadata: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(key, value)`` of the metadata's labels; non-text values as JSON."""
    labels = metadata.get("labels")
    if not isinstance(labels, Mapping):
        return []
    return [
        (str(key), value if isinstance(value, str) else json.dumps(value, sort_keys=True))
        for key, value in labels.items()
    ]


_URI = "collection || '/' || name || ':' || tag"


def query_condition(query: str | None) -> tuple[str, tuple[Any, ...]]:
    """The ``WHERE`` clause (built from constants; values bound) for a search.

    ``None``/``""``/``*``: everything. ``sha256.<hex prefix>``: by content.
    ``collection/``, ``/name[:tag]``, ``collection/name[:tag]``, ``name:tag``
    (a leading ``host/`` is ignored): those fields exactly. Any other word: a
    substring of collection, name, tag or ``collection/name:tag``.
    """
    text = (query or "").strip().lower().removeprefix(LOCAL_SCHEME)
    if not text or text == "*":
        return "", ()
    for prefix in ("sha256.", "sha256:"):
        if text.startswith(prefix):
            wanted = text[len(prefix) :]
            return "WHERE substr(sha256, 1, ?) = ?", (len(wanted), wanted)
    if "/" not in text and ":" not in text:
        return (
            f"WHERE instr(collection, ?) OR instr(name, ?) OR instr(tag, ?) OR instr({_URI}, ?)",
            (text, text, text, text),
        )
    parts = text.split("@", 1)[0].split("/")
    collection = parts[-2] if len(parts) > 1 else ""
    name, _, tag = parts[-1].partition(":")
    clauses: list[str] = []
    params: list[str] = []
    if collection:
        clauses.append("collection = ?")
        params.append(normalize_collection(collection))
    if name:
        clauses.append("name = ?")
        params.append(strip_image_suffix(name))
    if tag:
        clauses.append("tag = ?")
        params.append(tag)
    if not clauses:
        return "", ()
    return "WHERE " + " AND ".join(clauses), tuple(params)
