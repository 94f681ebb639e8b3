"""Registry JSON rows -> the typed results of :mod:`sregistry.main.base`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sregistry.errors import ServerError
from sregistry.main.base import ImageInfo, Label

__all__ = [
    "DUMMY_TAG_PREFIX",
    "attributes",
    "image_from_row",
    "images_from_collection",
    "is_placeholder",
    "label_from_row",
]

DUMMY_TAG_PREFIX = "DUMMY-"
"""Tags of the placeholder rows a library push creates; not images."""


def attributes(metadata: Any) -> dict[str, Any]:
    """The inspect attributes stored with a container (``metadata.data.attributes``)."""
    if not isinstance(metadata, Mapping):
        return {}
    data = metadata.get("data")
    found = data.get("attributes") if isinstance(data, Mapping) else None
    return dict(found) if isinstance(found, Mapping) else {}


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    return None if value is None else str(value)


def is_placeholder(row: Mapping[str, Any]) -> bool:
    """A library push's ``DUMMY-`` holder row."""
    return str(row.get("tag", "")).startswith(DUMMY_TAG_PREFIX)


def image_from_row(
    row: Any, *, location: str, collection: str | None = None, private: bool = False
) -> ImageInfo:
    """A container row (list, search or manifest form) as an :class:`ImageInfo`.

    ``collection`` is used when the row names its collection by id only.
    """
    if not isinstance(row, Mapping) or not isinstance(row.get("name"), str):
        raise ServerError(
            f"the registry described a container in an unexpected form: {row!r}"[:200]
        )
    named = row.get("collection")
    collection_name = named if isinstance(named, str) else collection
    if collection_name is None:
        raise ServerError(f"the registry did not say which collection {row['name']!r} is in")
    return ImageInfo(
        collection=collection_name,
        name=row["name"],
        tag=str(row.get("tag") or "latest"),
        version=_text(row, "version"),
        frozen=bool(row.get("frozen", False)),
        private=private,
        id=_text(row, "id"),
        # add_date is auto_now on the server: a pull rewrites it, so it is no creation time
        updated=_text(row, "add_date"),
        location=location,
        metadata=attributes(row.get("metadata")),
    )


def images_from_collection(data: Any, *, location: str) -> list[ImageInfo]:
    """The containers of one collection (``/api/collection/<name>``); ``{}`` means none."""
    if not isinstance(data, Mapping):
        raise ServerError("the registry described a collection in an unexpected form")
    if not data:
        return []
    name = data.get("name")
    rows = data.get("containers")
    if not isinstance(name, str) or not isinstance(rows, list):
        raise ServerError("the registry described a collection in an unexpected form")
    images = []
    for row in rows:
        if isinstance(row, Mapping) and not is_placeholder(row):
            images.append(image_from_row(row, location=location, collection=name))
    return images


def label_from_row(row: Any) -> Label:
    """``{"key", "value", "containers": [uri, ...]}`` as a :class:`Label`."""
    if not isinstance(row, Mapping) or "key" not in row:
        raise ServerError(f"the registry described a label in an unexpected form: {row!r}"[:200])
    containers = row.get("containers") or []
    return Label(
        key=str(row["key"]),
        value="" if row.get("value") is None else str(row["value"]),
        containers=tuple(str(item) for item in containers) if isinstance(containers, list) else (),
    )
