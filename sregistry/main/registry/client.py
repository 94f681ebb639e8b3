"""``RegistryClient``: Singularity Registry Server's registry API (``/api``, HMAC-signed).

Settings come from the constructor, else from
:func:`sregistry.credentials.resolve_registry` (options > environment >
``~/.sregistry`` > keyring). A host in ``uri`` (``registry://host/c/n:t``)
chooses the registry.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from sregistry import names
from sregistry.errors import (
    AuthenticationError,
    InvalidName,
    NotFound,
    ServerError,
)
from sregistry.main.backend import Capability, insecure_setting
from sregistry.main.base import (
    ImageInfo,
    Label,
    PathLike,
    ProgressCallback,
    PushResult,
)
from sregistry.main.registry.api import Exchange, Op, interpret
from sregistry.main.registry.convert import (
    attributes,
    image_from_row,
    images_from_collection,
    is_placeholder,
    label_from_row,
)
from sregistry.main.registry.manifest import check_version, expected_digest, fetch_manifest
from sregistry.main.registry.queries import Query, QueryKind, parse_query
from sregistry.main.registry.settings import RegistrySettings, base_for_host, resolve_settings
from sregistry.main.registry.signing import Clock, HmacAuth, Signer
from sregistry.main.registry.urls import RegistryUrls
from sregistry.main.remote import Fetched, RemoteClient, Wanted
from sregistry.transfer import Download, Expected, Timeout, Transport, download
from sregistry.transfer.remote_file import RemoteFile

if TYPE_CHECKING:
    from sregistry.main.registry.push import PushContext

__all__ = ["RegistryClient"]

log = logging.getLogger("sregistry.registry")

PAGE_LIMIT = 100
"""Rows asked for on the first page (the server's default is 10; every page
counts toward its anonymous request throttle); each next page asks for twice
as many as the last, up to :data:`MAX_PAGE_LIMIT`."""
MAX_PAGE_LIMIT = 6400
SEARCHES_BEFORE_LISTING = 2
"""A collection with more distinct names than this is listed from the pages of
the whole container list when that takes fewer requests than a search per name."""
MAX_PAGES = 10_000
_VERSION = re.compile(r"^(sha256\.[0-9a-f]{64}|[0-9a-f]{32})$")
"""A version where a tag would be: how the server names a frozen container."""


@dataclass(frozen=True, kw_only=True)
class _RegistryPull(Wanted):
    """A pull's manifest and the digests its version promises."""

    manifest: Mapping[str, Any]
    expected: Expected


