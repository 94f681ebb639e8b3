"""Registry image references: parse, normalise, validate, format.

Grammar (the ``registry://`` scheme is optional)::

    [registry://][host[:port]/]collection/name[:tag][@version]

* A lone ``name`` goes to collection ``library``; the tag defaults to ``latest``.
* A trailing ``.sif``/``.simg``/``.img`` on the name is dropped (only as a suffix).
* The collection is normalised as Singularity Registry Server does (runs of
  characters outside ``[0-9A-Za-z]`` become ``-``, ``-`` stripped at both ends,
  lowercased); name, tag and version are lowercased. Each change is recorded
  in :attr:`ImageName.notes` so a caller can say so.
* With three parts the first is a host; without the scheme it must look like
  one (contain ``.`` or ``:``, or be ``localhost``). With two parts the first is
  a host only when it carries a port or is ``localhost``.

This module imports nothing from sregistry but :mod:`sregistry.errors`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sregistry.errors import InvalidName

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_TAG",
    "MAX_PART",
    "ImageName",
    "normalize_collection",
    "parse",
    "strip_image_suffix",
]

DEFAULT_COLLECTION = "library"
DEFAULT_TAG = "latest"
SCHEME = "registry"
MAX_PART = 250
"""Longest collection, name or tag the server's database accepts."""
MAX_FILENAME_PARTS = 200
"""Longest ``name`` + ``tag``: the server stores ``<name>:<tag>@<md5>.sif`` (at most 255)."""

_SUFFIX = re.compile(r"\.(?:sif|simg|img)$", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_WORD = re.compile(r"^[a-z0-9_][a-z0-9._+-]*$")
_VERSION = re.compile(r"^[a-z0-9_][a-z0-9._:+-]*$")
_HOST = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$"
)


def normalize_collection(collection: str) -> str:
    """Normalise a collection name exactly as the server does: ``My_Coll`` -> ``my-coll``."""
    return _NON_ALNUM.sub("-", collection).strip("-").lower()


def strip_image_suffix(name: str) -> str:
    """Drop one trailing ``.sif``, ``.simg`` or ``.img`` (never one inside the name)."""
    return _SUFFIX.sub("", name)


def _looks_like_host(part: str, *, strict: bool) -> bool:
    lowered = part.lower()
    if lowered == "localhost" or ":" in lowered:
        return True
    return not strict and "." in lowered


@dataclass(frozen=True)
class ImageName:
    """A parsed, normalised registry reference. ``str()`` gives a parseable form."""

    collection: str
    name: str
    tag: str = DEFAULT_TAG
    version: str | None = None
    registry: str | None = None
    """``host[:port]`` when the reference names its registry, lowercased."""
    notes: tuple[str, ...] = field(default=(), compare=False)
    """Human-readable notes on what normalisation changed in the input."""

    @property
    def url(self) -> str:
        """``collection/name``: the container's path on the server."""
        return f"{self.collection}/{self.name}"

    @property
    def uri(self) -> str:
        """``collection/name:tag[@version]``: the server's ``uri`` form, without host."""
        base = f"{self.collection}/{self.name}:{self.tag}"
        return f"{base}@{self.version}" if self.version else base

    @property
    def filename(self) -> str:
        """A default local file name: ``<collection>-<name>_<tag>.sif``."""
        return f"{self.collection}-{self.name}_{self.tag}.sif"

    def with_tag(self, tag: str) -> ImageName:
        """The same reference with another (validated, lowercased) tag."""
        return parse(f"{self.url}:{tag}", registry=self.registry, version=self.version)

    def __str__(self) -> str:
        if self.registry is None:
            return self.uri
        if _looks_like_host(self.registry, strict=False):
            return f"{self.registry}/{self.uri}"
        return f"{SCHEME}://{self.registry}/{self.uri}"


def _check_part(kind: str, value: str, text: str) -> None:
    if not value:
        raise InvalidName(f"invalid image name {text!r}: the {kind} is empty")
    if value in {".", ".."}:
        raise InvalidName(f"invalid image name {text!r}: {value!r} is not allowed as a {kind}")
    if "\\" in value or "/" in value:
        raise InvalidName(f"invalid image name {text!r}: the {kind} contains a path separator")
    if len(value) > MAX_PART:
        raise InvalidName(
            f"invalid image name {text!r}: the {kind} is {len(value)} characters long "
            f"(at most {MAX_PART})"
        )


