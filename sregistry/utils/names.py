"""``parse_image_name`` with the output of sregistry-cli 0.2.39, for Singularity Registry Server.

The server calls it at request time and relies on its keys and semantics
(including "the first segment of a 3+-part name is the registry", which its
library views use as the entity). Only crash-type legacy bugs are fixed: the
extension is stripped as a suffix only, bad input raises
:class:`sregistry.errors.InvalidName` (a ``ValueError``) instead of exiting,
and ``defaults=False`` returns ``None`` fields instead of crashing.

New code should use :func:`sregistry.names.parse`.
"""

from __future__ import annotations

import re
from typing import Any

from sregistry.errors import InvalidName

__all__ = ["parse_image_name", "remove_uri"]

_TAIL = r"(?P<repo>[^:@/]+)(?::(?P<tag>[^:@]+))?(?:@(?P<version>.+))?$"
# registry:port/repo or registry.tld/repo (the registry must contain "." or ":")
_REDUCED = re.compile(r"^(?:(?P<registry>[^/@]+[.:][^/@]*)/)?" + _TAIL)
# [registry/](collection/)+repo, the registry being any first segment of 3+ parts
_DEFAULT = re.compile(r"^(?:(?P<registry>[^/@]+)/)?(?P<collection>(?:[^:@/]+/)+)" + _TAIL)
_EXTENSION = re.compile(r"\.(?:img|simg|sif)(?=$|[:@])")
_SCHEME = re.compile(r"^.+://")


def remove_uri(name: str) -> str:
    """Drop a leading ``scheme://`` from a reference."""
    return _SCHEME.sub("", name)


def parse_image_name(  # noqa: PLR0917 - sregistry-cli 0.2.39's signature
    image_name: str,
    tag: str | None = None,
    version: str | None = None,
    defaults: bool = True,
    ext: str = "sif",
    default_collection: str = "library",
    default_tag: str = "latest",
    base: str | None = None,
    lowercase: bool = True,
) -> dict[str, Any]:
    """Split a reference into the legacy dict.

    Keys: ``collection``, ``original``, ``registry``, ``image``, ``url``
    (``[registry/]collection/image``), ``tag``, ``version``, ``uri``
    (``url[:tag][@version]``) and ``storage`` (``uri.<ext>``). The dict is a
    fresh, mutable object on every call.
    """
    original = image_name
    if not isinstance(image_name, str):
        raise InvalidName(f"could not parse image {image_name!r}")
    if base is not None:
        image_name = image_name.replace(base, "").strip("/")
    image_name = _EXTENSION.sub("", image_name, count=1)

    match = _REDUCED.match(image_name) or _DEFAULT.match(image_name)
    if match is None:
        raise InvalidName(f"could not parse image {image_name!r}")

    groups = match.groupdict()
    registry = groups.get("registry")
    collection = groups.get("collection")
    image = groups["repo"]
    repo_tag = tag or groups.get("tag")
    version = version or groups.get("version")

    if defaults:
        collection = collection if collection is not None else default_collection
        repo_tag = repo_tag if repo_tag is not None else default_tag
    if collection is not None:
        collection = collection.rstrip("/")
    if lowercase:
        collection = collection.lower() if collection is not None else None
        image = image.lower()
        repo_tag = repo_tag.lower() if repo_tag is not None else None
    if version is not None:
        version = version.lower()

    path = f"{collection}/{image}" if collection is not None else image
    url = f"{registry}/{path}" if registry is not None else path
    uri = url if repo_tag is None else f"{url}:{repo_tag}"
    if version is not None:
        uri = f"{uri}@{version}"
    return {
        "collection": collection,
        "original": original,
        "registry": registry,
        "image": image,
        "url": url,
        "tag": repo_tag,
        "version": version,
        "storage": f"{uri}.{ext}",
        "uri": uri,
    }
