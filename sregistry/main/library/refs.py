"""``library://`` references: strict parsing, hash-tag detection, ``str()`` round-trip.

Grammar (Library API, ``library-api.md`` §5; the ``library://`` prefix is optional)::

    [library://][host[:port]/]path[:tag[,tag...]]
    path      = [[entity/]collection/]container     pull: 1-3 parts, push: exactly 3
    part, tag = [a-z0-9]+([._-][a-z0-9]+)*          lowercase only
    hash tag  = sha256.<64 lowercase hex> | sif.<uuid>

* As in the Singularity/Apptainer CLI, the first component is a host only when
  the text after the prefix has **more than two** ``/``.
* No tag means ``latest``; pull and delete use the first tag, push applies all.
* A hash tag (``sha256.…``) makes the server look the image up by hash.

This module imports nothing from sregistry but :mod:`sregistry.errors`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sregistry.errors import InvalidName

__all__ = [
    "DEFAULT_TAG",
    "SCHEME",
    "LibraryRef",
    "check_name",
    "check_push",
    "is_hash_tag",
    "parse_library_ref",
]

SCHEME = "library"
DEFAULT_TAG = "latest"

_PART = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_SHA256 = re.compile(r"^sha256\.[0-9a-f]{64}$")
_SIF = re.compile(r"^sif\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HASH_PREFIXES = ("sha256.", "sif.")
_HOST = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$"
)
_KINDS = ("entity", "collection", "container")


def is_hash_tag(tag: str) -> bool:
    """True for ``sha256.<64 hex>`` and ``sif.<uuid>`` (the server looks these up by hash)."""
    return bool(_SHA256.match(tag) or _SIF.match(tag))


@dataclass(frozen=True)
class LibraryRef:
    """A parsed ``library://`` reference. ``str()`` gives back a parseable form."""

    container: str
    collection: str | None = None
    entity: str | None = None
    tags: tuple[str, ...] = ()
    """As written; empty means ``latest``."""
    host: str | None = None
    """``host[:port]`` named by the reference, lowercased."""

    @property
    def path(self) -> str:
        """``[entity/][collection/]container`` as the API paths want it."""
        return "/".join(part for part in (self.entity, self.collection, self.container) if part)

    @property
    def tag(self) -> str:
        """The first tag (what pull and delete use), ``latest`` by default."""
        return self.tags[0] if self.tags else DEFAULT_TAG

    @property
    def push_tags(self) -> tuple[str, ...]:
        """Every tag a push applies (``("latest",)`` by default)."""
        return self.tags or (DEFAULT_TAG,)

    @property
    def is_hash(self) -> bool:
        """True when the (first) tag is an image hash rather than a tag name."""
        return is_hash_tag(self.tag)

    @property
    def api_ref(self) -> str:
        """``path:tag``: the ref the ``/v1/images`` and ``/v1/imagefile`` paths carry."""
        return f"{self.path}:{self.tag}"

    @property
    def is_full(self) -> bool:
        """True when entity, collection and container are all given."""
        return self.entity is not None and self.collection is not None

    @property
    def filename(self) -> str:
        """A default local file name: ``<container>_<tag>.sif`` (hash tags shortened)."""
        tag = self.tag
        if is_hash_tag(tag):
            tag = tag.replace(".", "-")[:19]
        return f"{self.container}_{tag}.sif"

    def with_tags(self, *tags: str) -> LibraryRef:
        """The same reference with other tags (validated)."""
        for tag in tags:
            _check_tag(tag, str(self))
        return LibraryRef(self.container, self.collection, self.entity, tuple(tags), self.host)

    def require_full(self, action: str = "push") -> LibraryRef:
        """``self`` if it names entity, collection and container, else :class:`InvalidName`."""
        if not self.is_full:
            raise InvalidName(
                f"invalid library reference {str(self)!r}: {action} needs "
                "library://entity/collection/container[:tag]"
            )
        return self

    def __str__(self) -> str:
        text = f"{SCHEME}://"
        if self.host:
            text += f"{self.host}/"
        text += self.path
        if self.tags:
            text += ":" + ",".join(self.tags)
        return text