def _lowered(kind: str, value: str, pattern: re.Pattern[str], text: str, notes: list[str]) -> str:
    _check_part(kind, value, text)
    lowered = value.lower()
    if not pattern.match(lowered):
        raise InvalidName(
            f"invalid image name {text!r}: the {kind} {value!r} may only contain letters, "
            "digits and . _ + - (and must not start with . + or -)"
        )
    if lowered != value:
        notes.append(f"{kind} {value!r} lowercased to {lowered!r}")
    return lowered


def _split_scheme(rest: str, text: str) -> tuple[bool, str]:
    if "://" not in rest:
        return False, rest
    scheme, rest = rest.split("://", 1)
    if scheme.lower() != SCHEME:
        raise InvalidName(
            f"invalid image name {text!r}: the scheme {scheme + '://'!r} is not a registry "
            f"reference (use {SCHEME}://)"
        )
    return True, rest


def _split_once(rest: str, sep: str, text: str, what: str) -> tuple[str, str | None]:
    if sep not in rest:
        return rest, None
    head, tail = rest.split(sep, 1)
    if sep in tail:
        raise InvalidName(f"invalid image name {text!r}: more than one {sep!r} {what}")
    return head, tail


def _split_host(parts: list[str], explicit_scheme: bool, text: str) -> str | None:
    if any(not part for part in parts):
        raise InvalidName(f"invalid image name {text!r}: it has an empty part (check the slashes)")
    if len(parts) > 3:
        raise InvalidName(
            f"invalid image name {text!r}: too many parts (expected [host/]collection/name[:tag])"
        )
    if len(parts) == 3:
        if not explicit_scheme and not _looks_like_host(parts[0], strict=False):
            raise InvalidName(
                f"invalid image name {text!r}: expected [host/]collection/name[:tag], and "
                f"{parts[0]!r} does not look like a host "
                f"(use {SCHEME}://{parts[0]}/... to force it)"
            )
        return parts.pop(0)
    if len(parts) == 2 and _looks_like_host(parts[0], strict=True):
        return parts.pop(0)
    return None


def _collection(raw: str, text: str, notes: list[str]) -> str:
    _check_part("collection", raw, text)
    collection = normalize_collection(raw)
    if not collection:
        raise InvalidName(
            f"invalid image name {text!r}: the collection {raw!r} has no letters or digits"
        )
    if collection != raw:
        notes.append(f"collection {raw!r} normalised to {collection!r}")
    return collection


def parse(
    text: str,
    *,
    tag: str | None = None,
    version: str | None = None,
    registry: str | None = None,
    default_collection: str = DEFAULT_COLLECTION,
    default_tag: str = DEFAULT_TAG,
) -> ImageName:
    """Parse ``text`` into an :class:`ImageName`, or raise :class:`InvalidName`.

    ``tag`` and ``version`` override what the text says; ``registry`` is used
    when the text names no host.
    """
    if not isinstance(text, str):
        raise InvalidName(f"an image name must be a string, not {type(text).__name__}")
    rest = text.strip()
    if not rest:
        raise InvalidName("the image name is empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in rest):
        raise InvalidName(
            f"invalid image name {text!r}: it contains whitespace or control characters"
        )
    explicit_scheme, rest = _split_scheme(rest, text)
    rest, parsed_version = _split_once(rest, "@", text, "")
    parts = rest.split("/")
    host = _split_host(parts, explicit_scheme, text)
    last, parsed_tag = _split_once(parts[-1], ":", text, "in the name")
    if parsed_tag == "":
        raise InvalidName(f"invalid image name {text!r}: the tag after ':' is empty")

    notes: list[str] = []
    collection = _collection(parts[0], text, notes) if len(parts) == 2 else default_collection
    name = _lowered("name", strip_image_suffix(last), _WORD, text, notes)
    final_tag = _lowered("tag", tag or parsed_tag or default_tag, _WORD, text, notes)
    if len(name) + len(final_tag) > MAX_FILENAME_PARTS:
        raise InvalidName(
            f"invalid image name {text!r}: name and tag together are longer than "
            f"{MAX_FILENAME_PARTS} characters, too long for the server's file names"
        )
    raw_version = version if version is not None else parsed_version
    final_version = (
        None if raw_version is None else _lowered("version", raw_version, _VERSION, text, notes)
    )
    final_host = host if host is not None else registry
    if final_host is not None:
        final_host = final_host.lower()
        if not _HOST.match(final_host):
            raise InvalidName(
                f"invalid image name {text!r}: {final_host!r} is not a valid host[:port]"
            )
    return ImageName(collection, name, final_tag, final_version, final_host, tuple(notes))
