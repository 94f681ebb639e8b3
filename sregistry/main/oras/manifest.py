"""The OCI manifest of a SIF image, as Apptainer writes and reads it.

Writing (:func:`build_manifest`): an OCI image manifest whose config is the
two-byte blob ``{}`` with media type ``application/vnd.sylabs.sif.config.v1+json``
and whose one layer is the SIF file, titled by its file name; the manifest's
annotations hold ``org.opencontainers.image.created`` and the user's own.

Reading (:func:`parse_manifest`): exactly one layer, of the SIF media type or
the historical typo ``appliciation/vnd.sylabs.sif.layer.tar``; the config media
type is not checked. An image index is answered with its platforms, from which
:func:`select_platform` picks the one for an architecture.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sregistry.errors import NotFound, ServerError

__all__ = [
    "ACCEPT",
    "ANNOTATION_CREATED",
    "ANNOTATION_TITLE",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "EMPTY_CONFIG",
    "EMPTY_CONFIG_DIGEST",
    "MANIFEST_LIMIT",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "SIF_CONFIG",
    "SIF_LAYER",
    "SIF_LAYER_LEGACY",
    "Descriptor",
    "Index",
    "Platform",
    "SifManifest",
    "build_manifest",
    "digest_of",
    "parse_manifest",
    "select_platform",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))
"""What a manifest GET accepts."""

SIF_CONFIG = "application/vnd.sylabs.sif.config.v1+json"
SIF_LAYER = "application/vnd.sylabs.sif.layer.v1.sif"
SIF_LAYER_LEGACY = "appliciation/vnd.sylabs.sif.layer.tar"
"""The layer media type Singularity < 3.7 wrote (typo included)."""
EMPTY_CONFIG = b"{}"
EMPTY_CONFIG_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
ANNOTATION_TITLE = "org.opencontainers.image.title"
ANNOTATION_CREATED = "org.opencontainers.image.created"
MANIFEST_LIMIT = 4 << 20
"""Largest manifest read (Distribution's own limit is 4 MiB)."""

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
_INDEXES = frozenset({OCI_INDEX, DOCKER_LIST})


def digest_of(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor: what a manifest says about a blob or another manifest."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str | None:
        return self.annotations.get(ANNOTATION_TITLE)


@dataclass(frozen=True)
class SifManifest:
    """A manifest holding one SIF layer."""

    media_type: str
    config: Descriptor
    layer: Descriptor
    annotations: Mapping[str, str]

    @property
    def created(self) -> str | None:
        return self.annotations.get(ANNOTATION_CREATED)


@dataclass(frozen=True)
class Platform:
    """One manifest of an index, with the platform it is for."""

    descriptor: Descriptor
    os: str
    architecture: str
    variant: str | None = None


@dataclass(frozen=True)
class Index:
    """An image index (or Docker manifest list)."""

    media_type: str
    platforms: tuple[Platform, ...]


def build_manifest(
    *,
    layer_digest: str,
    layer_size: int,
    title: str,
    created: str | None,
    annotations: Mapping[str, str] | None = None,
) -> bytes:
    """The manifest bytes Apptainer would push for this SIF layer.

    ``created`` (RFC 3339) becomes ``org.opencontainers.image.created``;
    ``annotations`` are added to the manifest's (they may override ``created``).
    """
    if not _DIGEST.match(layer_digest):
        raise ValueError(f"{layer_digest!r} is not a sha256 digest")
    merged: dict[str, str] = {}
    if created is not None:
        merged[ANNOTATION_CREATED] = created
    merged.update(annotations or {})
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": SIF_CONFIG, "digest": EMPTY_CONFIG_DIGEST, "size": 2},
        "layers": [
            {
                "mediaType": SIF_LAYER,
                "digest": layer_digest,
                "size": layer_size,
                "annotations": {ANNOTATION_TITLE: title},
            }
        ],
    }
    if merged:
        manifest["annotations"] = merged
    return json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _fail(where: str, why: str) -> ServerError:
    return ServerError(f"the manifest of {where} {why}")


def _strings(value: object, where: str, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _fail(where, f"has malformed {what}")
    return dict(value)


def _descriptor(value: object, where: str, what: str) -> Descriptor:
    if not isinstance(value, dict):
        raise _fail(where, f"has no {what} descriptor")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not isinstance(digest, str):
        raise _fail(where, f"has a {what} without media type or digest")
    if not _DIGEST.match(digest):
        raise _fail(where, f"names a {what} by {digest!r}, not a sha256 digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _fail(where, f"has a {what} without a valid size")
    return Descriptor(media_type, digest, size, _strings(value.get("annotations"), where, what))


def parse_manifest(data: bytes, content_type: str | None, *, where: str) -> SifManifest | Index:
    """Read a manifest or index; raise :class:`ServerError` unless it holds one SIF.

    The media type is the ``Content-Type`` answer, else the body's ``mediaType``.
    ``where`` names the reference in messages.
    """
    try:
        document = json.loads(data)
    except ValueError:
        raise _fail(where, "is not JSON") from None
    if not isinstance(document, dict):
        raise _fail(where, "is not a JSON object")
    declared = document.get("mediaType")
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in _MANIFESTS | _INDEXES and isinstance(declared, str):
        media_type = declared
    if media_type in _INDEXES or (media_type not in _MANIFESTS and "manifests" in document):
        return _index(document, media_type or OCI_INDEX, where)
    if media_type not in _MANIFESTS and "layers" not in document:
        raise _fail(where, f"has the unknown media type {media_type or '(none)'}")
    layers = document.get("layers")
    if not isinstance(layers, list) or len(layers) != 1:
        count = len(layers) if isinstance(layers, list) else 0
        raise ServerError(
            f"{where} is not a SIF image: its manifest has {count} layers, a SIF image has one",
            hint="pull container images (not oras:// artifacts) with apptainer or singularity",
        )
    layer = _descriptor(layers[0], where, "layer")
    if layer.media_type not in {SIF_LAYER, SIF_LAYER_LEGACY}:
        raise ServerError(
            f"{where} is not a SIF image: its layer is {layer.media_type}",
            hint="pull container images (not oras:// artifacts) with apptainer or singularity",
        )
    return SifManifest(
        media_type or OCI_MANIFEST,
        _descriptor(document.get("config"), where, "config"),
        layer,
        _strings(document.get("annotations"), where, "annotations"),
    )


def _index(document: dict[str, Any], media_type: str, where: str) -> Index:
    entries = document.get("manifests")
    if not isinstance(entries, list):
        raise _fail(where, "is an index without manifests")
    platforms = []
    for entry in entries:
        descriptor = _descriptor(entry, where, "manifest")
        platform = entry.get("platform") if isinstance(entry, dict) else None
        if not isinstance(platform, dict):
            continue
        os_name, arch = platform.get("os"), platform.get("architecture")
        variant = platform.get("variant")
        if isinstance(os_name, str) and isinstance(arch, str):
            platforms.append(
                Platform(descriptor, os_name, arch, variant if isinstance(variant, str) else None)
            )
    return Index(media_type, tuple(platforms))


def select_platform(index: Index, arch: str, *, where: str) -> Descriptor:
    """The manifest of ``index`` for ``linux``/``arch`` (``arm64/v8`` style variants allowed)."""
    wanted, _, variant = arch.partition("/")
    for platform in index.platforms:
        if (
            platform.os == "linux"
            and platform.architecture == wanted
            and (not variant or platform.variant == variant)
        ):
            return platform.descriptor
    offered = sorted({f"{p.os}/{p.architecture}" for p in index.platforms}) or ["none"]
    raise NotFound(
        f"{where} has no image for linux/{arch}",
        hint=f"it offers {', '.join(offered)}: choose one of these architectures",
    )
