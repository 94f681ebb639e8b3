"""The few fields of Library API objects this client reads, checked as they arrive.

Servers differ (Singularity Registry Server sends ``size: null``, a version
string as ``container``, integer-ish ids as strings), so only what the client
needs is required: an ``id`` for entities, collections and containers; ``id``
and ``hash`` for images. Everything else is optional and loosely typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sregistry.errors import ServerError

__all__ = ["Collection", "Container", "Entity", "Image", "object_id"]


def object_id(data: Any, what: str) -> str:
    """The ``id`` of a JSON object as a string (numbers tolerated), else :class:`ServerError`."""
    if not isinstance(data, Mapping):
        raise ServerError(f"{what}: the server's answer is not a JSON object")
    value = data.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value in ("", None):
        raise ServerError(f"{what}: the server's answer has no usable 'id'")
    text = str(value)
    if "/" in text:
        raise ServerError(f"{what}: the server's id {text!r} contains '/'")
    return text


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


@dataclass(frozen=True)
class Entity:
    id: str
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any, what: str) -> Entity:
        return cls(object_id(data, what), _str(data, "name"))


@dataclass(frozen=True)
class Collection:
    id: str
    name: str | None = None
    private: bool = False
    containers: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any, what: str) -> Collection:
        ident = object_id(data, what)
        containers = data.get("containers")
        ids = tuple(str(item) for item in containers) if isinstance(containers, list) else ()
        return cls(ident, _str(data, "name"), bool(data.get("private")), ids)


@dataclass(frozen=True)
class Container:
    id: str
    name: str | None = None
    private: bool = False
    arch_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """``{arch: {tag: image id}}``."""
    image_tags: Mapping[str, str] = field(default_factory=dict)
    """``{tag: image id}`` (arch-less, Singularity <= 3.3 and v1 tags)."""

    @classmethod
    def from_json(cls, data: Any, what: str) -> Container:
        ident = object_id(data, what)
        arch_tags: dict[str, dict[str, str]] = {}
        raw_arch = data.get("archTags")
        if isinstance(raw_arch, Mapping):
            for arch, tags in raw_arch.items():
                if isinstance(tags, Mapping):
                    arch_tags[str(arch)] = {str(t): str(i) for t, i in tags.items()}
        raw_tags = data.get("imageTags")
        image_tags = (
            {str(t): str(i) for t, i in raw_tags.items()} if isinstance(raw_tags, Mapping) else {}
        )
        return cls(ident, _str(data, "name"), bool(data.get("private")), arch_tags, image_tags)


@dataclass(frozen=True)
class Image:
    id: str
    hash: str | None
    """``sha256.<hex>`` (verifiable), ``sif.<uuid>`` (legacy) or missing."""
    size: int | None = None
    uploaded: bool | None = None
    arch: str | None = None
    tags: tuple[str, ...] = ()
    entity_name: str | None = None
    collection_name: str | None = None
    container_name: str | None = None
    description: str | None = None
    created: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def sha256(self) -> str | None:
        """The lowercase hex digest when ``hash`` is ``sha256.<64 hex>``, else ``None``."""
        text = (self.hash or "").lower()
        digest = text.removeprefix("sha256.")
        hexdigits = len(digest) == 64 and all(ch in "0123456789abcdef" for ch in digest)
        return digest if text.startswith("sha256.") and hexdigits else None

    @classmethod
    def from_json(cls, data: Any, what: str) -> Image:
        ident = object_id(data, what)
        uploaded = data.get("uploaded")
        return cls(
            id=ident,
            hash=_str(data, "hash"),
            size=_int(data, "size"),
            uploaded=uploaded if isinstance(uploaded, bool) else None,
            arch=_str(data, "arch"),
            tags=_tags(data.get("tags")),
            entity_name=_str(data, "entityName"),
            collection_name=_str(data, "collectionName"),
            container_name=_str(data, "containerName"),
            description=_str(data, "description"),
            created=_str(data, "createdAt"),
            raw=dict(data),
        )