def _check_part(kind: str, value: str, text: str) -> None:
    if not value:
        raise InvalidName(f"invalid library reference {text!r}: the {kind} is empty")
    if _PART.match(value):
        return
    lowered = value.lower()
    hint = f" (use {lowered!r})" if lowered != value and _PART.match(lowered) else ""
    raise InvalidName(
        f"invalid library reference {text!r}: the {kind} {value!r} must be lowercase letters "
        f"and digits, optionally separated by single . _ or -{hint}"
    )


def check_name(kind: str, value: str) -> str:
    """``value`` if it is a valid entity/collection/container name, else :class:`InvalidName`."""
    _check_part(kind, value, value)
    return value


def _check_tag(tag: str, text: str) -> None:
    if not tag:
        raise InvalidName(f"invalid library reference {text!r}: a tag is empty")
    if tag.startswith(_HASH_PREFIXES) and not is_hash_tag(tag):
        raise InvalidName(
            f"invalid library reference {text!r}: {tag!r} is not a valid image hash "
            "(sha256. and 64 lowercase hex digits, or sif.<uuid>)"
        )
    if not is_hash_tag(tag):
        _check_part("tag", tag, text)


def _check_host(host: str, text: str) -> str:
    lowered = host.lower()
    if not _HOST.match(lowered):
        raise InvalidName(
            f"invalid library reference {text!r}: {host!r} is not a valid host[:port]"
        )
    return lowered


def _strip_scheme(text: str) -> str:
    rest = text.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in rest):
        raise InvalidName(
            f"invalid library reference {text!r}: it contains whitespace or control characters"
        )
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme.lower() != SCHEME:
            raise InvalidName(
                f"invalid library reference {text!r}: the scheme must be {SCHEME}://, "
                f"not {scheme}://"
            )
    if not rest:
        raise InvalidName(f"invalid library reference {text!r}: it names no container")
    if any(ch in rest for ch in "?#@\\"):
        raise InvalidName(
            f"invalid library reference {text!r}: query, fragment, user info and backslashes "
            "are not allowed"
        )
    return rest


def _split_tags(rest: str, text: str) -> tuple[str, tuple[str, ...]]:
    path, sep, tag_text = rest.partition(":")
    if "/" in tag_text:
        raise InvalidName(
            f"invalid library reference {text!r}: ':' before the last '/' "
            "(a host[:port] must be followed by entity/collection/container)"
        )
    if ":" in tag_text:
        raise InvalidName(f"invalid library reference {text!r}: more than one ':'")
    if sep and not tag_text:
        raise InvalidName(f"invalid library reference {text!r}: the tag after ':' is empty")
    tags = tuple(tag_text.split(",")) if sep else ()
    for tag in tags:
        _check_tag(tag, text)
    return path, tags


def check_push(ref: LibraryRef, text: str) -> None:
    """Raise :class:`InvalidName` unless ``ref`` is full and tagged with names, not hashes."""
    ref.require_full()
    hashes = [tag for tag in ref.tags if is_hash_tag(tag)]
    if hashes:
        raise InvalidName(
            f"invalid library reference {text!r}: cannot push to the hash {hashes[0]!r} "
            "(the server names the image by its hash itself; use a tag)"
        )


def parse_library_ref(text: str, *, push: bool = False) -> LibraryRef:
    """Parse ``text`` into a :class:`LibraryRef`, or raise :class:`InvalidName`.

    With ``push`` the reference must name entity, collection and container and
    its tags must be names, not hashes.
    """
    if not isinstance(text, str):
        raise InvalidName(f"a library reference must be a string, not {type(text).__name__}")
    rest = _strip_scheme(text)
    host = None
    if rest.count("/") > 2:
        raw_host, rest = rest.split("/", 1)
        host = _check_host(raw_host, text)
    path, tags = _split_tags(rest, text)
    parts = path.split("/")
    if len(parts) > 3:
        raise InvalidName(
            f"invalid library reference {text!r}: too many parts "
            "(expected [host/]entity/collection/container[:tag])"
        )
    for kind, value in zip(_KINDS[3 - len(parts) :], parts, strict=True):
        _check_part(kind, value, text)
    padded: list[str | None] = [None] * (3 - len(parts)) + list(parts)
    ref = LibraryRef(
        container=parts[-1], collection=padded[1], entity=padded[0], tags=tags, host=host
    )
    if push:
        check_push(ref, text)
    return ref
