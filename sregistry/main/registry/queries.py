"""The ``list``/``search`` query forms of the registry backend.

=========================  =====================================================
query                      request
=========================  =====================================================
(none), ``*``              every public container, ``/api/containers/`` (paginated)
``dinosaur``               one collection by name, ``/api/collection/dinosaur``
``/avocado[:tag]``         ``/api/container/search/name/avocado[/tag/<tag>]``
``avocado:tag``            the same as ``/avocado:tag``
``dinosaur/avocado``       ``/api/container/search/collection/dinosaur/name/avocado``
``dinosaur/avocado:tag``   ``.../tag/<tag>``
=========================  =====================================================

Collection names are normalised like the server does, names and tags
lowercased; a host in the query must be this client's registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sregistry import names
from sregistry.errors import InvalidName

__all__ = ["Query", "QueryKind", "parse_query"]


class QueryKind(Enum):
    ALL = "all"
    COLLECTION = "collection"
    NAME = "name"
    CONTAINER = "container"


@dataclass(frozen=True)
class Query:
    kind: QueryKind
    collection: str | None = None
    name: str | None = None
    tag: str | None = None
    registry: str | None = None

    def __str__(self) -> str:
        if self.kind is QueryKind.ALL:
            return "*"
        if self.kind is QueryKind.COLLECTION:
            return f"{self.collection}"
        text = f"{self.collection or ''}/{self.name}"
        return f"{text}:{self.tag}" if self.tag else text


def _name_and_tag(text: str, original: str) -> tuple[str, str | None]:
    ref = names.parse(f"x/{text}")
    if ref.version is not None:
        raise InvalidName(f"a search cannot ask for a version: {original!r}")
    return ref.name, (ref.tag if ":" in text else None)


def parse_query(query: str | None) -> Query:
    """Classify ``query`` into one of the forms in the module doc."""
    text = (query or "").strip()
    if text in {"", "*"}:
        return Query(QueryKind.ALL)
    if "@" in text:
        raise InvalidName(f"a search cannot ask for a version: {text!r}")
    if text.startswith("/"):
        name, tag = _name_and_tag(text[1:], text)
        return Query(QueryKind.NAME, name=name, tag=tag)
    bare = text.rstrip("/")
    if "/" not in bare and "://" not in bare:
        if ":" in bare:
            name, tag = _name_and_tag(bare, text)
            return Query(QueryKind.NAME, name=name, tag=tag)
        collection = names.normalize_collection(bare)
        if not collection:
            raise InvalidName(f"{text!r} is not a collection name")
        return Query(QueryKind.COLLECTION, collection=collection)
    ref = names.parse(text)
    if ref.version is not None:
        raise InvalidName(f"a search cannot ask for a version: {text!r}")
    has_tag = ":" in text.rsplit("/", 1)[-1]
    return Query(
        QueryKind.CONTAINER,
        collection=ref.collection,
        name=ref.name,
        tag=ref.tag if has_tag else None,
        registry=ref.registry,
    )
