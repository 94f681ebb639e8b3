"""The server's switches, shared by the command line and the pytest fixture."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT_API_VERSION", "MiB", "ServerConfig", "parse_throttle"]

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
class ServerConfig:
    """Behaviour switches; the defaults are the intended behaviour of sregistry 2.1.2."""

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