class RegistryClient(RemoteClient[_RegistryPull]):
    """A Singularity Registry Server, spoken to through its registry API.

    ``base`` is the server's address (``/api`` optional); ``username`` and
    ``token`` sign pushes, deletes and private pulls. ``insecure`` (or
    ``$SREGISTRY_HTTPS_NOVERIFY``) turns TLS verification off. ``timeout`` is
    seconds (read) or ``(connect, read)``; ``session`` a requests session to
    reuse; ``env`` replaces ``os.environ`` for settings; ``clock`` replaces
    ``time.time`` and ``sleep`` the ``time.sleep`` between retries (tests).
    ``hash_in_thread`` forces where the sha256 of a transfer is computed; by
    default a download hashes on a worker thread
    (the file write and the hash overlap) and an upload hashes inline (the
    server, slower at reading a multipart body than the client at hashing,
    leaves it the time): what measured fastest on two cores
    (``bench/transfer.py --hash-modes``).

    ``cache`` (default on; off also with ``$SREGISTRY_DISABLE`` or
    ``$SINGULARITY_DISABLE_CACHE``) makes pulls use the local image store: an
    image whose sha256 is already stored is copied from there instead of
    downloaded, and every pull is recorded as ``collection/name:tag`` with
    the registry's metadata (see :mod:`sregistry.store.cache`).
    """

    kind: ClassVar[str] = "registry"
    settings_type: ClassVar[type[RegistrySettings]] = RegistrySettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.OPEN_IMAGE})

    def __init__(
        self,
        *,
        uri: str | None = None,
        base: str | None = None,
        username: str | None = None,
        token: str | None = None,
        insecure: bool = False,
        timeout: Timeout | float | tuple[float, float] | None = None,
        session: requests.Session | None = None,
        env: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        hash_in_thread: bool | None = None,
        cache: bool = True,
    ) -> None:
        env = os.environ if env is None else env
        super().__init__(env=env, cache=cache)
        host = names.parse(uri).registry if uri else None
        if host is not None:
            base = base_for_host(host, base, env)
        settings = resolve_settings(base=base, username=username, token=token, env=env)
        self.username = settings.username
        self.sources = settings.sources
        """Where base, username and token came from (never the token itself)."""
        self._token = settings.token
        self.urls = RegistryUrls(settings.root)
        self.insecure = insecure_setting(insecure, env)
        if self.insecure:
            log.info("TLS certificate verification is off for %s", settings.root)
        self.clock: Clock = clock or time.time
        self.hash_in_thread = hash_in_thread
        self.transport = Transport(
            session=session,
            verify=not self.insecure,
            timeout=timeout,
            env=env,
            sleep=time.sleep if sleep is None else sleep,
        )

    # -- plumbing -----------------------------------------------------------
    @property
    def location(self) -> str:
        return self.urls.root

    def close(self) -> None:
        self.transport.close()

    def _signer(self) -> Signer | None:
        if self.username and self._token is not None:
            return Signer(self.username, self._token, self.clock)
        return None

    def _require_signer(self, action: str) -> Signer:
        signer = self._signer()
        if signer is None:
            missing = "username and token" if not self.username else "token"
            raise AuthenticationError(
                f"{action} needs a registry {missing}",
                hint="run `sregistry login`, or set SREGISTRY_REGISTRY_USERNAME and "
                "SREGISTRY_REGISTRY_TOKEN",
            )
        return signer

    def _reference(self, name: str, *, tag: str | None = None) -> names.ImageName:
        ref = names.parse(name, tag=tag)
        if ref.registry is not None and not self.urls.named_by(ref.registry):
            raise InvalidName(
                f"{name!r} names the registry {ref.registry}, but this client talks to "
                f"{self.urls.root}",
                hint="open a client for that registry to talk to it",
            )
        return ref

    def _push_context(self, signer: Signer) -> PushContext:
        from sregistry.main.registry.push import PushContext

        threaded = bool(self.hash_in_thread)  # uploads hash inline unless told otherwise
        return PushContext(self.transport, self.urls, signer, self.clock, threaded)

    # -- the Client API -------------------------------------------------------
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
        # imported here: a pull or a listing needs none of the push steps
        from sregistry.main.registry.push import (
            already_there,
            check_elsewhere,
            metadata_field,
            same_tag_elsewhere,
            start_push,
            upload,
            verify_push,
        )

        ref = self._reference(name, tag=tag)
        if ref.version is not None:
            raise InvalidName(
                f"cannot push to a version ({name!r}): the registry computes versions itself"
            )
        source = _readable_file(Path(path))
        signer = self._require_signer("pushing")
        warnings = list(ref.notes)
        sent_metadata = metadata_field(source, metadata, inspect=inspect, warnings=warnings)
        ctx = self._push_context(signer)
        held = already_there(ctx, ref, source)
        if held is not None:
            return PushResult(
                name=f"{ref.collection}/{ref.name}:{ref.tag}",
                size=source.stat().st_size,
                sha256=held[1],
                version=held[0],
                location=self.location,
                warnings=tuple(warnings),
                already_there=True,
            )
        elsewhere = same_tag_elsewhere(ctx, ref)
        cid = start_push(ctx, ref)
        digests = upload(ctx, ref, cid, source, sent_metadata, progress=progress, warnings=warnings)
        version = verify_push(
            ctx, ref, source, digests, warnings, metadata_sent=bool(sent_metadata)
        )
        check_elsewhere(ctx, ref, elsewhere, warnings)
        return PushResult(
            name=f"{ref.collection}/{ref.name}:{ref.tag}",
            size=source.stat().st_size,
            sha256=digests.sha256,
            version=version,
            location=self.location,
            metadata_sent=bool(sent_metadata),
            warnings=tuple(warnings),
        )

    def _pull_filename(self, name: str) -> str:
        return self._reference(name).filename

    def _resolve_pull(self, name: str) -> _RegistryPull:
        ref = self._reference(name)
        manifest = fetch_manifest(
            self.transport, self.urls, ref, signer=self._signer(), clock=self.clock
        )
        version = manifest.get("version")
        check_version(ref, version)
        subject = f"{ref.collection}/{ref.name}:{ref.tag}"
        warnings = list(ref.notes)
        expected = expected_digest(version)
        if expected.sha256 is None and expected.md5 is None:
            warnings.append(
                f"the registry reports no checksum for {subject} (version {version!r}): "
                "only the size was checked"
            )
        elif expected.sha256 is None:
            warnings.append("the registry has no sha256 for this image yet: checked its md5")
        return _RegistryPull(
            name=subject,
            store_name=subject,
            host=self.urls.host,
            sha256=expected.sha256,
            version=None if version is None else str(version),
            metadata=attributes(manifest.get("metadata")),
            arch=_arch(manifest),
            warnings=tuple(warnings),
            manifest=manifest,
            expected=expected,
        )

    def _fetch(
        self,
        wanted: _RegistryPull,
        target: Path,
        *,
        force: bool,
        progress: ProgressCallback | None,
    ) -> Fetched:
        """The verified download of the manifest's image file to ``target``."""
        subject = wanted.name
        job = Download(
            url=self._image_url(wanted.manifest, subject),
            target=target,
            expected=wanted.expected,
            overwrite=force,
            progress=progress,
            check=lambda response: interpret(response, Exchange(Op.DOWNLOAD, subject)),
            threaded_hash=self.hash_in_thread is not False,
            log_as=subject,
        )
        downloaded = download(self.transport, job)
        warnings: tuple[str, ...] = ()
        if downloaded.restarts:
            warnings = (
                "the registry cannot resume downloads: the transfer started again "
                f"from the beginning {downloaded.restarts} time(s)",
            )
        return Fetched(
            downloaded.path, downloaded.digests.sha256, downloaded.resumed_from, warnings
        )

    def _open(self, wanted: _RegistryPull) -> RemoteFile:
        """The manifest's image file, read in ranges (the real server ignores
        Range: its answer is then read from the start, up to the byte cap)."""
        subject = wanted.name
        return RemoteFile(
            self.transport,
            self._image_url(wanted.manifest, subject),
            check=lambda response: interpret(response, Exchange(Op.DOWNLOAD, subject)),
            name=subject,
            max_bytes=self.remote_read_max,
        )

    def _image_url(self, manifest: Mapping[str, Any], subject: str) -> str:
        """The manifest's download URL, on our own scheme and host.

        The server builds it from its configured domain, which behind a proxy
        may be an internal or plain-http address; the path is what matters.
        """
        url = manifest.get("image")
        if not isinstance(url, str) or urlsplit(url).scheme not in {"http", "https"}:
            raise ServerError(f"the registry gives no download URL for {subject}")
        return self.urls.rebase_download(str(url))

    def search(self, query: str | None = None) -> list[ImageInfo]:
        parsed = parse_query(query)
        if parsed.registry is not None and not self.urls.named_by(parsed.registry):
            raise InvalidName(f"{query!r} names another registry than {self.urls.root}")
        if parsed.kind is QueryKind.ALL:
            rows = list(self._pages(self.urls.containers(), f"'{parsed}'"))
        elif parsed.kind is QueryKind.COLLECTION:
            assert parsed.collection is not None
            return self._collection_images(parsed.collection)
        else:
            rows = self._search_rows(parsed)
        return [
            image_from_row(row, location=self.location)
            for row in rows
            if isinstance(row, Mapping) and not is_placeholder(row)
        ]

    def _collection_images(self, collection: str) -> list[ImageInfo]:
        """A collection's containers with their versions, dates and metadata.

        The collection view names its containers only; the details come from
        whichever takes fewer requests: the container search of each distinct
        name (one request per name), or the pages of the whole container list
        filtered to this collection. Neither counts toward the registry's
        weekly pull limit, as the pull manifest would. A stored name that
        cannot be looked up (``..``) is listed as stored, without details.
        """
        data = self._get_json(self.urls.collection(collection), Op.SEARCH, collection)
        listed = images_from_collection(data, location=self.location)
        if not listed:
            return []
        owner = listed[0].collection
        wanted = {(image.name, image.tag) for image in listed}
        detailed: dict[tuple[str, str], ImageInfo] = {}
        for row in self._collection_rows(owner, list(dict.fromkeys(i.name for i in listed))):
            if isinstance(row, Mapping) and not is_placeholder(row):
                image = image_from_row(row, location=self.location)
                if image.collection.lower() == owner.lower() and (image.name, image.tag) in wanted:
                    detailed[image.name, image.tag] = image
        return [detailed.get((image.name, image.tag), image) for image in listed]

    def _collection_rows(self, collection: str, names: list[str]) -> Iterator[Any]:
        """Container rows covering ``names`` of ``collection`` (rows of others may be mixed in)."""
        if len(names) > SEARCHES_BEFORE_LISTING:
            pages = self._page_results(self.urls.containers(), f"'{collection}'")
            count, first = next(pages)
            if count is None or pages_left(count, len(first)) < len(names):
                yield from first
                for _, rows in pages:
                    yield from rows
                return
            pages.close()
        for name in names:
            if not _usable_name(collection, name):
                log.debug("%s/%s: a stored name that cannot be looked up", collection, name)
                continue
            try:
                yield from self._search_rows(
                    Query(QueryKind.CONTAINER, collection=collection, name=name)
                )
            except NotFound:
                continue

    def _search_rows(self, parsed: Query) -> list[Any]:
        assert parsed.name is not None
        url = self.urls.search(collection=parsed.collection, name=parsed.name, tag=parsed.tag)
        data = self._get_json(url, Op.SEARCH, f"'{parsed}'")
        if data is None:
            return []
        if not isinstance(data, list):
            raise ServerError(f"the registry's search for '{parsed}' did not answer a list")
        return data

    def _get_json(self, url: str, op: Op, subject: str, **params: str) -> Any:
        response = self.transport.request("GET", url, params=params or None)
        return interpret(response, Exchange(op, subject))

    def _pages(self, url: str, subject: str) -> Iterator[Any]:
        """Rows of a LimitOffset-paginated list, following ``next`` to the end."""
        for _, rows in self._page_results(url, subject):
            yield from rows

    def _page_results(
        self, url: str, subject: str
    ) -> Generator[tuple[int | None, list[Any]], None, None]:
        """``(count, rows)`` of each page, following ``next`` to the end.

        The first page asks for :data:`PAGE_LIMIT` rows and each next one for
        twice as many as the last (up to :data:`MAX_PAGE_LIMIT`): a long list
        takes a few requests, and the server, which counts the rows and skips
        ``offset`` of them for every page, does work linear in the list rather
        than quadratic. ``count`` is ``None`` when the server does not paginate.
        """
        seen: set[str] = set()  # the pages as the server named them
        given: str | None = url
        next_url = url
        limit = PAGE_LIMIT
        params: dict[str, str] = {"limit": str(limit)}
        while given is not None:
            if given in seen or len(seen) >= MAX_PAGES:
                raise ServerError(
                    f"the registry's pages of {subject} do not end (page {given} again)"
                )
            seen.add(given)
            data = self._get_json(next_url, Op.SEARCH, subject, **params)
            params = {}
            if isinstance(data, list):  # pagination switched off on the server
                yield None, data
                return
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise ServerError(f"the registry's list of {subject} is not a page of results")
            count = data.get("count")
            yield count if isinstance(count, int) else None, data["results"]
            following = data.get("next")
            given = self.urls.follow(following) if isinstance(following, str) else None
            if given is not None:
                limit = min(limit * 2, MAX_PAGE_LIMIT)
                next_url = _with_limit(given, limit)

    def display_name(self, name: str) -> str:
        ref = self._reference(name)
        return f"{ref.collection}/{ref.name}:{ref.tag}"

    def get(self, name: str) -> ImageInfo:
        ref = self._reference(name)
        manifest = fetch_manifest(
            self.transport, self.urls, ref, signer=self._signer(), clock=self.clock
        )
        check_version(ref, manifest.get("version"))
        return image_from_row(manifest, location=self.location, collection=ref.collection)

    def delete(self, name: str) -> None:
        ref = self._reference(name)
        signer = self._require_signer("deleting")
        auth = HmacAuth(signer, "delete", ref.collection, ref.name, ref.tag)
        response = self.transport.request("DELETE", self.urls.container(ref), auth=auth)
        interpret(
            response,
            Exchange(
                Op.DELETE,
                f"{ref.collection}/{ref.name}:{ref.tag}",
                user=signer.username,
                signed_at=auth.signed_at,
                now=self.clock(),
            ),
        )

    def labels(self, key: str | None = None, value: str | None = None) -> list[Label]:
        subject = "labels" + "".join(
            f" {part}={item!r}" for part, item in (("key", key), ("value", value)) if item
        )
        data = self._get_json(self.urls.labels(key or None, value or None), Op.LABELS, subject)
        if data is None:
            return []
        if not isinstance(data, list):
            raise ServerError("the registry's label search did not answer a list")
        return self._frozen_by_tag([label_from_row(row) for row in data])

    def _frozen_by_tag(self, labels: list[Label]) -> list[Label]:
        """Name frozen containers by their tags, as :meth:`search` does.

        The label search names a frozen container ``collection/name:<version>``
        (the server's storage name); the container search of that name (one
        request per such name) says which tags are frozen at that version.
        A name it cannot resolve is kept as the server wrote it.
        """
        frozen: dict[tuple[str, str], dict[str, list[str]]] = {}

        def tags_of(collection: str, name: str) -> dict[str, list[str]]:
            if (collection, name) not in frozen:
                query = Query(QueryKind.CONTAINER, collection=collection, name=name)
                found: dict[str, list[str]] = {}
                for row in self._search_rows(query):
                    if isinstance(row, Mapping) and not is_placeholder(row):
                        image = image_from_row(row, location=self.location)
                        if image.frozen and image.version:
                            found.setdefault(image.version, []).append(image.uri)
                frozen[collection, name] = found
            return frozen[collection, name]

        def by_tag(uri: str) -> list[str]:
            path, _, tail = uri.rpartition(":")
            collection, _, name = path.rpartition("/")
            if not (collection and name and _VERSION.match(tail)):
                return [uri]
            return tags_of(collection, name).get(tail) or [uri]

        return [
            replace(
                label,
                containers=tuple(dict.fromkeys(u for uri in label.containers for u in by_tag(uri))),
            )
            for label in labels
        ]


