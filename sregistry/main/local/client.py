"""``LocalClient``: the :class:`~sregistry.main.base.Client` API over the local
image store (:mod:`sregistry.store`).

push stores a copy (with the image's metadata), pull writes a checked copy
out (the store is this backend's registry, not a cache in front of one, so
``PullResult.from_cache`` stays false), search/get/delete/labels read or
change the store's rows. References are
``[local://]collection/name[:tag][@sha256.<hex>]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sregistry.main.backend import BackendSettings
from sregistry.main.base import (
    Client,
    ImageInfo,
    Label,
    PathLike,
    ProgressCallback,
    PullResult,
    PushResult,
)
from sregistry.store import ImageStore
from sregistry.store.describe import describe_image
from sregistry.store.records import parse_name

__all__ = ["LocalClient", "LocalSettings"]


@dataclass(frozen=True, kw_only=True)
class LocalSettings(BackendSettings):
    """The options of :class:`LocalClient`."""

    storage: str | os.PathLike[str] | None = None
    cache: bool = True
    """Accepted like the remote backends' option; the local store is the store."""


class LocalClient(Client):
    """The local image store as a registry.

    ``storage`` is the store's folder (default ``$SREGISTRY_STORAGE``, else
    the user data directory); ``env`` replaces ``os.environ`` when looking
    settings up. ``uri`` (``local://...``) is accepted for symmetry with the
    remote backends and names nothing to connect to; so are ``cache`` (pulls
    from the store are never recorded again in it) and ``sleep`` (the store
    never waits to retry).
    """

    kind = "local"
    settings_type: ClassVar[type[LocalSettings]] = LocalSettings

    def __init__(
        self,
        *,
        uri: str | None = None,
        storage: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        cache: bool = True,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.uri = uri
        self.store = ImageStore(storage, env=env)

    @property
    def location(self) -> str:
        return str(self.store.root)

    def push(
        self,
        path: PathLike,
        name: str,
        tag: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        inspect: bool = True,
        progress: ProgressCallback | None = None,
    ) -> PushResult:
        ref = parse_name(name, tag=tag)
        warnings: tuple[str, ...] = ()
        arch: str | None = None
        if metadata is None and inspect:
            described = describe_image(path)
            metadata, arch, warnings = described.metadata, described.arch, described.warnings
        image = self.store.add(
            path,
            ref.uri,
            copy=True,
            metadata=metadata,
            source="local",
            arch=arch,
            progress=progress,
        )
        return PushResult(
            name=image.uri,
            size=image.size,
            sha256=image.sha256,
            version=image.version,
            location=str(image.path),
            metadata_sent=bool(image.metadata),
            warnings=warnings,
        )

    def pull(
        self,
        name: str,
        dest: PathLike | None = None,
        force: bool = False,
        *,
        progress: ProgressCallback | None = None,
    ) -> PullResult:
        image = self.store.get(name)
        path = self.store.export(image.pinned_uri, dest, force=force, progress=progress)
        return PullResult(
            path=path,
            name=image.uri,
            size=image.size,
            sha256=image.sha256,
            version=image.version,
        )

    def display_name(self, name: str) -> str:
        return parse_name(name).uri

    def search(self, query: str | None = None) -> list[ImageInfo]:
        return [image.to_image_info() for image in self.store.search(query)]

    def get(self, name: str) -> ImageInfo:
        return self.store.get(name).to_image_info()

    def delete(self, name: str) -> None:
        self.store.remove(name)

    def labels(self, key: str | None = None, value: str | None = None) -> list[Label]:
        return self.store.labels(key, value)

    def close(self) -> None:
        self.store.close()
