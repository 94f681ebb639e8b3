"""The local image store, a service shared by the ``local`` backend, the
store commands (``images``, ``get``, ``add``, ``rm``, ``mv``, ``rename``) and
the remote backends' pull cache. See :mod:`sregistry.store.images` for the
layout and the crash-safety rules."""

from __future__ import annotations

from sregistry.store.cache import (
    PullCache,
    cache_enabled,
    cached_pull,
    open_cache,
    record_pull,
)
from sregistry.store.images import DATABASE_FILE, ImageStore
from sregistry.store.records import StoreCheck, StoredImage, SweepResult

__all__ = [
    "DATABASE_FILE",
    "ImageStore",
    "PullCache",
    "StoreCheck",
    "StoredImage",
    "SweepResult",
    "cache_enabled",
    "cached_pull",
    "open_cache",
    "record_pull",
]
