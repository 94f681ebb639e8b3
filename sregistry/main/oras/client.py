"""``oras://``: SIF images in OCI registries, as Apptainer pushes and pulls them.

:class:`OrasClient` maps the client API onto :mod:`sregistry.main.oras.artifact`
and friends; the base :class:`~sregistry.main.remote.RemoteClient` owns the pull
pipeline (destination, local store cache keyed by the layer's sha256, result).
One client talks to any number of registries: each reference names its host,
and each host gets its own session (credentials, challenge, token cache).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sregistry.credentials.secret import Secret
from sregistry.errors import ConfigError, InvalidName, NotSupported, SregistryError
from sregistry.main.backend import Capability, insecure_setting
from sregistry.main.oras.artifact import (
    ArtifactInfo,
    created_from_labels,
    describe,
    describe_tags,
    file_digest,
    pull_sif,
    push_sif,
    resolve_sif,
)
from sregistry.main.oras.blobs import CHUNK_SIZE, open_blob
from sregistry.main.oras.distribution import catalog, delete_manifest, tags
from sregistry.main.oras.manifest import SifManifest
from sregistry.main.oras.reference import (
    OrasReference,
    parse_reference,
    parse_registry,
)
from sregistry.main.oras.session import RegistrySession
from sregistry.main.oras.settings import OrasSettings, credential_environment, credential_for
from sregistry.main.remote import Fetched, RemoteClient, Wanted
from sregistry.names import normalize_collection
from sregistry.results import ImageInfo, Label, PathLike, ProgressCallback, PushResult
from sregistry.transfer.http import Transport

if TYPE_CHECKING:
    import requests

    from sregistry.metadata import InspectResult
    from sregistry.transfer import Timeout
    from sregistry.transfer.remote_file import RemoteFile

__all__ = ["OrasClient", "host_arch", "split_tags"]

log = logging.getLogger("sregistry.oras")

_MACHINES = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
    "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "i686": "386", "i386": "386",
}  # fmt: skip


def host_arch(machine: str | None = None) -> str:
    """This machine's architecture as OCI platforms name it (``amd64``, ``arm64``...)."""
    name = (machine if machine is not None else platform.machine()).lower()
    return _MACHINES.get(name, "arm" if name.startswith("arm") else name or "amd64")


def split_tags(name: str) -> tuple[str, list[str]]:
    """``oras://h/r:a,b`` -> (``oras://h/r:a``, ``["a", "b"]``); no list: ``[]``."""
    head, slash, last = name.rpartition("/")
    repo, colon, tag_text = last.partition(":")
    if not colon or "," not in tag_text or "@" in tag_text:
        return name, []
    listed = [tag.strip() for tag in tag_text.split(",")]
    if any(not tag for tag in listed):
        raise InvalidName(f"{name!r}: an empty tag in the tag list")
    return f"{head}{slash}{repo}:{listed[0]}", listed


@dataclass(frozen=True, kw_only=True)
class _OrasPull(Wanted):
    reference: OrasReference
    manifest: SifManifest
    document: bytes = b""
    """The manifest as the registry sent it."""
    index_digest: str | None = None


