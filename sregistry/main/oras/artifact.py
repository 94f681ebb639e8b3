"""A SIF image as an OCI artifact: push it, find it, pull it.

* :func:`push_sif`: the config blob ``{}`` and the SIF layer (each skipped when
  present, the layer mounted from another repository when asked), then the
  manifest under each tag;
* :func:`resolve_sif`: the manifest a reference names, through an image
  index by architecture when the reference names one;
* :func:`pull_sif`: the layer into a file, verified in the same pass, kept
  only when it starts like a SIF image.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sregistry.errors import DestinationExists, IntegrityError, ServerError
from sregistry.main.oras.blobs import CHUNK_SIZE, BlobSource, UploadResult, download_blob, push_blob
from sregistry.main.oras.distribution import get_manifest, put_manifest
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
from sregistry.metadata.sif import MAGIC
from sregistry.transfer.bodies import BLOCK_SIZE
from sregistry.transfer.download import place, temporary_path

if TYPE_CHECKING:
    from sregistry.main.oras.reference import OrasReference
    from sregistry.main.oras.session import RegistrySession
    from sregistry.transfer.download import Downloaded

__all__ = ["PushedSif", "ResolvedSif", "file_digest", "pull_sif", "push_sif", "resolve_sif"]

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


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file, read in blocks."""
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(BLOCK_SIZE):
            hasher.update(block)
    return "sha256:" + hasher.hexdigest()


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
        return ResolvedSif(parsed, fetched.digest)
    assert isinstance(parsed, Index)
    chosen = select_platform(parsed, arch, where=where)
    inner = get_manifest(session, reference.repository, chosen.digest)
    manifest = parse_manifest(inner.data, inner.media_type, where=f"{where} ({arch})")
    if not isinstance(manifest, SifManifest):
        raise ServerError(f"the index of {where} points at another index for {arch}")
    return ResolvedSif(manifest, inner.digest, fetched.digest)


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
    staging = temporary_path(target)
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
