"""The store as a cache for the remote backends: skip downloads of bytes
already stored, record what was pulled.

A backend's pull, with the expected digest known before downloading::

    store = open_cache(no_cache=no_cache)          # None when caching is off
    if store is not None and (path := cached_pull(store, digest, target, force)):
        return PullResult(path, ..., from_cache=True)
    ...download to target, verified...
    if store is not None:
        record_pull(store, target, name, sha256=digest, source="registry://host")
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sregistry.config import truthy
from sregistry.errors import DestinationExists, NotFound
from sregistry.store.blobs import is_digest
from sregistry.store.images import ImageStore
from sregistry.store.records import StoredImage

if TYPE_CHECKING:
    from sregistry.main.base import ProgressCallback

__all__ = ["DISABLE_ENV", "cache_enabled", "cached_pull", "open_cache", "record_pull"]

DISABLE_ENV = ("SREGISTRY_DISABLE", "SINGULARITY_DISABLE_CACHE")
"""Booleans that stop remote pulls from using or filling the store."""


def cache_enabled(env: Mapping[str, str] | None = None) -> bool:
    """False when ``$SREGISTRY_DISABLE`` or ``$SINGULARITY_DISABLE_CACHE`` is true."""
    env = os.environ if env is None else env
    return not any(truthy(env.get(name)) for name in DISABLE_ENV)


def open_cache(
    env: Mapping[str, str] | None = None, *, no_cache: bool = False
) -> ImageStore | None:
    """The store remote pulls use, or ``None`` when ``no_cache`` or the
    environment turns caching off."""
    if no_cache or not cache_enabled(env):
        return None
    return ImageStore(env=env)


def _digest(sha256: str) -> str | None:
    digest = sha256.lower()
    for prefix in ("sha256.", "sha256:"):
        digest = digest.removeprefix(prefix)
    return digest if is_digest(digest) else None


def cached_pull(
    store: ImageStore,
    sha256: str,
    dest: Path,
    force: bool,
    *,
    progress: ProgressCallback | None = None,
) -> Path | None:
    """Copy stored bytes with this digest (hex or ``sha256.<hex>``) to the file
    ``dest`` and return it; ``None`` when the store does not hold them.

    The copy is checked (a damaged stored file raises
    :class:`~sregistry.errors.IntegrityError`) and renamed into place when
    complete. An existing ``dest`` is replaced only with ``force``
    (:class:`~sregistry.errors.DestinationExists`).
    """
    digest = _digest(sha256)
    if digest is None or store.find_blob(digest) is None:
        return None
    if not force and os.path.lexists(dest):
        raise DestinationExists(f"{dest} already exists", hint="use --force to replace it")
    try:
        store.copy_out(digest, dest, force=force, progress=progress)
    except NotFound:
        return None  # removed by another process a moment ago: download instead
    return dest


def record_pull(
    store: ImageStore,
    path: Path,
    name: str,
    *,
    sha256: str,
    source: str,
    metadata: Mapping[str, Any] | None = None,
    arch: str | None = None,
) -> StoredImage:
    """Store a copy of a pulled, verified file as ``name`` (not hashed again;
    nothing copied when the bytes are already stored)."""
    return store.add(
        path, name, copy=True, sha256=sha256, source=source, metadata=metadata, arch=arch
    )