class OrasClient(RemoteClient[_OrasPull]):
    """SIF images in OCI registries (ghcr.io, Harbor, GitLab, Docker Hub, Distribution).

    ``uri`` (``oras://HOST[/...]``) names the registry used when a reference
    has none of its own. ``username``/``password`` authenticate at every
    registry; otherwise each host's credentials come from the environment and
    the Docker/Apptainer files (see :mod:`sregistry.main.oras.settings`;
    ``authfile`` replaces the files). ``insecure`` turns TLS verification off;
    ``plain_http`` speaks HTTP to every registry (loopback, RFC 1918 and
    ``*.local`` hosts get HTTP anyway). ``arch`` picks the image of an index
    (default: this machine's). ``chunk_size`` bytes go in one request (larger
    blobs in chunks of that size). ``cache`` as for every downloading backend;
    ``sleep`` replaces ``time.sleep`` between retries (tests).
    """

    kind: ClassVar[str] = "oras"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.OPEN_IMAGE})
    settings_type: ClassVar[type[OrasSettings]] = OrasSettings

    def __init__(
        self,
        *,
        uri: str | None = None,
        username: str | None = None,
        password: str | None = None,
        authfile: str | None = None,
        insecure: bool = False,
        plain_http: bool = False,
        arch: str | None = None,
        chunk_size: int | None = None,
        timeout: Timeout | float | tuple[float, float] | None = None,
        session: requests.Session | None = None,
        env: Mapping[str, str] | None = None,
        cache: bool = True,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        super().__init__(env=env, cache=cache)
        self.registry = _registry_of(uri)
        self.username = username
        self._password = Secret(password) if password is not None else None
        self.authfile = authfile
        self.insecure = insecure_setting(insecure, env)
        self.plain_http = plain_http
        self.arch = arch or host_arch()
        if chunk_size is not None and chunk_size < 1:
            raise ConfigError(f"chunk_size must be a positive number of bytes, not {chunk_size}")
        self.chunk_size = chunk_size
        self._credential_env = credential_environment(env)
        self.transport = Transport(
            session=session,
            verify=not self.insecure,
            timeout=timeout,
            env=env,
            sleep=time.sleep if sleep is None else sleep,
        )
        self._sessions: dict[str, RegistrySession] = {}
        self._pushed: dict[tuple[str, str], str] = {}
        """(registry, layer digest) -> the repository this client last pushed it to."""
        self.sources: dict[str, str] = {}
        """Registry host -> where its credentials came from (never the values)."""

    @property
    def location(self) -> str:
        return f"oras://{self.registry}" if self.registry else "oras:// (each reference's host)"

    def close(self) -> None:
        self.transport.close()

    # -- plumbing -----------------------------------------------------------------------------

    def _reference(self, name: str, *, default_tag: bool = True) -> OrasReference:
        text = name if "://" in name or self.registry is None else f"{self.registry}/{name}"
        return parse_reference(text, default_tag=default_tag)

    def session_for(self, registry: str) -> RegistrySession:
        """The session for ``registry`` (``host[:port]``), its credentials looked up once."""
        found = self._sessions.get(registry)
        if found is None:
            credential = credential_for(
                registry,
                username=self.username,
                password=self._password,
                authfile=self.authfile,
                env=self._credential_env,
            )
            self.sources[registry] = credential.source if credential else "anonymous"
            log.debug("credentials for %s: %s", registry, self.sources[registry])
            base = OrasReference(registry, "x").base_url(insecure_http=self.plain_http)
            found = RegistrySession(self.transport, registry, credential=credential, base_url=base)
            self._sessions[registry] = found
        return found

    def display_name(self, name: str) -> str:
        return str(self._reference(split_tags(name)[0]))

    # -- push ---------------------------------------------------------------------------------

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
        first, listed = split_tags(name)
        ref = self._reference(first)
        names = [tag] if tag else listed or [ref.tag or "latest"]
        for each in names:  # every tag of the list must be valid before anything is sent
            parse_reference(f"{ref.registry}/{ref.repository}:{each}")
        source = Path(path)
        warnings: list[str] = []
        labels = self._labels(source, metadata, inspect=inspect, warnings=warnings)
        digest = file_digest(source)
        mount_from = self._mount_source(ref, digest)
        pushed = push_sif(
            self.session_for(ref.registry),
            ref,
            source,
            tags=names,
            created=created_from_labels(labels),
            digest=digest,
            mount_from=mount_from,
            progress=progress,
            chunk_size=self.chunk_size or CHUNK_SIZE,
        )
        if pushed.layer.mounted:
            log.info("%s: the layer was mounted from %s", ref, mount_from)
        self._pushed[(ref.registry, digest)] = ref.repository
        return PushResult(
            name=str(ref.with_reference(tag=names[0])),
            size=source.stat().st_size,
            sha256=digest.removeprefix("sha256:"),
            version=pushed.digest,
            location=f"oras://{ref.registry}",
            warnings=tuple(warnings),
        )

    def _mount_source(self, ref: OrasReference, digest: str) -> str | None:
        """Another repository of ``ref``'s registry known to hold the blob
        ``digest``: where this client pushed it, else where the local store
        recorded pulling it from. The store only helps: a broken one is ignored."""
        pushed = self._pushed.get((ref.registry, digest))
        if pushed is not None and pushed != ref.repository:
            return pushed
        if not self.cache:
            return None
        from sregistry.store.cache import open_cache

        sha256 = digest.removeprefix("sha256:")
        try:
            store = open_cache(self._cache_env)
            if store is None:
                return None
            with store:
                found = store.search(f"sha256.{sha256}")
        except SregistryError as exc:
            log.debug("the local store could not be read for a mount source: %s", exc)
            return None
        for image in found:
            if image.sha256 != sha256 or not image.source.startswith(f"oras://{ref.registry}/"):
                continue  # also those recorded before pulls named their repository
            try:
                source = parse_reference(image.source)
            except InvalidName:
                continue
            if source.registry == ref.registry and source.repository != ref.repository:
                return source.repository
        return None

    @staticmethod
    def _labels(
        path: Path, metadata: Mapping[str, Any] | None, *, inspect: bool, warnings: list[str]
    ) -> Mapping[str, str]:
        if metadata is None and inspect:
            from sregistry.metadata.inspect import inspect_image

            try:
                found = inspect_image(path)
            except SregistryError as exc:
                warnings.append(f"the image's labels could not be read ({exc}): no created date")
                return {}
            warnings.extend(found.warnings)
            return found.labels
        labels = (metadata or {}).get("labels")
        return labels if isinstance(labels, Mapping) else {}

    # -- pull (the pipeline is the base class's) ------------------------------------------------

    def _pull_filename(self, name: str) -> str:
        ref = self._reference(name)
        last = ref.repository.rsplit("/", 1)[-1]
        suffix = ref.tag if ref.digest is None else ref.digest.removeprefix("sha256:")[:12]
        return f"{last}_{suffix}.sif"

    def _resolve_pull(self, name: str) -> _OrasPull:
        ref = self._reference(name)
        resolved = resolve_sif(self.session_for(ref.registry), ref, arch=self.arch)
        return _OrasPull(
            name=str(ref),
            store_name=_store_name(ref),
            host=ref.registry,
            sha256=resolved.manifest.layer.digest.removeprefix("sha256:"),
            version=resolved.digest,
            arch=self.arch if resolved.index_digest else None,
            source=f"oras://{ref.registry}/{ref.repository}",
            reference=ref,
            manifest=resolved.manifest,
            document=resolved.document,
            index_digest=resolved.index_digest,
        )

    def _fetch(
        self, wanted: _OrasPull, target: Path, *, force: bool, progress: ProgressCallback | None
    ) -> Fetched:
        done = pull_sif(
            self.session_for(wanted.reference.registry),
            wanted.reference,
            wanted.manifest,
            target,
            overwrite=force,
            progress=progress,
        )
        return Fetched(done.path, done.digests.sha256, done.resumed_from)

    def _open(self, wanted: _OrasPull) -> RemoteFile:
        return open_blob(
            self.session_for(wanted.reference.registry),
            wanted.reference.repository,
            wanted.manifest.layer,
            max_bytes=self.remote_read_max,
        )

    def inspect(self, name: str) -> InspectResult:
        """The image's metadata read in ranges of its layer, with the manifest
        and its annotations (:attr:`~sregistry.metadata.InspectResult.manifest`)."""
        from sregistry.metadata.native import inspect_native

        wanted = self._resolve_pull(name)
        with self._open(wanted) as image:
            result = inspect_native(image)
        return replace(result, path=name, manifest=_manifest_section(wanted))

    # -- queries ------------------------------------------------------------------------------

    def search(self, query: str | None = None) -> list[ImageInfo]:
        """``oras://HOST`` (or nothing, with a client made for one host): every
        repository's tags, from the catalog; ``oras://HOST/REPO``: its tags,
        described; ``oras://HOST/REPO:TAG``: that tag."""
        whole = parse_registry(query) if query else self.registry
        if whole is not None or query is None:
            if whole is None:
                raise InvalidName("name a registry (oras://HOST) or a repository to list")
            session = self.session_for(whole)
            return [
                _info(OrasReference(whole, repository, tag), None)
                for repository in catalog(session)
                for tag in sorted(tags(session, repository))
            ]
        ref = self._reference(query, default_tag=False)
        session = self.session_for(ref.registry)
        if ref.tag is None and ref.digest is None:
            found = describe_tags(session, ref)
            return [_info(parse_reference(info.reference), info) for info in found]
        return [_info(ref, describe(session, ref))]

    def get(self, name: str) -> ImageInfo:
        ref = self._reference(name)
        return _info(ref, describe(self.session_for(ref.registry), ref))

    def delete(self, name: str) -> None:
        ref = self._reference(name)
        delete_manifest(self.session_for(ref.registry), ref.repository, ref.reference)

    def labels(self, key: str | None = None, value: str | None = None) -> list[Label]:
        raise NotSupported(
            "OCI registries have no label index: use `get` for an image's annotations"
        )


def _registry_of(uri: str | None) -> str | None:
    if not uri:
        return None
    return parse_registry(uri) or parse_reference(split_tags(uri)[0]).registry


def _collection_name(ref: OrasReference) -> tuple[str, str]:
    namespace, _, last = ref.repository.rpartition("/")
    return f"{ref.registry}/{namespace}" if namespace else ref.registry, last


def _store_name(ref: OrasReference) -> str:
    """The local store's ``collection/name:tag`` for a pulled reference."""
    namespace, _, last = ref.repository.rpartition("/")
    collection = normalize_collection(namespace or ref.registry.split(":")[0]) or "oras"
    tag = (ref.tag or "latest").lower()
    if ref.digest is not None and ref.tag is None:
        tag = "sha256." + ref.digest.removeprefix("sha256:")[:12]
    return f"{collection}/{last}:{tag}"


def _manifest_section(wanted: _OrasPull) -> dict[str, Any]:
    document = json.loads(wanted.document) if wanted.document else None  # parsed once already
    return {
        "digest": wanted.version,
        "mediaType": wanted.manifest.media_type,
        "index": wanted.index_digest,
        "annotations": dict(wanted.manifest.annotations),
        "document": document,
    }


def _info(ref: OrasReference, described: ArtifactInfo | None) -> ImageInfo:
    collection, name = _collection_name(ref)
    tag = ref.tag or (ref.digest or "latest")
    if described is None:
        return ImageInfo(collection, name, tag, location=f"oras://{ref.registry}")
    metadata: dict[str, Any] = {"labels": dict(described.annotations)}
    if described.platforms:
        metadata["platforms"] = list(described.platforms)
    return ImageInfo(
        collection,
        name,
        tag,
        version=described.digest,
        size=described.size,
        created=described.created,
        location=f"oras://{ref.registry}",
        metadata=metadata,
    )
