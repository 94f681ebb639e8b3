"""The typed results every backend returns, and the small types they share.

A leaf module: it imports nothing of ``sregistry``, so the local store, the
transport and the backends can all use these types without importing each
other (:mod:`sregistry.main.base` re-exports them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ImageInfo",
    "Label",
    "PathLike",
    "ProgressCallback",
    "PullResult",
    "PushResult",
    "destination",
]

ProgressCallback = Callable[[int, "int | None"], None]
"""Called as ``progress(bytes_done, bytes_total)``; ``bytes_done`` is cumulative
(a resumed transfer starts at its offset) and ``bytes_total`` is ``None`` when
unknown. It must be cheap: it runs on the transfer thread."""

PathLike = str | os.PathLike[str]


def destination(dest: PathLike | None, filename: str) -> Path:
    """Where a pull or export writes: ``dest`` (``~`` expanded), or ``filename``
    inside it when it is a folder or ends with a path separator, or in the current
    folder when there is no ``dest``."""
    if dest is None:
        return Path.cwd() / filename
    target = Path(dest).expanduser()
    folder = target.is_dir() or str(dest).endswith(os.sep)
    return target / filename if folder else target


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class ImageInfo:
    """One stored image (a container row) as a registry describes it."""

    collection: str
    name: str
    tag: str
    version: str | None = None
    """``sha256.<hex>`` when known; some servers report an md5 hex or nothing."""
    size: int | None = None
    """Bytes, when the backend knows them."""
    frozen: bool | None = False
    """Whether the tag is frozen; ``None`` when the backend does not say (Library API)."""
    private: bool = False
    id: str | None = None
    created: str | None = None
    """When the image was created or first stored: ISO 8601 / RFC 3339 time as
    the backend reports it; ``None`` when the backend does not know it."""
    updated: str | None = None
    """When the server last changed its record of the image. Singularity
    Registry Server's container ``add_date`` is this, not a creation time: it
    is rewritten on every save, a pull included."""
    arch: str | None = None
    location: str | None = None
    """Where it lives: a base URL, or a local path for the local store."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Container metadata in ``singularity inspect --json`` attribute form
    (``labels``, ``environment``, ``runscript``, ``test``, ``deffile``, ...),
    empty when the backend has none."""

    @property
    def uri(self) -> str:
        """``collection/name:tag``."""
        return f"{self.collection}/{self.name}:{self.tag}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (with ``uri`` added)."""
        data: dict[str, Any] = _plain(asdict(self))
        data["uri"] = self.uri
        return data


@dataclass(frozen=True)
class PushResult:
    """What a push stored."""

    name: str
    """The full reference that was pushed, as the backend spells it."""
    size: int
    sha256: str
    """Lowercase hex SHA-256 of the bytes sent."""
    version: str | None = None
    """The version the server recorded, when it says (``sha256.<hex>``)."""
    location: str | None = None
    created_collection: bool = False
    metadata_sent: bool = False
    warnings: tuple[str, ...] = ()
    """Things the caller may want to tell the user (e.g. metadata skipped)."""
    already_there: bool = False
    """The server already held these bytes under this name: nothing was uploaded."""

    def to_json(self) -> dict[str, Any]:
        return dict(_plain(asdict(self)))


@dataclass(frozen=True)
class PullResult:
    """Where a pulled image landed and what it was checked against."""

    path: Path
    name: str
    size: int
    sha256: str
    version: str | None = None
    from_cache: bool = False
    """True when a remote backend's pull was served from the local store instead
    of downloaded (a pull of the local backend itself is a copy out of the
    store: False)."""
    resumed_from: int = 0
    """Offset the download resumed at (0 for a fresh download)."""
    warnings: tuple[str, ...] = ()
    stored_as: str | None = None
    """The local store's name (``collection/name:tag``) under which a remote
    pull recorded the image; ``None`` when it was not recorded."""

    def to_json(self) -> dict[str, Any]:
        return dict(_plain(asdict(self)))


@dataclass(frozen=True)
class Label:
    """A label and the containers (``collection/name:tag``) that carry it."""

    key: str
    value: str
    containers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return dict(_plain(asdict(self)))
