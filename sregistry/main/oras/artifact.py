"""A SIF image as an OCI artifact: push it, find it, pull it.

* :func:`push_sif`: after checking the file is a SIF image of a known
  architecture (:func:`sif_arch`), the config blob ``{}`` and the SIF layer
  (each skipped when present, the layer mounted from another repository when
  asked), then the manifest under each tag;
* :func:`created_from_labels`: the manifest's ``created`` from the image's
  ``org.label-schema.build-date`` label;
* :func:`describe` / :func:`describe_tags`: what a tag holds, for listings
  and ``inspect``;
* :func:`resolve_sif`: the manifest a reference names, through an image
  index by architecture when the reference names one;
* :func:`pull_sif`: the layer into a file, verified in the same pass, kept
  only when it starts like a SIF image.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sregistry.errors import DestinationExists, IntegrityError, MetadataError, ServerError
from sregistry.main.oras.blobs import CHUNK_SIZE, BlobSource, UploadResult, download_blob, push_blob
from sregistry.main.oras.distribution import get_manifest, put_manifest
from sregistry.main.oras.distribution import tags as list_tags
from sregistry.main.oras.manifest import (
    EMPTY_CONFIG,
    EMPTY_CONFIG_DIGEST,
    OCI_MANIFEST,
    Index,
    SifManifest,
    build_manifest,
    parse_manifest,
    select_platform,
)
from sregistry.metadata.sif import MAGIC, read_sif
from sregistry.transfer.bodies import BLOCK_SIZE
from sregistry.transfer.download import place

if TYPE_CHECKING:
    from sregistry.main.oras.reference import OrasReference
    from sregistry.main.oras.session import RegistrySession
    from sregistry.transfer.download import Downloaded

__all__ = [
    "BUILD_DATE_LABEL",
    "ArtifactInfo",
    "PushedSif",
    "ResolvedSif",
    "created_from_labels",
    "describe",
    "describe_tags",
    "file_digest",
    "pull_sif",
    "push_sif",
    "resolve_sif",
    "sif_arch",
]

Progress = Callable[[int, "int | None"], None]
_MAGIC_OFFSET = 32


@dataclass(frozen=True)
class PushedSif:
    """What a push stored."""

    digest: str
    """The manifest's digest."""
    layer: UploadResult
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ResolvedSif:
    """The manifest a reference leads to."""

    manifest: SifManifest
    digest: str
    """The digest of that manifest (of the platform's manifest for an index)."""
    index_digest: str | None = None
    document: bytes = b""
    """That manifest as the registry sent it."""


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file, read in blocks."""
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(BLOCK_SIZE):
            hasher.update(block)
    return "sha256:" + hasher.hexdigest()


def sif_arch(path: Path) -> str:
    """The architecture of the SIF image at ``path``; raises :class:`MetadataError`
    unless it is a SIF image whose architecture is known (Apptainer's push check)."""
    image = read_sif(path)
    if image.arch is None:
        raise MetadataError(
            f"{path} has no known architecture (SIF code {image.header.arch_code!r})",
            hint="rebuild the image with apptainer or singularity",
        )
    return image.arch


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("january", "february", "march", "april", "may", "june", "july", "august",
         "september", "october", "november", "december"),
        start=1,
    )
}  # fmt: skip
_BUILD_DATE = re.compile(
    r"^[A-Za-z]+_(\d{1,2})_([A-Za-z]+)_(\d{4})_(\d{1,2}):(\d{1,2}):(\d{1,2})_(UTC|GMT|Z)$"
)
BUILD_DATE_LABEL = "org.label-schema.build-date"


