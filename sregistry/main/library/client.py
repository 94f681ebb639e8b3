"""``LibraryClient``: the Library API (``library://``) behind the common :class:`Client`.

Where the server comes from, first match wins: ``base`` (``--library URL``);
the reference's host (``library://host/entity/collection/container``, as
``https://host`` unless a configured base names the same host); then the
credentials chain (``$SREGISTRY_LIBRARY_BASE``, the secrets file, the active
Singularity/Apptainer remote or ``remote=NAME``). A remote's endpoint is
resolved to its ``libraryAPI.uri`` through ``/assets/config/config.prod.json``
on first use. The token: ``token`` when given, else the credentials chain.

Transfer settings: ``connections`` (``$SREGISTRY_LIBRARY_CONNECTIONS``;
default: one, then one more while that raises the throughput, up to 8)
parallel connections for pulls and multipart pushes;
``part_size`` (``$SREGISTRY_LIBRARY_PART_SIZE``, bytes or ``64M``-style,
default 32 MiB) for ranged pulls; files up to twice the part size (64 MiB by
default) are pulled over one connection. Push part sizes are the server's.

``cache`` (default on; off also with ``$SREGISTRY_DISABLE`` or
``$SINGULARITY_DISABLE_CACHE``) makes pulls use the local image store: an
image whose ``sha256.<hex>`` hash is already stored is copied from there
instead of downloaded, and every pull is recorded (with its arch; the Library
API keeps no other metadata) as ``entity/collection+container:tag`` (see
:func:`sregistry.main.library.pull.store_name`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import requests
import requests.adapters

from sregistry.credentials import configured_library_base, library_base, resolve_library
from sregistry.errors import ConfigError, InvalidName, NotFound, NotSupported, SregistryError
from sregistry.main.backend import Capability, insecure_setting
from sregistry.main.base import (
    ImageInfo,
    Label,
    PathLike,
    ProgressCallback,
    PushResult,
)
from sregistry.main.library import query as q
from sregistry.main.library.api import Call, interpret
from sregistry.main.library.arch import check_arch, host_arch, image_arch
from sregistry.main.library.endpoint import Endpoint, library_root
from sregistry.main.library.models import Collection, Entity, Image
from sregistry.main.library.pull import get_image, open_image_file, pull_image, store_name
from sregistry.main.library.push import create_collection, push_image
from sregistry.main.library.refs import LibraryRef, check_name, check_push, parse_library_ref
from sregistry.main.library.settings import (
    LibrarySettings,
    connections_setting,
    part_size_setting,
)
from sregistry.main.remote import Fetched, RemoteClient, Wanted
from sregistry.transfer import Timeout, Transport, make_session
from sregistry.transfer.parallel import AUTO_LIMIT
from sregistry.transfer.remote_file import RemoteFile

__all__ = ["LibraryClient"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class _LibraryPull(Wanted):
    """A pull's image record, and the arch asked for."""

    ref: LibraryRef
    image: Image
    pull_arch: str


