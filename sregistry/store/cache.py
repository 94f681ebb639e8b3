"""The store as a cache for the remote backends: skip downloads of bytes
already stored, record what was pulled.

A backend's pull, with the expected digest known before downloading::

    with PullCache(env, enabled=cache) as cache:   # opens nothing yet
        if cache.serve(digest, target, force) is None:
            ...download to target, verified...
        cache.record(target, "collection/name:tag", sha256=..., source="registry://host")
    warnings.extend(cache.warnings)

:class:`PullCache` never fails a pull: a damaged stored file is reported and
the image downloaded again (the download then repairs the stored file), and
a failure to record only adds a warning. ``open_cache``, ``cached_pull`` and
``record_pull`` are the raising building blocks underneath.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sregistry.config import truthy
from sregistry.errors import (
    DestinationExists,
    IntegrityError,
    InvalidName,
    NotFound,
    SregistryError,
)
from sregistry.results import ProgressCallback
from sregistry.store.images import ImageStore
from sregistry.store.records import StoredImage, digest_of

__all__ = [
    "DISABLE_ENV",
    "SETTINGS_ENV",
    "PullCache",
    "cache_enabled",
    "cache_settings",
    "cached_pull",
    "open_cache",
    "record_pull",
]

DISABLE_ENV = ("SREGISTRY_DISABLE", "SINGULARITY_DISABLE_CACHE")
"""Booleans that stop remote pulls from using or filling the store."""


SETTINGS_ENV = ("SREGISTRY_STORAGE", "SREGISTRY_DATABASE", *DISABLE_ENV)
"""Every variable the pull cache reads."""


def cache_settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The pull cache's variables of ``env`` (default ``os.environ``): what a
    client keeps for later pulls instead of a whole environment with its tokens."""
    env = os.environ if env is None else env
    return {name: env[name] for name in SETTINGS_ENV if name in env}


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
    try:
        return digest_of(sha256.lower(), sha256)
    except InvalidName:
        return None


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
        raise DestinationExists.at(dest)
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
    """Store a pulled, verified file as ``name`` (not hashed again; nothing
    written when the bytes are already stored). The file stays where it is
    and the store shares its bytes (``ImageStore.add(share=True)``): a
    reflink clone where the filesystem can, else a hard link, which makes
    ``path`` the read-only stored file under a second name; a copy only
    when neither works (store and file on different filesystems)."""
    return store.add(
        path,
        name,
        copy=True,
        share=True,
        sha256=sha256,
        source=source,
        metadata=metadata,
        arch=arch,
    )


class PullCache:
    """The store's part in one remote pull; see the module documentation.

    Nothing is opened by the constructor: with caching off (``enabled`` false,
    ``$SREGISTRY_DISABLE`` or ``$SINGULARITY_DISABLE_CACHE``) no store is
    made at all, and a lookup reads only the file system (no database) until
    something is recorded. Problems land in :attr:`warnings`, never raised.
    """

    def __init__(self, env: Mapping[str, str] | None = None, *, enabled: bool = True) -> None:
        self.store = open_cache(env, no_cache=not enabled)
        self.warnings: list[str] = []
        self._damaged: set[str] = set()

    def serve(
        self,
        sha256: str | None,
        dest: Path,
        force: bool,
        *,
        progress: ProgressCallback | None = None,
    ) -> Path | None:
        """Write the stored bytes with this digest to ``dest`` (see
        :func:`cached_pull`); ``None`` when they are not stored, caching is
        off, or the stored copy cannot be used: a warning then says why, and
        a damaged stored file is repaired by the next :meth:`record` of these
        bytes. Only :class:`~sregistry.errors.DestinationExists` is raised."""
        if self.store is None or sha256 is None:
            return None
        try:
            return cached_pull(self.store, sha256, dest, force, progress=progress)
        except DestinationExists:
            raise
        except IntegrityError as exc:
            digest = _digest(sha256)
            if digest is not None:
                self._damaged.add(digest)
            self.warnings.append(f"{exc.message}: downloading the image again")
        except SregistryError as exc:
            self.warnings.append(f"the local store's copy was not used ({exc.message})")
        return None

    def record(
        self,
        path: Path,
        name: str,
        *,
        sha256: str,
        source: str,
        metadata: Mapping[str, Any] | None = None,
        arch: str | None = None,
    ) -> StoredImage | None:
        """Record the verified file ``path`` as ``name`` (see :func:`record_pull`);
        ``None`` when caching is off or recording failed (with a warning)."""
        if self.store is None:
            return None
        try:
            digest = _digest(sha256)
            if digest is not None and digest in self._damaged:
                self.store.restore(digest, path, share=True)
                self.warnings.append(f"the local store's damaged copy of {name} was replaced")
            return record_pull(
                self.store, path, name, sha256=sha256, source=source, metadata=metadata, arch=arch
            )
        except (SregistryError, OSError) as exc:
            self.warnings.append(f"{name} was not recorded in the local store: {exc}")
            return None

    def close(self) -> None:
        """Close the store's database connection, if one was opened."""
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> PullCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