def created_from_labels(labels: Mapping[str, str]) -> str | None:
    """RFC 3339 UTC from ``org.label-schema.build-date``: Singularity's
    ``Monday_2_January_2006_15:04:05_UTC`` or an RFC 3339 date (``None`` otherwise)."""
    text = (labels.get(BUILD_DATE_LABEL) or "").strip()
    when: datetime.datetime | None = None
    match = _BUILD_DATE.match(text)
    if match is not None and match.group(2).lower() in _MONTHS:
        day, _month, year, hour, minute, second = match.groups()[:6]
        try:
            when = datetime.datetime(
                int(year), _MONTHS[match.group(2).lower()], int(day),
                int(hour), int(minute), int(second), tzinfo=datetime.timezone.utc,
            )  # fmt: skip
        except ValueError:
            return None
    elif text:
        try:
            when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            return None
    if when is None:
        return None
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def push_sif(
    session: RegistrySession,
    reference: OrasReference,
    path: Path,
    *,
    tags: Sequence[str] = (),
    created: str | None = None,
    annotations: Mapping[str, str] | None = None,
    digest: str | None = None,
    mount_from: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> PushedSif:
    """Upload ``path`` as Apptainer does and tag it ``tags`` (default: the reference's tag).

    ``digest`` is the file's sha256 when the caller already computed it.
    """
    sif_arch(path)
    repository = reference.repository
    size = path.stat().st_size
    layer_digest = digest or file_digest(path)
    push_blob(
        session,
        repository,
        BlobSource(EMPTY_CONFIG_DIGEST, len(EMPTY_CONFIG), data=EMPTY_CONFIG),
    )
    layer = push_blob(
        session,
        repository,
        BlobSource(layer_digest, size, path=path),
        mount_from=mount_from,
        progress=progress,
        chunk_size=chunk_size,
    )
    manifest = build_manifest(
        layer_digest=layer_digest,
        layer_size=size,
        title=path.name,
        created=created,
        annotations=annotations,
    )
    names = tuple(tags) or (reference.tag or "latest",)
    manifest_digest = ""
    for tag in names:
        manifest_digest = put_manifest(session, repository, tag, manifest, OCI_MANIFEST)
    return PushedSif(manifest_digest, layer, names)


def resolve_sif(session: RegistrySession, reference: OrasReference, *, arch: str) -> ResolvedSif:
    """The SIF manifest of ``reference``; an index is resolved for ``linux/arch``."""
    where = str(reference)
    fetched = get_manifest(session, reference.repository, reference.reference)
    parsed = parse_manifest(fetched.data, fetched.media_type, where=where)
    if isinstance(parsed, SifManifest):
        return ResolvedSif(parsed, fetched.digest, document=fetched.data)
    assert isinstance(parsed, Index)
    chosen = select_platform(parsed, arch, where=where)
    inner = get_manifest(session, reference.repository, chosen.digest)
    manifest = parse_manifest(inner.data, inner.media_type, where=f"{where} ({arch})")
    if not isinstance(manifest, SifManifest):
        raise ServerError(f"the index of {where} points at another index for {arch}")
    return ResolvedSif(manifest, inner.digest, fetched.digest, document=inner.data)


def _starts_like_sif(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(_MAGIC_OFFSET)
        return handle.read(len(MAGIC)) == MAGIC


def pull_sif(
    session: RegistrySession,
    reference: OrasReference,
    manifest: SifManifest,
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> Downloaded:
    """Download the SIF layer into ``target`` (verified size and sha256, SIF magic)."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise DestinationExists.at(target)
    staging = target.with_name(f".{target.name}.{secrets.token_hex(4)}.oras")
    try:
        done = download_blob(
            session, reference.repository, manifest.layer, staging, progress=progress
        )
        if not _starts_like_sif(staging):
            raise IntegrityError(
                f"{reference} is not a SIF image (no SIF magic); nothing was saved",
                hint="pull container images (not oras:// artifacts) with apptainer or singularity",
            )
        place(staging, target, overwrite=overwrite)
    finally:
        with contextlib.suppress(OSError):
            staging.unlink()
    return dataclasses.replace(done, path=target)


@dataclass(frozen=True)
class ArtifactInfo:
    """What a tag or digest holds, as listings and ``inspect`` show it."""

    reference: str
    """``oras://HOST/REPO:TAG`` (or ``@DIGEST``)."""
    digest: str
    """The manifest's (or index's) digest."""
    media_type: str
    size: int | None
    """The SIF layer's size (``None`` for an index)."""
    layer_digest: str | None
    created: str | None
    title: str | None
    annotations: Mapping[str, str]
    platforms: tuple[str, ...] = ()
    """``os/architecture`` of each manifest of an index."""


def describe(
    session: RegistrySession, reference: OrasReference, *, strict: bool = True
) -> ArtifactInfo:
    """The manifest (or index) ``reference`` names, summarised.

    Without ``strict`` a manifest that holds no SIF image (a container image
    in the same repository) is described by its digest and media type only,
    instead of raising :class:`~sregistry.errors.ServerError`.
    """
    where = str(reference)
    fetched = get_manifest(session, reference.repository, reference.reference)
    try:
        parsed = parse_manifest(fetched.data, fetched.media_type, where=where)
    except ServerError:
        if strict:
            raise
        kind = fetched.media_type or "unknown"
        return ArtifactInfo(where, fetched.digest, kind, None, None, None, None, {})
    if isinstance(parsed, Index):
        platforms = tuple(f"{p.os}/{p.architecture}" for p in parsed.platforms)
        return ArtifactInfo(
            where, fetched.digest, parsed.media_type, None, None, None, None, {}, platforms
        )
    layer = parsed.layer
    return ArtifactInfo(
        where,
        fetched.digest,
        parsed.media_type,
        layer.size,
        layer.digest,
        parsed.created,
        layer.title,
        dict(parsed.annotations),
    )


def describe_tags(session: RegistrySession, reference: OrasReference) -> list[ArtifactInfo]:
    """Every tag of ``reference``'s repository, described (one manifest GET per
    tag); tags holding something else than a SIF image are listed too."""
    return [
        describe(session, reference.with_reference(tag=tag), strict=False)
        for tag in sorted(list_tags(session, reference.repository))
    ]