def pages_left(count: int, received: int) -> int:
    """Requests :meth:`RegistryClient._page_results` still makes for ``count`` rows
    after a first page of ``received``."""
    left, limit, pages = count - received, PAGE_LIMIT, 0
    while left > 0:
        limit = min(limit * 2, MAX_PAGE_LIMIT)
        left -= limit
        pages += 1
    return pages


def _with_limit(url: str, limit: int) -> str:
    """``url`` asking for ``limit`` rows (its other query parameters kept)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "limit"]
    return urlunsplit(parts._replace(query=urlencode([("limit", str(limit)), *query])))


def _arch(manifest: Mapping[str, Any]) -> str | None:
    """The architecture a push put in the manifest's metadata, if any."""
    metadata = manifest.get("metadata")
    arch = metadata.get("arch") if isinstance(metadata, Mapping) else None
    return arch if isinstance(arch, str) and arch else None


def _readable_file(path: Path) -> Path:
    if not path.exists():
        raise NotFound(f"{path} does not exist")
    if not path.is_file():
        raise InvalidName(f"{path} is not a file")
    if not os.access(path, os.R_OK):
        raise NotFound(f"{path} is not readable")
    return path


def _usable_name(collection: str, name: str) -> bool:
    """Whether ``collection/name`` is a name this client can ask for (a server may have
    stored ``..`` or ``a\\b``; such a row is listed as stored, without details)."""
    try:
        names.parse(f"{collection}/{name}")
    except InvalidName:
        return False
    return True
