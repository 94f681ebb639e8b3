"""Metadata of listed images, from the server or, where it keeps none, the images.

The real Singularity Registry Server drops the metadata a push sends and the
Library API has none, so their listings carry no labels or scripts.
:func:`image_metadata` fills them in from the images themselves, read in
ranges (:attr:`~sregistry.main.backend.Capability.OPEN_IMAGE`), a few at a
time, and keeps what it read by image sha256 in the local store
(:class:`~sregistry.store.metadata_cache.MetadataCache`), so a second listing
reads nothing from the images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from sregistry.errors import SregistryError
from sregistry.main.backend import Capability
from sregistry.main.base import Client
from sregistry.results import ImageInfo, Label

__all__ = [
    "DEFAULT_WORKERS",
    "INSPECT_KEYS",
    "LABEL_SCAN_LIMIT",
    "FilledImage",
    "ImageLabels",
    "image_metadata",
    "labels_from_images",
]

DEFAULT_WORKERS = 4
"""Images read at once."""
INSPECT_KEYS = frozenset(
    {"labels", "environment", "runscript", "startscript", "test", "helpfile", "deffile", "apps"}
)
"""Inspect attributes: a listing with none of them has no metadata from its server."""

LABEL_SCAN_LIMIT = 100
"""Images :func:`labels_from_images` reads at most."""

Source = Literal["server", "image"]


@dataclass(frozen=True)
class FilledImage:
    """One listed image with its metadata and where that came from."""

    image: ImageInfo
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: Source | None = None
    """``server`` (the listing), ``image`` (read from the image), ``None`` (neither)."""
    warning: str | None = None
    """Why the image could not be read, when it could not."""


def _sha256(version: str | None) -> str | None:
    if version and version.startswith("sha256.") and len(version) == 71:
        return version[7:].lower()
    return None


def image_metadata(
    client: Client,
    images: Sequence[ImageInfo],
    *,
    workers: int = DEFAULT_WORKERS,
    env: Mapping[str, str] | None = None,
    cache: bool = True,
) -> list[FilledImage]:
    """Each image's metadata: the server's when it keeps metadata, else read from the image.

    A server keeps metadata when any listed image carries some (an image
    without any on such a server has none; reading it would only cost a
    download, which the Singularity Registry Server counts toward its weekly
    limit). Images are read ``workers`` at a time; what is read is cached by sha256 in
    the local store (``env`` locates it; ``cache=False`` neither reads nor
    writes it). A failure to read one image becomes its ``warning``.
    """
    from sregistry.store.images import ImageStore
    from sregistry.store.metadata_cache import MetadataCache

    store = MetadataCache(ImageStore(env=env).root) if cache else None
    results: list[FilledImage | None] = []
    todo: list[int] = []
    if any(INSPECT_KEYS & set(image.metadata) for image in images):
        return [FilledImage(image, image.metadata, "server") for image in images]
    for index, image in enumerate(images):
        sha256 = _sha256(image.version)
        entry = store.get(sha256) if store is not None and sha256 else None
        if entry is not None and isinstance(entry.get("attributes"), dict):
            results.append(FilledImage(image, entry["attributes"], "image"))
        elif client.supports(Capability.OPEN_IMAGE):
            results.append(None)
            todo.append(index)
        else:
            results.append(FilledImage(image))

    def read(index: int) -> FilledImage:
        image = images[index]
        try:
            result = client.inspect(client.image_reference(image))
        except SregistryError as exc:
            return FilledImage(image, warning=f"{image.uri}: {exc.message}")
        sha256 = _sha256(image.version)
        if store is not None and sha256:
            store.put(sha256, {"attributes": result.attributes, "arch": result.arch})
        return FilledImage(image, result.attributes, "image")

    if todo:
        # the first one alone: a client sets up its connection state lazily
        results[todo[0]] = read(todo[0])
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for index, filled in zip(todo[1:], pool.map(read, todo[1:]), strict=True):
                results[index] = filled
    return [filled for filled in results if filled is not None]


@dataclass(frozen=True)
class ImageLabels:
    """Labels gathered from the images of a listing."""

    labels: list[Label]
    images: int
    """Images whose labels were looked at."""
    skipped: int
    """Listed images left out (beyond the limit)."""
    warnings: tuple[str, ...] = ()


def labels_from_images(
    client: Client,
    *,
    key: str | None = None,
    value: str | None = None,
    limit: int = LABEL_SCAN_LIMIT,
    env: Mapping[str, str] | None = None,
    cache: bool = True,
) -> ImageLabels:
    """The labels of the server's images (the first ``limit`` it lists), read
    from the images where the server keeps none, filtered by ``key``/``value``
    (exact, ignoring case). Cached as :func:`image_metadata` caches."""
    images = client.search(None)
    chosen = images[:limit]
    filled = image_metadata(client, chosen, env=env, cache=cache)
    carriers: dict[tuple[str, str], list[str]] = {}
    for item in filled:
        labels = item.metadata.get("labels")
        if not isinstance(labels, Mapping):
            continue
        for name, text in labels.items():
            if (key is None or str(name).lower() == key.lower()) and (
                value is None or str(text).lower() == value.lower()
            ):
                carriers.setdefault((str(name), str(text)), []).append(item.image.uri)
    found = [
        Label(name, text, tuple(sorted(uris))) for (name, text), uris in sorted(carriers.items())
    ]
    warnings = tuple(item.warning for item in filled if item.warning)
    return ImageLabels(found, len(chosen), len(images) - len(chosen), warnings)
