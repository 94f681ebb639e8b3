"""The pull pipeline of the backends that download: written once, here.

:class:`RemoteClient` owns every step of :meth:`~RemoteClient.pull` that does
not depend on the protocol: where the file goes (and refusing to replace one
without ``force``), serving the bytes from the local image store when it holds
the expected sha256, recording what was pulled there, and building the
:class:`~sregistry.results.PullResult`. A backend supplies three steps:

* :meth:`~RemoteClient._pull_filename`: the file name a reference gets in a
  folder (no I/O: the destination is checked before any request);
* :meth:`~RemoteClient._resolve_pull`: what the name stands for on the
  server (a :class:`Wanted`: digest, version, metadata, how to fetch it);
* :meth:`~RemoteClient._fetch`: the verified download of those bytes to the
  target. The transport writes them to a temporary file beside the target
  and renames it only once they match (its name binds a resumable download
  to its digest, so the transport, not this pipeline, chooses it).

A backend that can also read those bytes in place implements
:meth:`~RemoteClient._open` (a :class:`~sregistry.transfer.remote_file.RemoteFile`
on them, at most :attr:`~RemoteClient.remote_read_max` bytes) and declares
:attr:`~sregistry.main.backend.Capability.OPEN_IMAGE`; ``open_image`` and
``inspect`` then work for it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sregistry.errors import DestinationExists, NotSupported
from sregistry.main.base import Client
from sregistry.results import PathLike, ProgressCallback, PullResult, destination
from sregistry.transfer.remote_file import max_bytes_setting

if TYPE_CHECKING:
    from sregistry.store.records import StoredImage
    from sregistry.transfer.remote_file import RemoteFile

__all__ = ["Fetched", "RemoteClient", "Wanted"]


@dataclass(frozen=True, kw_only=True)
class Wanted:
    """What a name resolved to on the server, before any bytes move.

    Backends subclass it to carry what their :meth:`RemoteClient._fetch` needs.
    """

    name: str
    """The reference as the result names it."""
    store_name: str
    """The local store's ``collection/name:tag`` for it."""
    host: str
    """The server's ``host[:port]``: the store records ``<kind>://<host>`` as the source."""
    sha256: str | None
    """The lowercase hex digest the bytes must have; ``None`` when the server
    does not say (the store cannot serve them then)."""
    version: str | None = None
    """The version the server reports (``PullResult.version``)."""
    metadata: Mapping[str, Any] | None = None
    """Inspect attributes the store records with the image."""
    arch: str | None = None
    warnings: tuple[str, ...] = ()
    source: str | None = None
    """What the store records as the source; default ``<kind>://<host>``."""


@dataclass(frozen=True)
class Fetched:
    """A verified download in place at the target."""

    path: Path
    sha256: str
    """Lowercase hex of the bytes written."""
    resumed_from: int = 0
    warnings: tuple[str, ...] = ()


W = TypeVar("W", bound=Wanted)


class RemoteClient(Client, Generic[W]):
    """A client that downloads from a server, with the local store as its cache.

    ``cache`` (default on; off also with ``$SREGISTRY_DISABLE`` or
    ``$SINGULARITY_DISABLE_CACHE`` in ``env``) makes pulls use the local image
    store: bytes whose sha256 is stored are copied from there instead of
    downloaded, and every pull is recorded (see :mod:`sregistry.store.cache`).
    With ``cache`` off the store is not even imported (its SQLite and records
    cost a network command's start-up more than they do anything for it).
    """

    def __init__(self, *, env: Mapping[str, str], cache: bool = True) -> None:
        self.cache = cache
        self._cache_env: dict[str, str] = {}
        """The store settings of ``env`` (never the whole of it: it may hold tokens)."""
        if cache:
            from sregistry.store.cache import cache_settings

            self._cache_env = cache_settings(env)
        self.remote_read_max = max_bytes_setting(None, env)
        """The most bytes :meth:`open_image` files receive (``$SREGISTRY_REMOTE_READ_MAX``)."""

    @abstractmethod
    def _pull_filename(self, name: str) -> str:
        """The file name ``name`` gets inside a destination folder (no I/O)."""

    @abstractmethod
    def _resolve_pull(self, name: str) -> W:
        """What ``name`` stands for on the server; raises when it is not there."""

    @abstractmethod
    def _fetch(
        self, wanted: W, target: Path, *, force: bool, progress: ProgressCallback | None
    ) -> Fetched:
        """Download ``wanted`` to ``target``, verified, renamed into place when complete."""

    def _open(self, wanted: W) -> RemoteFile:
        """``wanted``'s bytes as a file read in ranges (with :attr:`Capability.OPEN_IMAGE`)."""
        raise NotSupported(f"the {self.kind} backend cannot read images in place")

    def open_image(self, name: str) -> RemoteFile:
        return self._open(self._resolve_pull(name))

    def pull(
        self,
        name: str,
        dest: PathLike | None = None,
        force: bool = False,
        *,
        progress: ProgressCallback | None = None,
    ) -> PullResult:
        target = destination(dest, self._pull_filename(name))
        if target.exists() and not force:
            raise DestinationExists.at(target)
        wanted = self._resolve_pull(name)
        warnings = list(wanted.warnings)
        served: Path | None = None
        stored: StoredImage | None = None
        if self.cache:
            from sregistry.store.cache import PullCache

            with PullCache(self._cache_env) as cache:
                served = cache.serve(wanted.sha256, target, force, progress=progress)
                if served is not None and wanted.sha256 is not None:
                    fetched = Fetched(served, wanted.sha256)
                else:
                    fetched = self._fetch(wanted, target, force=force, progress=progress)
                warnings.extend(fetched.warnings)
                stored = cache.record(
                    fetched.path,
                    wanted.store_name,
                    sha256=fetched.sha256,
                    source=wanted.source or f"{self.kind}://{wanted.host}",
                    metadata=wanted.metadata,
                    arch=wanted.arch,
                )
            warnings.extend(cache.warnings)
        else:
            fetched = self._fetch(wanted, target, force=force, progress=progress)
            warnings.extend(fetched.warnings)
        return PullResult(
            path=fetched.path,
            name=wanted.name,
            size=fetched.path.stat().st_size,
            sha256=fetched.sha256,
            version=wanted.version,
            from_cache=served is not None,
            resumed_from=fetched.resumed_from,
            warnings=tuple(warnings),
            stored_as=stored.uri if stored is not None else None,
        )
