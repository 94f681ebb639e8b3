"""The contract every backend implements (its typed results are in :mod:`sregistry.results`).

A backend maps one registry protocol onto :class:`Client`. It never prints,
prompts or exits: results are dataclasses, failures are
:mod:`sregistry.errors` exceptions, progress goes to a callback.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sregistry.errors import NotSupported
from sregistry.main.backend import BackendSettings, Capability
from sregistry.results import (
    ImageInfo,
    Label,
    PathLike,
    ProgressCallback,
    PullResult,
    PushResult,
    destination,
)

if TYPE_CHECKING:
    from sregistry.main.backend import CreatedCollection
    from sregistry.metadata.result import InspectResult
    from sregistry.transfer.remote_file import RemoteFile

__all__ = [
    "Client",
    "ImageInfo",
    "Label",
    "PathLike",
    "ProgressCallback",
    "PullResult",
    "PushResult",
    "destination",
]


_C = TypeVar("_C", bound="Client")


class Client(ABC):
    """A connection to one registry of one kind.

    Constructors are keyword-only and take the options the CLI exposes (base
    URL, credentials, TLS, timeouts); missing ones come from the credentials
    chain. Clients are context managers: ``close()`` releases connections.
    """

    kind: ClassVar[str]
    """The backend name, e.g. ``registry``; also its URI scheme."""

    settings_type: ClassVar[type[BackendSettings] | None] = None
    """The constructor's options as a :class:`BackendSettings` subclass;
    ``None``: ``get_client`` checks option names against the constructor."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    """What this backend can do beyond the abstract methods."""

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        """Whether this backend has ``capability``."""
        return capability in cls.capabilities

    @classmethod
    def from_settings(cls: type[_C], settings: BackendSettings) -> _C:
        """The client for ``settings`` (built by ``settings_type.from_options``)."""
        return cls(**settings.as_options())

    insecure: bool = False
    """True when TLS certificates are not verified."""

    @property
    @abstractmethod
    def location(self) -> str:
        """One line naming what this client acts on (base URL or store path)."""

    @abstractmethod
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
        """Upload the image at ``path`` as ``name`` (``tag`` overrides the name's tag).

        ``metadata`` is sent as given; when it is ``None`` and ``inspect`` is
        true the image's own metadata is extracted (a failure only adds a
        warning to the result).
        """

    @abstractmethod
    def pull(
        self,
        name: str,
        dest: PathLike | None = None,
        force: bool = False,
        *,
        progress: ProgressCallback | None = None,
    ) -> PullResult:
        """Download ``name`` to ``dest`` (a file or a directory; default: the
        current directory), verified, renamed into place only when complete.
        An existing file is replaced only with ``force``."""

    def display_name(self, name: str) -> str:
        """``name`` as this backend reads it (defaults filled in), for prompts
        and messages. Raises :class:`~sregistry.errors.InvalidName` when it is
        no reference of this backend; the default returns ``name`` unchanged."""
        return name

    @abstractmethod
    def search(self, query: str | None = None) -> list[ImageInfo]:
        """Images matching ``query`` (every form the backend supports), all pages."""

    @abstractmethod
    def get(self, name: str) -> ImageInfo:
        """The stored description of one image, with its metadata."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Delete one tag of one image."""

    @abstractmethod
    def labels(self, key: str | None = None, value: str | None = None) -> list[Label]:
        """Labels, optionally filtered by key, value or both."""

    def create_collection(self, name: str, *, private: bool = False) -> CreatedCollection:
        """Create collection ``name`` (:attr:`Capability.CREATE_COLLECTION`)."""
        raise NotSupported(f"the {self.kind} backend cannot create collections")

    def open_image(self, name: str) -> RemoteFile:
        """Image ``name`` on the server as a seekable file read in ranges
        (:attr:`Capability.OPEN_IMAGE`); close it when done."""
        raise NotSupported(f"the {self.kind} backend cannot read images in place")

    def image_reference(self, image: ImageInfo) -> str:
        """The name :meth:`inspect` and :meth:`pull` take for a listed image."""
        return image.uri

    def inspect(self, name: str) -> InspectResult:
        """The inspect metadata of image ``name``, read from the image on the
        server without downloading it (:attr:`Capability.OPEN_IMAGE`).

        The result's ``path`` is ``name``; raises
        :class:`~sregistry.errors.MetadataError` for an unreadable image and
        :class:`~sregistry.transfer.remote_file.ReadLimitReached` when reading
        would receive more than the byte cap.
        """
        from sregistry.metadata.native import inspect_native

        with self.open_image(name) as image:
            result = inspect_native(image)
        return replace(result, path=name)

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release network connections or database handles."""

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
