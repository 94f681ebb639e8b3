"""The server's switches, shared by the command line and the pytest fixture."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

__all__ = [
    "DEFAULT_API_VERSION",
    "FIXED_PROFILE",
    "PROFILES",
    "REAL_PROFILE",
    "MiB",
    "Profile",
    "Quirks",
    "ServerConfig",
    "parse_throttle",
]

MiB = 1024 * 1024
DEFAULT_API_VERSION = "2.0.0-alpha.2"

_PERIODS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}
_PERIODS.update({"d": 86400.0, "day": 86400.0})


def parse_throttle(spec: str) -> tuple[int, float]:
    """``"100/day"`` -> ``(100, 86400.0)``, as DRF writes throttle rates."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*([a-z]+)\s*", spec.lower())
    if match is None or match.group(2) not in _PERIODS:
        raise ValueError(f"invalid throttle {spec!r}: use N/sec, N/min, N/hour or N/day")
    return int(match.group(1)), _PERIODS[match.group(2)]


@dataclass(frozen=True)
class Quirks:
    """What Singularity Registry Server 2.1.2 does that the fixed profile does not.

    Each switch is one numbered behaviour of issue 11, measured on the real server
    (uwsgi behind nginx's upload module, S3 for library images, an rq worker).
    All off: the ``fixed`` profile; all on: the ``sregistry-2.1.2`` profile.
    """

    repush_deletes_file: bool = False
    """(1) Pushing the same bytes again to the same registry tag loses the stored file:
    the download answers 500 and the version stays the upload's md5."""
    drop_metadata: bool = False
    """(2) The registry push's ``metadata`` field is dropped: ``metadata`` ``{}``, no labels."""
    html_errors: bool = False
    """(3) DELETE of an existing image and collection search answer a 500 HTML page;
    ``/upload`` answers nginx's 415 (not multipart) and 405 (GET) HTML pages."""
    relative_redirects: bool = False
    """(4) Django's slash redirects (301) carry a relative ``Location``."""
    add_date_on_pull: bool = False
    """(5) A registry download rewrites the container's ``add_date``."""
    unscoped_tags: bool = False
    """(6) A registry push of ``name:tag`` deletes ``name:tag`` in every other collection."""
    no_v2_tags: bool = False
    """(7) ``/v2/tags/...`` is a 404 HTML page (``/version`` says ``2.0.0-alpha.1``)."""
    blob_other_host: bool = False
    """(8) ``/v1/imagefile`` redirects (302) to another host name (``localhost`` for
    ``127.0.0.1`` and back), as a presigned S3 URL does."""
    one_tag_per_image: bool = False
    """(9) A library image carries one tag: tagging it again moves the tag."""
    loose_library: bool = False
    """(10) ``?arch=`` is ignored, image JSON has no ``updatedAt``/``deletedAt`` and
    ``size: null``, ``/v1/containers/<e>/<c>/<missing>`` lists the whole collection's
    tags, an empty tag and malformed ``POST /v1/collections`` JSON answer a 500 HTML
    page, and ``PUT /v2/imagefile/<id>/_complete`` checks no token."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The switch names, in issue order."""
        return tuple(f.name for f in fields(cls))

    def with_switches(self, switches: Mapping[str, bool]) -> Quirks:
        """A copy with some switches set (unknown names raise ValueError)."""
        unknown = set(switches) - set(self.names())
        if unknown:
            raise ValueError(f"unknown quirks: {sorted(unknown)}")
        return replace(self, **switches)


REAL_PROFILE = "sregistry-2.1.2"
FIXED_PROFILE = "fixed"
REAL_API_VERSION = "2.0.0-alpha.1"


@dataclass(frozen=True)
class Profile:
    """A named set of defaults: the quirks and the switches they go with."""

    quirks: Quirks
    redirect_status: int
    api_version: str


PROFILES: dict[str, Profile] = {
    REAL_PROFILE: Profile(Quirks(**dict.fromkeys(Quirks.names(), True)), 302, REAL_API_VERSION),
    FIXED_PROFILE: Profile(Quirks(), 303, DEFAULT_API_VERSION),
}
"""``sregistry-2.1.2`` (what a bare ``python -m tests.server`` starts) and ``fixed``."""


@dataclass(frozen=True)
class ServerConfig:
    """Behaviour switches; the defaults are the ``fixed`` profile (intended behaviour)."""

    user_collections: bool = True
    """``USER_COLLECTIONS``: any user may create collections (else staff only)."""
    private_default: bool = False
    """``DEFAULT_PRIVATE``: new collections are private."""
    page_size: int = 10
    """``API_PAGE_SIZE`` of the LimitOffset list views."""
    redirect_status: int = 303
    """``/v1/imagefile`` redirect status; 302 reproduces the real server (R8)."""
    ranges: bool = True
    """The library download target honours ``Range`` (off: always 200, whole body)."""
    api_version: str | None = DEFAULT_API_VERSION
    """``apiVersion`` reported by ``/version``; ``None`` makes ``/version`` a 404."""
    multipart: bool = True
    """Library multipart uploads (off: 404 on ``_multipart``, R10)."""
    part_size: int = 64 * MiB
    """Multipart part size offered to clients."""
    throttle: tuple[int, float] | None = None
    """DRF anonymous throttle ``(requests, seconds)`` per client address (R21)."""
    registry_range: bool = False
    """The registry download route honours ``Range`` (the real one does not, R19)."""
    get_limit: int = 100
    """Weekly GET limit per container and per collection (R15, R19); 0 = none."""
    registry_name: str = "Reference Registry"
    quirks: Quirks = field(default_factory=Quirks)
    """The real server's behaviours that are switched on (:class:`Quirks`)."""
