"""URLs of Singularity Registry Server's registry API, built by parsing, not string surgery.

A base is ``scheme://host[:port][/prefix]`` with or without a trailing ``/api``
segment: ``https://host``, ``https://host/api`` and ``https://host/api/`` name
one registry (:func:`sregistry.credentials.registry_base` gives the root). The
API lives under ``<root>/api``, the nginx upload route at ``<root>/upload``
(the legacy client's ``str.replace("/api", "")`` broke hosts such as
``api.example.org``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from sregistry.errors import ServerError
from sregistry.names import ImageName
from sregistry.origin import Origin

__all__ = ["RegistryUrls"]

_DOWNLOAD_PATH = re.compile(r"^(?:/.*)?/containers/\d+/download/[^/]+/?$")


def _segment(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class RegistryUrls:
    """Every URL the registry backend requests, from one root."""

    root: str
    """``scheme://host[:port][/prefix]``, no trailing slash."""

    @property
    def api(self) -> str:
        return f"{self.root}/api"

    @property
    def origin(self) -> Origin:
        return Origin.of(self.root, what="the registry base URL")

    @property
    def host(self) -> str:
        """``host[:port]`` as it appears in references."""
        return self.origin.netloc

    def named_by(self, host: str) -> bool:
        """True when a reference's ``host[:port]`` names this registry."""
        return self.origin.named_by(host)

    def push_start(self) -> str:
        """Step 1 of a push (HMAC ``push``)."""
        return f"{self.api}/upload/chunked_upload"

    def upload(self) -> str:
        """Step 2 of a push: the nginx upload route, outside ``/api``."""
        return f"{self.root}/upload"

    def container(self, ref: ImageName) -> str:
        """The pull manifest and DELETE route ``/api/container/<c>/<n>:<tag>``.

        ``@version`` is not sent: the server ignores it on GET; the client
        checks the manifest's version itself.
        """
        return f"{self.api}/container/{_segment(ref.collection)}/{_segment(ref.name)}:" + (
            _segment(ref.tag)
        )

    def containers(self) -> str:
        """Every public container, LimitOffset-paginated (trailing slash required)."""
        return f"{self.api}/containers/"

    def collection(self, name: str) -> str:
        """One collection by exact name (``{}`` when unknown)."""
        return f"{self.api}/collection/{_segment(name)}"

    def search(self, *, collection: str | None, name: str, tag: str | None) -> str:
        """The container search forms: by name, or by collection and name, optionally by tag."""
        url = f"{self.api}/container/search"
        if collection is not None:
            url += f"/collection/{_segment(collection)}"
        url += f"/name/{_segment(name)}"
        if tag is not None:
            url += f"/tag/{_segment(tag)}"
        return url

    def labels(self, key: str | None = None, value: str | None = None) -> str:
        """The four label search forms."""
        url = f"{self.api}/labels/search"
        if key is not None:
            url += f"/{_segment(key)}/key"
        if value is not None:
            url += f"/{_segment(value)}/value"
        return url

    def follow(self, url: str) -> str:
        """A pagination link, moved onto this root's scheme and host.

        The server builds ``next`` links from its own idea of its address;
        behind a TLS-terminating proxy that may be ``http://`` or an internal
        host. The path and query are what matter; a link outside our API is
        refused rather than followed to an unexpected place.
        """
        theirs, ours = urlsplit(url), urlsplit(self.root)
        if not theirs.path.startswith(f"{ours.path}/api/"):
            raise ServerError(f"the registry's next page is outside its API: {url}")
        return urlunsplit((ours.scheme, ours.netloc, theirs.path, theirs.query, ""))

    def rebase_download(self, url: str) -> str:
        """A download URL (``<domain>/containers/<id>/download/<secret>``) on our scheme and host.

        The server builds it from its configured domain, which may not be how
        this client reaches it (proxy, container, plain http); other URLs are
        left alone.
        """
        theirs, ours = urlsplit(url), urlsplit(self.root)
        if not _DOWNLOAD_PATH.match(theirs.path):
            return url
        path = theirs.path if theirs.path.startswith(f"{ours.path}/") else ours.path + theirs.path
        return urlunsplit((ours.scheme, ours.netloc, path, theirs.query, ""))