class LibraryClient(RemoteClient[_LibraryPull]):
    """A Library API server (Sylabs-compatible, Singularity Registry Server, Hinkskalle)."""

    kind: ClassVar[str] = "library"
    settings_type: ClassVar[type[LibrarySettings]] = LibrarySettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CREATE_COLLECTION, Capability.OPEN_IMAGE}
    )

    def __init__(
        self,
        *,
        uri: str | None = None,
        base: str | None = None,
        token: str | None = None,
        remote: str | None = None,
        insecure: bool = False,
        arch: str | None = None,
        connections: int | None = None,
        part_size: int | str | None = None,
        timeout: float | tuple[float, float] | None = None,
        session: requests.Session | None = None,
        env: Mapping[str, str] | None = None,
        cache: bool = True,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        super().__init__(env=env, cache=cache)
        self.arch = check_arch(arch) if arch else None
        self.connections = connections_setting(connections, env)
        self.part_size = part_size_setting(part_size, env)
        self.insecure = insecure_setting(insecure, env)
        self._timeout = _timeout(timeout, env)
        self._session = session
        self._sleep = time.sleep if sleep is None else sleep
        self._transport: Transport | None = None
        self._owns_session = False
        self._endpoint: Endpoint | None = None
        host = parse_library_ref(uri).host if uri else None
        self._base, self._token, self._discover, self.remote = self._resolve(
            base, host, token, remote, env
        )

    # -- configuration -----------------------------------------------------------------------

    def _resolve(
        self,
        base: str | None,
        host: str | None,
        token: str | None,
        remote: str | None,
        env: Mapping[str, str],
    ) -> tuple[str | None, str | None, bool, str | None]:
        if host and base:
            given = library_root(base)
            if not given.origin.named_by(host):
                raise ConfigError(
                    f"conflicting library servers: the base option {given} and the reference's "
                    f"host {host}",
                    hint="drop one of them",
                )
        chosen = base
        if chosen is None and host:
            configured = configured_library_base(remote=remote, env=env)
            chosen = f"https://{host}"
            if configured is not None and _names_host(configured, host):
                chosen = configured
        creds = resolve_library(base=chosen, remote=remote, env=env)
        resolved = None
        if creds.base is not None:
            log.debug("library URL from %s", creds.base.source)
            resolved = f"{library_root(creds.base.value)}/"
        secret = token
        if secret is None and creds.token is not None:
            log.debug("library token from %s", creds.token.source)
            secret = creds.token.value.reveal()
        return resolved, secret, creds.discover and chosen is None, creds.remote

    @property
    def location(self) -> str:
        if self._base is None:
            return "(no library configured)"
        return self._base

    def _transport_(self) -> Transport:
        if self._transport is None:
            session = self._session
            if session is None:
                size = (self.connections or AUTO_LIMIT) + 2
                session = _pooled_session(verify=not self.insecure, size=size)
            self._transport = Transport(
                session=session,
                verify=not self.insecure,
                timeout=self._timeout,
                sleep=self._sleep,
            )
            self._owns_session = self._session is None
        return self._transport

    def endpoint(self) -> Endpoint:
        """The server this client talks to (discovered on first use when needed)."""
        if self._endpoint is None:
            if self._base is None:
                raise ConfigError(
                    "no library server configured",
                    hint="give a library URL (SREGISTRY_LIBRARY_BASE or the base option), a "
                    "library://HOST/entity/collection/container reference, or a Singularity "
                    "remote (`singularity remote add`)",
                )
            base = self._base
            if self._discover:
                base = self._discover_base(base)
            self._endpoint = Endpoint(base, self._transport_(), token=self._token)
        return self._endpoint

    def _discover_base(self, remote_url: str) -> str:
        """``libraryAPI.uri`` from ``<remote>/assets/config/config.prod.json``."""
        url = f"{library_root(remote_url)}/assets/config/config.prod.json"
        response = self._transport_().request("GET", url)
        with response:
            try:
                data = interpret(response, Call("read the remote's configuration", read="json"))
            except SregistryError:
                data = None
        service = data.get("libraryAPI") if isinstance(data, dict) else None
        uri = service.get("uri") if isinstance(service, dict) else None
        if not isinstance(uri, str) or not uri:
            log.debug("no libraryAPI.uri at %s: using the remote's URL", url)
            return remote_url
        return uri

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            if self._owns_session:
                self._transport.session.close()

    # -- helpers -----------------------------------------------------------------------------

    def _ref(self, name: str, *, push: bool = False, tag: str | None = None) -> LibraryRef:
        """``name`` parsed, with ``tag`` (comma-separated) replacing its tags; a push
        reference is checked after the replacement, so ``tag`` cannot name a hash."""
        ref = parse_library_ref(name)
        if tag is not None:
            ref = ref.with_tags(*tag.split(","))
        if push:
            check_push(ref, name if tag is None else f"{name} with tag {tag}")
        if ref.host and self._base and not _names_host(self._base, ref.host):
            raise ConfigError(
                f"{name} names the library {ref.host}, but this client talks to {self.location}"
            )
        return ref

    def pull_arch(self) -> str:
        """The arch pulls ask for: the option, else this machine's."""
        return self.arch or host_arch()

    # -- Client API --------------------------------------------------------------------------

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
        """Push a SIF file to ``library://entity/collection/container[:tag,...]``.

        The Library API stores no metadata: ``metadata`` and ``inspect`` are
        not used (a warning says so when ``metadata`` is given).
        """
        ref = self._ref(name, push=True, tag=tag)
        source = Path(path)
        if not source.is_file():
            raise NotFound(f"{source} is not a file")
        arch = self.arch or image_arch(source)
        if arch is None:
            raise InvalidName(
                f"the architecture of {source} is unknown (not in its SIF header)",
                hint="give it as the arch option (e.g. amd64)",
            )
        outcome = push_image(
            self.endpoint(),
            source,
            ref,
            arch=arch,
            connections=self.connections,
            progress=progress,
        )
        warnings = list(outcome.warnings)
        if metadata is not None:
            warnings.append("the Library API stores no metadata: it was not sent")
        return PushResult(
            name=str(ref),
            size=outcome.local.size,
            sha256=outcome.local.sha256,
            version=f"sha256.{outcome.local.sha256}",
            location=self.endpoint().base,
            created_collection=outcome.created_collection,
            warnings=tuple(warnings),
            already_there=outcome.upload is None,
        )

    def _pull_filename(self, name: str) -> str:
        return self._ref(name).filename

    def _resolve_pull(self, name: str) -> _LibraryPull:
        """The image record of ``library://...[:tag|:sha256.<hex>]`` for the pull arch."""
        ref = self._ref(name)
        endpoint = self.endpoint()
        arch = self.pull_arch()
        image = get_image(endpoint, ref, arch)
        return _LibraryPull(
            name=str(ref),
            store_name=store_name(ref, image),
            host=endpoint.root.netloc,
            sha256=image.sha256,
            version=image.hash,
            arch=image.arch or arch,
            ref=ref,
            image=image,
            pull_arch=arch,
        )

    def _fetch(
        self,
        wanted: _LibraryPull,
        target: Path,
        *,
        force: bool,
        progress: ProgressCallback | None,
    ) -> Fetched:
        outcome = pull_image(
            self.endpoint(),
            wanted.ref,
            wanted.image,
            target,
            arch=wanted.pull_arch,
            force=force,
            connections=self.connections,
            part_size=self.part_size,
            threshold=2 * self.part_size,
            progress=progress,
        )
        downloaded = outcome.downloaded
        return Fetched(
            downloaded.path, downloaded.digests.sha256, downloaded.resumed_from, outcome.warnings
        )

    def image_reference(self, image: ImageInfo) -> str:
        """``library://entity/collection/container:tag`` of a listed image."""
        return f"library://{image.uri}"

    def _open(self, wanted: _LibraryPull) -> RemoteFile:
        return open_image_file(self.endpoint(), wanted.ref, wanted.pull_arch, self.remote_read_max)

    def search(self, query: str | None = None) -> list[ImageInfo]:
        """``library://entity/collection[/container[:tag]]`` lists; other text searches."""
        if not query:
            raise InvalidName(
                "listing a library needs library://entity/collection[/container] or a search term"
            )
        endpoint = self.endpoint()
        text = query.strip()
        if text.lower().startswith("library://"):
            text = text[len("library://") :]
        if "/" not in text:
            return q.search(endpoint, text, self.arch)
        ref = self._ref(query)
        if ref.entity is not None:
            return q.list_container(endpoint, ref, self.arch)
        # two parts name entity/collection when listing
        assert ref.collection is not None
        collection_ref = LibraryRef("_", ref.container, ref.collection, (), ref.host)
        return q.list_collection(endpoint, collection_ref, self.arch)

    def get(self, name: str) -> ImageInfo:
        """The image record of ``name`` for this client's pull arch."""
        ref = self._ref(name)
        arch = self.pull_arch()
        image = get_image(self.endpoint(), ref, arch)
        return q.image_info(image, ref, ref.tag, arch, self.endpoint().base)

    def display_name(self, name: str) -> str:
        """``[entity/][collection/]container:tag`` (the tag pull and delete use)."""
        ref = self._ref(name)
        return f"{ref.path}:{ref.tag}"

    def delete(self, name: str) -> None:
        """Delete one tag (or hash) of an image for this client's arch."""
        q.delete_image(self.endpoint(), self._ref(name), self.pull_arch())

    def labels(self, key: str | None = None, value: str | None = None) -> list[Label]:
        raise NotSupported("the Library API has no labels", hint="labels live on registry servers")

    def create_collection(self, name: str, *, private: bool = False) -> Collection:
        """Create ``[entity/]collection`` as the server's docs show with curl:
        ``GET /v1/entities/<user>``, then ``POST /v1/collections``.

        Without an entity, the token's own (``GET /v1/entities``) is used.
        The name is sent as given: servers may normalise it (Singularity
        Registry Server turns ``My Images`` into ``my-images``).
        """
        text = name.strip()
        if text.lower().startswith("library://"):
            text = text[len("library://") :]
        entity_name, _, collection = text.rpartition("/")
        if not collection.strip() or "/" in entity_name:
            raise InvalidName(
                f"invalid collection name {name!r}: expected [ENTITY/]NAME",
                hint="the server is the client's library URL or Singularity remote",
            )
        if entity_name:
            check_name("entity", entity_name)
        endpoint = self.endpoint()
        path = f"v1/entities/{entity_name}" if entity_name else "v1/entities"
        what = f"look up entity {entity_name or '(the token owner)'}"
        found = endpoint.lookup(path, what)
        if found is None:
            raise NotFound(
                f"the library has no entity {entity_name!r} for this token"
                if entity_name
                else "the library cannot tell which entity this token belongs to",
                hint="name it: ENTITY/COLLECTION (on Singularity Registry Server, your username)",
            )
        entity = Entity.from_json(found, what)
        return create_collection(endpoint, entity, collection, private=private)


def _timeout(value: float | tuple[float, float] | None, env: Mapping[str, str]) -> Timeout:
    """The transport's timeout, read now: the client keeps no environment (it may hold tokens)."""
    return Timeout.resolve(value, env)


def _pooled_session(*, verify: bool, size: int) -> requests.Session:
    """A transport session keeping up to ``size`` connections per host alive."""
    session = make_session(verify=verify)
    for prefix in ("http://", "https://"):
        session.mount(prefix, requests.adapters.HTTPAdapter(pool_maxsize=max(10, size)))
    return session


def _names_host(base: str, host: str) -> bool:
    """True when a reference's ``host[:port]`` names the library at ``base``."""
    try:
        return library_base(base).origin.named_by(host)
    except ConfigError:
        return False
